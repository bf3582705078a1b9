// SPDX-License-Identifier: MIT
/**
 * Finds and opens OpenBLAS (`libopenblas.so.0`, Debian package `libopenblas0`) with Deno FFI.
 *
 * Search order: the `QUANTLAB_OPENBLAS` environment variable (a path; when set, nothing
 * else is tried), the usual Debian/Ubuntu paths (the alternatives link, then the
 * `openblas-pthread/` and `openblas-openmp/` variants), the `ldconfig -p` cache, and finally
 * the bare soname through the dynamic loader's own search. Needs `--allow-ffi` (plus read,
 * env and run permissions for the search; missing ones just skip that step).
 *
 * The library exports CBLAS (row-major aware) and LAPACK with the Fortran ABI: every
 * argument by pointer, matrices column-major, and a hidden length argument after the
 * others for each character argument (passed as 1; harmless for routines that ignore it).
 *
 * @module
 */

/** Default library locations, tried in order when `QUANTLAB_OPENBLAS` is unset. */
export const OPENBLAS_PATHS: readonly string[] = [
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-openmp/libopenblas.so.0",
  "/usr/lib64/libopenblas.so.0",
  "/usr/local/lib/libopenblas.so.0",
];

/** Environment variable naming the OpenBLAS shared library to use. */
export const OPENBLAS_ENV = "QUANTLAB_OPENBLAS";

/** FFI signatures of the routines the blas backend uses. */
export const BLAS_SYMBOLS = {
  // void cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  // void cblas_dsyrk(order, uplo, trans, N, K, alpha, A, lda, beta, C, ldc)
  cblas_dsyrk: {
    parameters: ["i32", "i32", "i32", "i32", "i32", "f64", "buffer", "i32", "f64", "buffer", "i32"],
    result: "void",
  },
  // void cblas_ssyrk(order, uplo, trans, N, K, alpha, A, lda, beta, C, ldc)
  cblas_ssyrk: {
    parameters: ["i32", "i32", "i32", "i32", "i32", "f32", "buffer", "i32", "f32", "buffer", "i32"],
    result: "void",
  },
  // dpotrf_(uplo, n, a, lda, info, len(uplo))
  dpotrf_: { parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "usize"], result: "void" },
  // dpotri_(uplo, n, a, lda, info, len(uplo))
  dpotri_: { parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "usize"], result: "void", optional: true },
  // dtrtri_(uplo, diag, n, a, lda, info, len(uplo), len(diag))
  dtrtri_: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "usize", "usize"],
    result: "void",
  },
  // dtrsm_(side, uplo, transa, diag, m, n, alpha, a, lda, b, ldb, 4 × len)
  dtrsm_: {
    parameters: [
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "usize",
      "usize",
      "usize",
      "usize",
    ],
    result: "void",
  },
  // dsyevd_(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info, len, len)
  dsyevd_: {
    parameters: [
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "usize",
      "usize",
    ],
    result: "void",
    optional: true,
  },
  // dgesdd_(jobz, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, iwork, info, len)
  dgesdd_: {
    parameters: [
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "usize",
    ],
    result: "void",
    optional: true,
  },
  // dgeqrf_(m, n, a, lda, tau, work, lwork, info)
  dgeqrf_: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "void",
    optional: true,
  },
  // dorgqr_(m, n, k, a, lda, tau, work, lwork, info)
  dorgqr_: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "void",
    optional: true,
  },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  // void openblas_set_num_threads(n): the bench runs threads = 1 and 2 in one process
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
} as const;

/** The opened library: FFI symbols plus where it came from. */
export interface BlasLibrary {
  /** Path (or soname) that was opened. */
  readonly path: string;
  /** `openblas_get_config()` output, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH … Haswell". */
  readonly config: string;
  /** Number of threads OpenBLAS uses (0 if unknown). */
  readonly threads: number;
  /** The FFI symbols. */
  readonly symbols: Deno.DynamicLibrary<typeof BLAS_SYMBOLS>["symbols"];
}

