// SPDX-License-Identifier: MIT
/**
 * Dense linear algebra on the CPU in f64: the readable reference implementations that the
 * `blas` backend (LAPACK through FFI) is checked against.
 *
 * - {@link cholesky} (A = L·Lᵀ, throws {@link NotPositiveDefiniteError}), {@link choleskyInverse}
 * - {@link triangularInverse}, {@link triangularSolve}
 * - {@link qr} (Householder, reduced), {@link eigh} (symmetric eigendecomposition),
 *   {@link svd} (thin, one-sided Jacobi, optional truncation)
 *
 * @example A tour: factor, solve, check
 * ```ts
 * import { cholesky, triangularSolve } from "./mod.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const A = new Tensor("f64", [2, 2], new Float64Array([4, 2, 2, 5]));
 * const L = cholesky(A);                       // [[2, 0], [1, 2]]
 * const b = new Tensor("f64", [2, 1], new Float64Array([2, 3]));
 * const y = triangularSolve(L, b, { lower: true });                   // L·y = b
 * const x = triangularSolve(L, y, { lower: true, transpose: true });  // Lᵀ·x = y
 * assert.ok(Math.abs(4 * x.data[0]! + 2 * x.data[1]! - 2) < 1e-12);
 * ```
 *
 * @module
 */
export { cholesky, choleskyInverse, type CholeskyOptions } from "./cholesky.ts";
export {
  triangularInverse,
  type TriangularOptions,
  triangularSolve,
  type TriangularSolveOptions,
} from "./triangular.ts";
export { qr, type QrResult } from "./qr.ts";
export { eigh, type EighResult } from "./eigh.ts";
export { svd, type SvdOptions, type SvdResult } from "./svd.ts";
export { DEFAULT_NOT_PD_HINT, NotPositiveDefiniteError, SingularMatrixError } from "./errors.ts";
