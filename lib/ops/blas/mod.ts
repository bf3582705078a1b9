// SPDX-License-Identifier: MIT
/**
 * The `blas` backend: the {@link Ops} interface on OpenBLAS/LAPACK through Deno FFI, like
 * numpy on BLAS. `matmul` and `gemm` (sgemm, into `out`/strided windows without copies),
 * `accumulateHessian` (dsyrk in f64, or ssyrk on X in place with precision "f32"), `cholesky` (dpotrf),
 * `triangularInverse` (dtrtri) and `triangularSolve` (dtrsm) run natively; the element-wise
 * and bit-level ops (quantization, packing, FWHT, the GPTQ block sweep, reductions) have no
 * BLAS counterpart and use the ts backend's code, so they are identical by construction.
 * Extra LAPACK routines beyond `Ops`: `choleskyInverse` (dpotri), `eigh` (dsyevd), `svd`
 * (dgesdd), `qr` (dgeqrf + dorgqr).
 *
 * Requires `--allow-ffi`. {@link loadBlasOps} returns null when the library is missing;
 * {@link requireBlasOps} throws a {@link BlasUnavailableError} that names the Debian package.
 *
 * @example Use OpenBLAS when present
 * ```ts ignore
 * import { loadBlasOps } from "./mod.ts";
 * const ops = loadBlasOps();
 * if (ops) console.log(ops.info); // "OpenBLAS 0.3.21 … (/usr/lib/x86_64-linux-gnu/libopenblas.so.0)"
 * ```
 *
 * @module
 */
import type { EighResult } from "../../linalg/eigh.ts";
import type { QrResult } from "../../linalg/qr.ts";
import type { SvdOptions, SvdResult } from "../../linalg/svd.ts";
import type { Tensor } from "../../tensor/tensor.ts";
import type { GemmOptions, HessianOptions, MatrixView, Ops } from "../ops.ts";
import { lift, tsOps } from "../ts/mod.ts";
import { blasAccumulateHessian } from "./hessian.ts";
import {
  blasCholesky,
  blasCholeskyInverse,
  blasEigh,
  blasQr,
  blasSvd,
  blasTriangularInverse,
  blasTriangularSolve,
} from "./linalg.ts";
import { type BlasLibrary, BlasUnavailableError, openBlas } from "./loader.ts";
import { blasGemm, blasMatmul } from "./matmul.ts";

export {
  BLAS_SYMBOLS,
  type BlasLibrary,
  BlasUnavailableError,
  openBlas,
  OPENBLAS_ENV,
  OPENBLAS_PATHS,
} from "./loader.ts";
export {
  blasCholesky,
  blasCholeskyInverse,
  blasEigh,
  blasQr,
  blasSvd,
  blasTriangularInverse,
  blasTriangularSolve,
} from "./linalg.ts";
export { blasGemm, blasMatmul } from "./matmul.ts";
export { blasAccumulateHessian } from "./hessian.ts";

/** The blas {@link Ops} plus the library it runs on and a few extra LAPACK routines. */
export interface BlasOps extends Ops {
  /** Always "blas". */
  readonly name: "blas";
  /** The opened library (path, `openblas_get_config()`, thread count). */
  readonly library: BlasLibrary;
  /** A⁻¹ = L⁻ᵀ·L⁻¹ from the lower Cholesky factor L f64 `[n, n]` (dpotri). */
  choleskyInverse(L: Tensor<"f64">): Promise<Tensor<"f64">>;
  /** Symmetric eigendecomposition of f64 `[n, n]`, values ascending, vectors by column (dsyevd). */
  eigh(A: Tensor<"f64">): Promise<EighResult>;
  /** Thin SVD of f64 `[m, n]`, optionally truncated to `rank` (dgesdd). */
  svd(A: Tensor<"f64">, options?: SvdOptions): Promise<SvdResult>;
  /** Reduced Householder QR of f64 `[m, n]` (dgeqrf + dorgqr). */
  qr(A: Tensor<"f64">): Promise<QrResult>;
}

/** Builds the blas {@link Ops} over an opened library. */
export function createBlasOps(lib: BlasLibrary): BlasOps {
  return Object.freeze(
    {
      ...tsOps,
      name: "blas" as const,
      info: `${lib.config} (${lib.path}, ${lib.threads} threads)`,
      library: lib,
      matmul: lift((A: Tensor<"f32">, B: Tensor<"f32">, o?: Parameters<Ops["matmul"]>[2]) => blasMatmul(lib, A, B, o)),
      gemm: lift((C: MatrixView, A: MatrixView, B: MatrixView, o?: GemmOptions) => blasGemm(lib, C, A, B, o)),
      accumulateHessian: lift((H: Tensor<"f64">, X: Tensor<"f32">, alpha?: number, o?: HessianOptions) =>
        blasAccumulateHessian(lib, H, X, alpha, o)
      ),
      cholesky: lift((A: Tensor<"f64">, o?: { overwrite?: boolean }) => blasCholesky(lib, A, o)),
      triangularInverse: lift((T: Tensor<"f64">, o: { lower: boolean; overwrite?: boolean }) =>
        blasTriangularInverse(lib, T, o)
      ),
      triangularSolve: lift((T: Tensor<"f64">, B: Tensor<"f64">, o: { lower: boolean; transpose?: boolean }) =>
        blasTriangularSolve(lib, T, B, o)
      ),
      choleskyInverse: lift((L: Tensor<"f64">) => blasCholeskyInverse(lib, L)),
      eigh: lift((A: Tensor<"f64">) => blasEigh(lib, A)),
      svd: lift((A: Tensor<"f64">, o?: SvdOptions) => blasSvd(lib, A, o)),
      qr: lift((A: Tensor<"f64">) => blasQr(lib, A)),
    } satisfies BlasOps,
  );
}

let cachedOps: BlasOps | null | undefined;

/**
 * The blas backend, or null when OpenBLAS cannot be loaded (no library, no `--allow-ffi`,
 * not Deno). Loads once per process.
 *
 * @returns BlasOps or null
 */
export function loadBlasOps(): BlasOps | null {
  if (cachedOps === undefined) {
    try {
      cachedOps = createBlasOps(openBlas());
    } catch (e) {
      if (!(e instanceof BlasUnavailableError)) throw e;
      cachedOps = null;
    }
  }
  return cachedOps;
}

/**
 * The blas backend, or a thrown {@link BlasUnavailableError} listing the paths tried and
 * naming the Debian package `libopenblas0`.
 *
 * @returns BlasOps
 */
export function requireBlasOps(): BlasOps {
  const ops = loadBlasOps();
  if (ops === null) openBlas(); // rethrows the cached BlasUnavailableError
  return ops as BlasOps;
}