/** Thrown when OpenBLAS cannot be found or opened; `attempts` lists every path tried and why it failed. */
export class BlasUnavailableError extends Error {
  /** `path: reason` for every candidate tried. */
  readonly attempts: readonly string[];

  /**
   * Builds the error; the message names the package `libopenblas0`.
   *
   * @param attempts `path: reason` lines
   * @param options `cause`
   */
  constructor(attempts: readonly string[], options?: ErrorOptions) {
    super(
      `blas: Cannot load OpenBLAS (libopenblas.so.0): ${
        attempts.length === 0 ? "no candidate found" : `tried ${attempts.join("; ")}`
      }; install the Debian package libopenblas0 (apt-get install -y libopenblas0), or set ${OPENBLAS_ENV} to the library path`,
      options,
    );
    this.name = "BlasUnavailableError";
    this.attempts = attempts;
  }
}

let cached: BlasLibrary | BlasUnavailableError | undefined;

/**
 * Opens OpenBLAS once per process (later calls return the same handle or rethrow the same
 * error).
 *
 * @returns the opened library
 * @throws {BlasUnavailableError} listing the paths tried, naming the package `libopenblas0`
 */
export function openBlas(): BlasLibrary {
  if (cached === undefined) cached = tryOpen();
  if (cached instanceof BlasUnavailableError) throw cached;
  return cached;
}

function tryOpen(): BlasLibrary | BlasUnavailableError {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined || typeof deno.dlopen !== "function") {
    return new BlasUnavailableError(["(no Deno.dlopen: not running in Deno)"]);
  }
  const attempts: string[] = [];
  for (const path of candidates(attempts)) {
    try {
      const lib = Deno.dlopen(path, BLAS_SYMBOLS);
      return describe(path, lib);
    } catch (e) {
      attempts.push(`${path}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    }
  }
  return new BlasUnavailableError(attempts);
}

function describe(path: string, lib: Deno.DynamicLibrary<typeof BLAS_SYMBOLS>): BlasLibrary {
  const s = lib.symbols;
  let config = "OpenBLAS";
  if (s.openblas_get_config) {
    const p = s.openblas_get_config();
    if (p !== null) config = new Deno.UnsafePointerView(p).getCString();
  }
  const threads = s.openblas_get_num_threads ? s.openblas_get_num_threads() : 0;
  return { path, config, threads, symbols: s };
}

/** Candidate paths in search order; records why skipped ones were skipped. */
function candidates(attempts: string[]): string[] {
  let override: string | undefined;
  try {
    override = Deno.env.get(OPENBLAS_ENV);
  } catch {
    attempts.push(`${OPENBLAS_ENV}: not readable (no --allow-env)`);
  }
  if (override) return [override];
  const found: string[] = [];
  for (const path of OPENBLAS_PATHS) {
    try {
      if (Deno.statSync(path).isFile) found.push(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) found.push(path); // unreadable: let dlopen decide
    }
  }
  for (const path of ldconfigPaths(attempts)) if (!found.includes(path)) found.push(path);
  found.push("libopenblas.so.0"); // the dynamic loader's own search (LD_LIBRARY_PATH, cache)
  return found;
}

/** Paths of `libopenblas.so*` listed by `ldconfig -p` (empty when ldconfig is unavailable). */
function ldconfigPaths(attempts: string[]): string[] {
  for (const cmd of ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"]) {
    try {
      const out = new Deno.Command(cmd, { args: ["-p"], stdout: "piped", stderr: "null" }).outputSync();
      if (!out.success) continue;
      const text = new TextDecoder().decode(out.stdout);
      const paths: string[] = [];
      for (const line of text.split("\n")) {
        const m = /^\s*libopenblas\S*\.so\.0\b.*=>\s*(\S+)\s*$/.exec(line);
        if (m && m[1]) paths.push(m[1]);
      }
      return paths;
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
        attempts.push("ldconfig -p: not allowed (no --allow-run)");
        return [];
      }
    }
  }
  return [];
}
