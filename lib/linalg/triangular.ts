// SPDX-License-Identifier: MIT
/**
 * Triangular inverse and triangular solves in f64 (LAPACK's `trtri` and BLAS's `trsm`).
 *
 * Only the triangle named by `lower` is read; the other one is treated as zero. Every inner
 * loop is an axpy over a contiguous row (row-major storage), which keeps them cache friendly.
 *
 * @module
 */
import { formatShape, Tensor } from "../tensor/tensor.ts";
import { finiteData, matrixOf, squareF64 } from "./_check.ts";
import { SingularMatrixError } from "./errors.ts";

/** Options of {@link triangularInverse}. */
export interface TriangularOptions {
  /** true: T is lower triangular; false: upper triangular. */
  lower: boolean;
}

/** Options of {@link triangularSolve}. */
export interface TriangularSolveOptions extends TriangularOptions {
  /** Solve with Tᵀ instead of T. Default false. */
  transpose?: boolean;
}

/**
 * Inverse of a triangular matrix; the result is triangular of the same kind.
 *
 * @param T f64 `[n, n]` triangular (only the `lower`/upper triangle is read)
 * @param options `lower`
 * @returns f64 `[n, n]` T⁻¹ with zeros in the other triangle
 * @throws {SingularMatrixError} when a diagonal element is zero
 *
 * @example Invert a lower-triangular 2×2 matrix
 * ```ts
 * import { triangularInverse } from "./triangular.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const X = triangularInverse(new Tensor("f64", [2, 2], new Float64Array([2, 0, 1, 4])), { lower: true });
 * assert.deepEqual(Array.from(X.data), [0.5, 0, -0.125, 0.25]);
 * ```
 */
export function triangularInverse(T: Tensor<"f64">, options: TriangularOptions): Tensor<"f64"> {
  const n = squareF64("triangularInverse", "T", T);
  const t = T.data;
  checkDiagonal("triangularInverse", t, n);
  const X = new Float64Array(n * n); // [n, n] T⁻¹
  if (options.lower) {
    // Row i of X: (e_i − Σ_{k<i} T[i,k]·X[k,:]) / T[i,i]; X[k,:] is nonzero on columns ≤ k.
    for (let i = 0; i < n; i++) {
      const ri = i * n;
      X[ri + i] = 1;
      for (let k = 0; k < i; k++) {
        const c = t[ri + k] as number;
        if (c === 0) continue;
        const rk = k * n;
        for (let j = 0; j <= k; j++) X[ri + j] = (X[ri + j] as number) - c * (X[rk + j] as number);
      }
      const d = 1 / (t[ri + i] as number);
      for (let j = 0; j <= i; j++) X[ri + j] = (X[ri + j] as number) * d;
    }
  } else {
    // Row i of X, bottom up: (e_i − Σ_{k>i} T[i,k]·X[k,:]) / T[i,i]; X[k,:] is nonzero on columns ≥ k.
    for (let i = n - 1; i >= 0; i--) {
      const ri = i * n;
      X[ri + i] = 1;
      for (let k = i + 1; k < n; k++) {
        const c = t[ri + k] as number;
        if (c === 0) continue;
        const rk = k * n;
        for (let j = k; j < n; j++) X[ri + j] = (X[ri + j] as number) - c * (X[rk + j] as number);
      }
      const d = 1 / (t[ri + i] as number);
      for (let j = i; j < n; j++) X[ri + j] = (X[ri + j] as number) * d;
    }
  }
  return new Tensor("f64", [n, n], X);
}

/**
 * Solves `op(T)·X = B` for X, with `op(T) = T` or `Tᵀ` and T triangular.
 *
 * @param T f64 `[n, n]` triangular (only the `lower`/upper triangle is read)
 * @param B f64 `[n, m]` right-hand sides
 * @param options `lower`, `transpose` (default false)
 * @returns f64 `[n, m]` X
 * @throws {SingularMatrixError} when a diagonal element of T is zero
 *
 * @example Forward substitution
 * ```ts
 * import { triangularSolve } from "./triangular.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const T = new Tensor("f64", [2, 2], new Float64Array([2, 0, 1, 4]));
 * const B = new Tensor("f64", [2, 1], new Float64Array([2, 9]));
 * assert.deepEqual(Array.from(triangularSolve(T, B, { lower: true }).data), [1, 2]);
 * ```
 */
export function triangularSolve(
  T: Tensor<"f64">,
  B: Tensor<"f64">,
  options: TriangularSolveOptions,
): Tensor<"f64"> {
  const fn = "triangularSolve";
  const n = squareF64(fn, "T", T);
  const [bRows, m] = matrixOf(fn, "B", B, "f64");
  if (bRows !== n) {
    throw new TypeError(
      `${fn}: Cannot solve with T of shape ${formatShape(T.shape)} and B of shape ${
        formatShape(B.shape)
      }: B must have ${n} rows`,
    );
  }
  finiteData(fn, "B", B);
  const t = T.data;
  checkDiagonal(fn, t, n);
  const X = Float64Array.from(B.data); // [n, m], solved in place
  // "Upper-like" solves run bottom up; the transposed cases use rows of T as columns of Tᵀ.
  const lower = options.lower;
  const transpose = options.transpose ?? false;
  if (!transpose) {
    // Row-oriented substitution: X[i,:] = (B[i,:] − Σ_k T[i,k]·X[k,:]) / T[i,i].
    const start = lower ? 0 : n - 1;
    const end = lower ? n : -1;
    const step = lower ? 1 : -1;
    for (let i = start; i !== end; i += step) {
      const ri = i * n;
      const xi = i * m;
      const kLo = lower ? 0 : i + 1;
      const kHi = lower ? i : n;
      for (let k = kLo; k < kHi; k++) {
        const c = t[ri + k] as number;
        if (c === 0) continue;
        const xk = k * m;
        for (let j = 0; j < m; j++) X[xi + j] = (X[xi + j] as number) - c * (X[xk + j] as number);
      }
      const d = 1 / (t[ri + i] as number);
      for (let j = 0; j < m; j++) X[xi + j] = (X[xi + j] as number) * d;
    }
  } else {
    // Column-oriented substitution with Tᵀ: finish X[i,:], then remove its contribution
    // T[i,k]·X[i,:] from every row k still to be solved (k < i for lower, k > i for upper).
    const start = lower ? n - 1 : 0;
    const end = lower ? -1 : n;
    const step = lower ? -1 : 1;
    for (let i = start; i !== end; i += step) {
      const ri = i * n;
      const xi = i * m;
      const d = 1 / (t[ri + i] as number);
      for (let j = 0; j < m; j++) X[xi + j] = (X[xi + j] as number) * d;
      const kLo = lower ? 0 : i + 1;
      const kHi = lower ? i : n;
      for (let k = kLo; k < kHi; k++) {
        const c = t[ri + k] as number;
        if (c === 0) continue;
        const xk = k * m;
        for (let j = 0; j < m; j++) X[xk + j] = (X[xk + j] as number) - c * (X[xi + j] as number);
      }
    }
  }
  return new Tensor("f64", [n, m], X);
}

function checkDiagonal(fn: string, t: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    if (t[i * n + i] === 0) throw new SingularMatrixError(fn, n, i);
  }
}
