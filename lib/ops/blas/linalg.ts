// SPDX-License-Identifier: MIT
/**
 * Dense linear algebra through LAPACK (Fortran ABI, column-major). A row-major matrix is the
 * column-major storage of its transpose, so a row-major lower-triangular L is handed to
 * LAPACK as an upper-triangular matrix and no copy-transpose is needed for the triangular
 * routines. Validation and errors match lib/linalg exactly.
 *
 * @module
 */
import type { EighResult } from "../../linalg/eigh.ts";
import { DEFAULT_NOT_PD_HINT, NotPositiveDefiniteError, SingularMatrixError } from "../../linalg/errors.ts";
import type { QrResult } from "../../linalg/qr.ts";
import type { SvdOptions, SvdResult } from "../../linalg/svd.ts";
import { formatShape, Tensor } from "../../tensor/tensor.ts";
import { checkFinite, matrix } from "../ts/_check.ts";
import { ch, CHAR_LEN, f64, int, transposeF64 } from "./_fortran.ts";
import type { BlasLibrary } from "./loader.ts";

/** Validates a square finite f64 matrix, with lib/linalg's messages; returns n. */
function square(fn: string, arg: string, t: Tensor): number {
  const [rows, cols] = matrix(fn, arg, t, "f64");
  if (rows !== cols) {
    throw new TypeError(`${fn}: Cannot use '${arg}' of shape ${formatShape(t.shape)}: expected a square matrix`);
  }
  checkFinite(fn, arg, t);
  return rows;
}

/** Throws unless a LAPACK `info` is 0 (negative: an argument error, a bug here). */
function checkInfo(fn: string, routine: string, info: Int32Array): void {
  if ((info[0] as number) < 0) {
    throw new Error(`${fn}: ${routine} rejected argument ${-(info[0] as number)} (internal error)`);
  }
}

/** Lower Cholesky factor with `dpotrf`; same contract and errors as lib/linalg `cholesky`. */
export function blasCholesky(
  lib: BlasLibrary,
  A: Tensor<"f64">,
  options: { hint?: string; overwrite?: boolean } = {},
): Tensor<"f64"> {
  const fn = "cholesky";
  const n = square(fn, "A", A);
  // row-major lower = column-major upper; with overwrite, in A's memory (no n² copy)
  const a = options.overwrite ? A.data : Float64Array.from(A.data);
  const info = int(0);
  if (n > 0) lib.symbols.dpotrf_(ch("U"), int(n), a, int(n), info, CHAR_LEN);
  checkInfo(fn, "dpotrf", info);
  const failed = info[0] as number;
  if (failed > 0) {
    const pivot = failed - 1;
    // OpenBLAS's unblocked kernel leaves the failing diagonal value in place.
    throw new NotPositiveDefiniteError(
      fn,
      n,
      pivot,
      a[pivot * n + pivot] as number,
      options.hint ?? DEFAULT_NOT_PD_HINT,
    );
  }
  zeroTriangle(a, n, "upper");
  return options.overwrite ? A : new Tensor("f64", [n, n], a);
}

/** Inverse of a triangular matrix with `dtrtri`; same contract as lib/linalg `triangularInverse`. */
export function blasTriangularInverse(
  lib: BlasLibrary,
  T: Tensor<"f64">,
  options: { lower: boolean; overwrite?: boolean },
): Tensor<"f64"> {
  const fn = "triangularInverse";
  const n = square(fn, "T", T);
  checkDiagonal(fn, T.data, n);
  const a = options.overwrite ? T.data : Float64Array.from(T.data);
  zeroTriangle(a, n, options.lower ? "upper" : "lower"); // the ignored triangle reads as zero
  const info = int(0);
  if (n > 0) lib.symbols.dtrtri_(ch(options.lower ? "U" : "L"), ch("N"), int(n), a, int(n), info, CHAR_LEN, CHAR_LEN);
  checkInfo(fn, "dtrtri", info);
  if ((info[0] as number) > 0) throw new SingularMatrixError(fn, n, (info[0] as number) - 1);
  return options.overwrite ? T : new Tensor("f64", [n, n], a);
}

/**
 * Solves op(T)·X = B with `dtrsm`. Row-major B `[n, m]` is column-major Bᵀ, so the equation
 * is solved in its transposed form `Xᵀ·op(T)ᵀ = Bᵀ` (side = right).
 */
