// SPDX-License-Identifier: MIT
/**
 * Cholesky factorization `A = L·Lᵀ` of a symmetric positive-definite f64 matrix, and the
 * inverse `A⁻¹ = L⁻ᵀ·L⁻¹` from the factor (PyTorch's `cholesky_inverse`, used by GPTQ).
 *
 * Algorithm: Cholesky–Banachiewicz (row by row) on row-major storage, so every inner loop
 * is a dot product of two contiguous rows of L; four rows are computed together so each
 * load of row j feeds four accumulators (register blocking, ~4× fewer loads).
 * Only the lower triangle of A is read.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { squareF64 } from "./_check.ts";
import { DEFAULT_NOT_PD_HINT, NotPositiveDefiniteError } from "./errors.ts";
import { triangularInverse } from "./triangular.ts";

/** Options of {@link cholesky}. */
export interface CholeskyOptions {
  /** Remedy named in the {@link NotPositiveDefiniteError} message (default "increase dampRatio"). */
  hint?: string;
}

/**
 * Lower Cholesky factor L of a symmetric positive-definite matrix (A = L·Lᵀ).
 *
 * @param A f64 `[n, n]`, symmetric positive definite (only the lower triangle is read)
 * @param options `hint` for the error message
 * @returns f64 `[n, n]` lower triangular L (zeros above the diagonal)
 * @throws {NotPositiveDefiniteError} when a pivot is not positive; carries `pivot`, `value`, `hint`
 * @throws {TypeError} when A is not a square f64 matrix; {RangeError} on NaN/Inf
 *
 * @example Factor a 2×2 matrix
 * ```ts
 * import { cholesky } from "./cholesky.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const L = cholesky(new Tensor("f64", [2, 2], new Float64Array([4, 2, 2, 5])));
 * assert.deepEqual(Array.from(L.data), [2, 0, 1, 2]);
 * ```
 */
export function cholesky(A: Tensor<"f64">, options: CholeskyOptions = {}): Tensor<"f64"> {
  const n = squareF64("cholesky", "A", A);
  const hint = options.hint ?? DEFAULT_NOT_PD_HINT;
  const a = A.data;
  const L = new Float64Array(n * n); // [n, n], lower triangle filled row by row
  const invDiag = new Float64Array(n); // 1 / L[j, j]
  const fail = (pivot: number, value: number): never => {
    throw new NotPositiveDefiniteError("cholesky", n, pivot, value, hint);
  };

  for (let i0 = 0; i0 < n; i0 += 4) {
    const rows = Math.min(4, n - i0);
    if (rows === 4) {
      // Off-diagonal block: L[i, j] for i in i0..i0+3, j < i0, four dot products at once.
      const r0 = i0 * n;
      const r1 = r0 + n;
      const r2 = r1 + n;
      const r3 = r2 + n;
      for (let j = 0; j < i0; j++) {
        const rj = j * n;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let k = 0; k < j; k++) {
          const ljk = L[rj + k] as number;
          s0 += (L[r0 + k] as number) * ljk;
          s1 += (L[r1 + k] as number) * ljk;
          s2 += (L[r2 + k] as number) * ljk;
          s3 += (L[r3 + k] as number) * ljk;
        }
        const d = invDiag[j] as number;
        L[r0 + j] = ((a[r0 + j] as number) - s0) * d;
        L[r1 + j] = ((a[r1 + j] as number) - s1) * d;
        L[r2 + j] = ((a[r2 + j] as number) - s2) * d;
        L[r3 + j] = ((a[r3 + j] as number) - s3) * d;
      }
    } else {
      for (let i = i0; i < i0 + rows; i++) {
        const ri = i * n;
        for (let j = 0; j < i0; j++) {
          const rj = j * n;
          let s = 0;
          for (let k = 0; k < j; k++) s += (L[ri + k] as number) * (L[rj + k] as number);
          L[ri + j] = ((a[ri + j] as number) - s) * (invDiag[j] as number);
        }
      }
    }
    // Diagonal block: plain row-by-row Cholesky of the (at most 4×4) remaining triangle.
    for (let i = i0; i < i0 + rows; i++) {
      const ri = i * n;
      for (let j = i0; j <= i; j++) {
        const rj = j * n;
        let s = 0;
        for (let k = 0; k < j; k++) s += (L[ri + k] as number) * (L[rj + k] as number);
        const v = (a[ri + j] as number) - s;
        if (j < i) {
          L[ri + j] = v * (invDiag[j] as number);
        } else {
          // `!(v > 0)` also catches NaN from overflowing sums.
          if (!(v > 0) || !Number.isFinite(v)) fail(i, v);
          const lii = Math.sqrt(v);
          L[ri + i] = lii;
          invDiag[i] = 1 / lii;
        }
      }
    }
  }
  return new Tensor("f64", [n, n], L);
}

/**
 * Inverse of A from its lower Cholesky factor: `A⁻¹ = L⁻ᵀ·L⁻¹` (PyTorch `cholesky_inverse`).
 *
 * @param L f64 `[n, n]` lower Cholesky factor (only the lower triangle is read)
 * @returns f64 `[n, n]` the full symmetric inverse of `L·Lᵀ`
 *
 * @example Invert a 2×2 SPD matrix
 * ```ts
 * import { cholesky, choleskyInverse } from "./cholesky.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const Ainv = choleskyInverse(cholesky(new Tensor("f64", [2, 2], new Float64Array([4, 0, 0, 16]))));
 * assert.deepEqual(Array.from(Ainv.data), [0.25, 0, 0, 0.0625]);
 * ```
 */
export function choleskyInverse(L: Tensor<"f64">): Tensor<"f64"> {
  const n = squareF64("choleskyInverse", "L", L);
  const X = triangularInverse(L, { lower: true }).data; // L⁻¹, lower
  const out = new Float64Array(n * n); // [n, n]
  // A⁻¹[i, j] = Σ_k X[k, i]·X[k, j]: one rank-1 update of the lower triangle per row k of X.
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let i = 0; i <= k; i++) {
      const xki = X[rk + i] as number;
      if (xki === 0) continue;
      const ri = i * n;
      for (let j = 0; j <= i; j++) out[ri + j] = (out[ri + j] as number) + xki * (X[rk + j] as number);
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) out[j * n + i] = out[i * n + j] as number;
  }
  return new Tensor("f64", [n, n], out);
}