export function blasTriangularSolve(
  lib: BlasLibrary,
  T: Tensor<"f64">,
  B: Tensor<"f64">,
  options: { lower: boolean; transpose?: boolean },
): Tensor<"f64"> {
  const fn = "triangularSolve";
  const n = square(fn, "T", T);
  const [bRows, m] = matrix(fn, "B", B, "f64");
  if (bRows !== n) {
    throw new TypeError(
      `${fn}: Cannot solve with T of shape ${formatShape(T.shape)} and B of shape ${
        formatShape(B.shape)
      }: B must have ${n} rows`,
    );
  }
  checkFinite(fn, "B", B);
  checkDiagonal(fn, T.data, n);
  const X = Float64Array.from(B.data); // [n, m]
  if (n > 0 && m > 0) {
    // Column-major T' = Tᵀ; op(T)ᵀ = T'ᵀ when transposing, T' otherwise.
    lib.symbols.dtrsm_(
      ch("R"),
      ch(options.lower ? "U" : "L"),
      ch(options.transpose ? "T" : "N"),
      ch("N"),
      int(m),
      int(n),
      f64(1),
      T.data,
      int(n),
      X,
      int(m),
      CHAR_LEN,
      CHAR_LEN,
      CHAR_LEN,
      CHAR_LEN,
    );
  }
  return new Tensor("f64", [n, m], X);
}

/** A⁻¹ from the lower Cholesky factor with `dpotri`; same contract as lib/linalg `choleskyInverse`. */
export function blasCholeskyInverse(lib: BlasLibrary, L: Tensor<"f64">): Tensor<"f64"> {
  const fn = "choleskyInverse";
  const n = square(fn, "L", L);
  const dpotri = need(lib, fn, "dpotri_");
  checkDiagonal(fn, L.data, n);
  const a = Float64Array.from(L.data); // row-major lower L = column-major U with A = UᵀU
  const info = int(0);
  if (n > 0) dpotri(ch("U"), int(n), a, int(n), info, CHAR_LEN);
  checkInfo(fn, "dpotri", info);
  if ((info[0] as number) > 0) throw new SingularMatrixError(fn, n, (info[0] as number) - 1);
  // dpotri fills the row-major lower triangle; mirror it.
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) a[i * n + j] = a[j * n + i] as number;
  return new Tensor("f64", [n, n], a);
}

/** Symmetric eigendecomposition with `dsyevd`; same contract as lib/linalg `eigh`. */
export function blasEigh(lib: BlasLibrary, A: Tensor<"f64">): EighResult {
  const fn = "eigh";
  const n = square(fn, "A", A);
  const dsyevd = need(lib, fn, "dsyevd_");
  const a = Float64Array.from(A.data); // symmetric: row-major = column-major
  const w = new Float64Array(n);
  if (n > 0) {
    const info = int(0);
    const query = new Float64Array(1);
    const iquery = int(0);
    dsyevd(ch("V"), ch("L"), int(n), a, int(n), w, query, int(-1), iquery, int(-1), info, CHAR_LEN, CHAR_LEN);
    checkInfo(fn, "dsyevd", info);
    const lwork = Math.ceil(query[0] as number);
    const liwork = iquery[0] as number;
    dsyevd(
      ch("V"),
      ch("L"),
      int(n),
      a,
      int(n),
      w,
      new Float64Array(lwork),
      int(lwork),
      new Int32Array(liwork),
      int(liwork),
      info,
      CHAR_LEN,
      CHAR_LEN,
    );
    checkInfo(fn, "dsyevd", info);
    if ((info[0] as number) > 0) throw new RangeError(`${fn}: dsyevd did not converge for A of shape [${n}, ${n}]`);
  }
  // Column-major eigenvector j is row j of `a`; the result wants it as column j.
  return { values: w, vectors: new Tensor("f64", [n, n], transposeF64(a, n, n)) };
}

/**
 * Thin SVD with `dgesdd`; same contract as lib/linalg `svd` (the `maxSweeps` option is
 * ignored). Row-major A is column-major Aᵀ = U'·S·V'ᵀ, so U = V' and V = U'.
 */
export function blasSvd(lib: BlasLibrary, A: Tensor<"f64">, options: SvdOptions = {}): SvdResult {
  const fn = "svd";
  const [m, n] = matrix(fn, "A", A, "f64");
  checkFinite(fn, "A", A);
  const dgesdd = need(lib, fn, "dgesdd_");
  const k = Math.min(m, n);
  const rank = options.rank ?? k;
  if (!Number.isInteger(rank) || rank < 0 || rank > k) {
    throw new RangeError(`${fn}: Cannot keep rank ${rank} of A of shape [${m}, ${n}]: rank must be in 0..${k}`);
  }
  const s = new Float64Array(k);
  const u = new Float64Array(n * k); // column-major [n, k]: U' of Aᵀ
  const vt = new Float64Array(k * m); // column-major [k, m] = row-major [m, k]: V' = U of A
  if (k > 0) {
    const a = Float64Array.from(A.data);
    const info = int(0);
    const iwork = new Int32Array(8 * k);
    const query = new Float64Array(1);
    const args = (work: Float64Array, lwork: number) =>
      dgesdd(
        ch("S"),
        int(n),
        int(m),
        a,
        int(n),
        s,
        u,
        int(n),
        vt,
        int(k),
        work,
        int(lwork),
        iwork,
        info,
        CHAR_LEN,
      );
    args(query, -1);
    checkInfo(fn, "dgesdd", info);
    const lwork = Math.ceil(query[0] as number);
    args(new Float64Array(lwork), lwork);
    checkInfo(fn, "dgesdd", info);
    if ((info[0] as number) > 0) throw new RangeError(`${fn}: dgesdd did not converge for A of shape [${m}, ${n}]`);
  }
  const U = new Float64Array(m * rank); // [m, rank]
  for (let i = 0; i < m; i++) for (let r = 0; r < rank; r++) U[i * rank + r] = vt[i * k + r] as number;
  const V = new Float64Array(n * rank); // [n, rank]; u column-major: element (i, r) at i + r·n
  for (let i = 0; i < n; i++) for (let r = 0; r < rank; r++) V[i * rank + r] = u[i + r * n] as number;
  return { U: new Tensor("f64", [m, rank], U), S: s.slice(0, rank), V: new Tensor("f64", [n, rank], V) };
}

/** Reduced QR with `dgeqrf` + `dorgqr`; same contract and sign convention as lib/linalg `qr`. */
export function blasQr(lib: BlasLibrary, A: Tensor<"f64">): QrResult {
  const fn = "qr";
  const [m, n] = matrix(fn, "A", A, "f64");
  checkFinite(fn, "A", A);
  const dgeqrf = need(lib, fn, "dgeqrf_");
  const dorgqr = need(lib, fn, "dorgqr_");
  const k = Math.min(m, n);
  const a = transposeF64(A.data, m, n); // column-major A [m, n]
  const tau = new Float64Array(k);
  const R = new Float64Array(k * n); // [k, n]
  const Q = new Float64Array(m * k); // [m, k]
  if (k > 0) {
    const info = int(0);
    const query = new Float64Array(1);
    dgeqrf(int(m), int(n), a, int(m), tau, query, int(-1), info);
    checkInfo(fn, "dgeqrf", info);
    let lwork = Math.ceil(query[0] as number);
    dgeqrf(int(m), int(n), a, int(m), tau, new Float64Array(lwork), int(lwork), info);
    checkInfo(fn, "dgeqrf", info);
    for (let i = 0; i < k; i++) for (let j = i; j < n; j++) R[i * n + j] = a[i + j * m] as number;
    dorgqr(int(m), int(k), int(k), a, int(m), tau, query, int(-1), info);
    checkInfo(fn, "dorgqr", info);
    lwork = Math.ceil(query[0] as number);
    dorgqr(int(m), int(k), int(k), a, int(m), tau, new Float64Array(lwork), int(lwork), info);
    checkInfo(fn, "dorgqr", info);
    for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) Q[i * k + j] = a[i + j * m] as number;
  }
  return { Q: new Tensor("f64", [m, k], Q), R: new Tensor("f64", [k, n], R) };
}

type Symbols = BlasLibrary["symbols"];

function need<K extends "dpotri_" | "dsyevd_" | "dgesdd_" | "dgeqrf_" | "dorgqr_">(
  lib: BlasLibrary,
  fn: string,
  name: K,
): NonNullable<Symbols[K]> {
  const f = lib.symbols[name];
  if (f === null || f === undefined) {
    throw new TypeError(`${fn}: Cannot call ${name}: the library ${lib.path} does not export it (no LAPACK)`);
  }
  return f as NonNullable<Symbols[K]>;
}

/** Sets the strict upper (or lower) triangle of a row-major `[n, n]` array to zero. */
function zeroTriangle(a: Float64Array, n: number, which: "upper" | "lower"): void {
  for (let i = 0; i < n; i++) {
    if (which === "upper") a.fill(0, i * n + i + 1, (i + 1) * n);
    else a.fill(0, i * n, i * n + i);
  }
}

function checkDiagonal(fn: string, t: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) if (t[i * n + i] === 0) throw new SingularMatrixError(fn, n, i);
}
