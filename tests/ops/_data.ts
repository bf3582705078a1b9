// SPDX-License-Identifier: MIT
/**
 * Seeded test data and slow, obviously-correct reference computations (f64) shared by the
 * CPU-backend and linear-algebra tests.
 *
 * @module
 */
import { Rng } from "../../lib/tensor/random.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";

/** f32 tensor of N(0, std²) samples from seed. */
export function randF32(shape: readonly number[], seed: number, std = 1): Tensor<"f32"> {
  const rng = new Rng(seed);
  const t = new Tensor("f32", shape);
  for (let i = 0; i < t.size; i++) t.data[i] = std * rng.normal();
  return t;
}

/** f64 tensor of N(0, 1) samples from seed. */
export function randF64(shape: readonly number[], seed: number): Tensor<"f64"> {
  const rng = new Rng(seed);
  const t = new Tensor("f64", shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}

/** Symmetric positive-definite f64 `[n, n]`: XᵀX/m + damp·I with X `[m = n + 4, n]`. */
export function spd(n: number, seed: number, damp = 0.1): Tensor<"f64"> {
  const m = n + 4;
  const X = randF64([m, n], seed).data;
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let t = 0; t < m; t++) s += (X[t * n + i] as number) * (X[t * n + j] as number);
      A[i * n + j] = A[j * n + i] = s / m + (i === j ? damp : 0);
    }
  }
  return new Tensor("f64", [n, n], A);
}

/** Well-conditioned random triangular f64 `[n, n]` (diagonal in ±[1, 2]). */
export function triangular(n: number, seed: number, lower: boolean): Tensor<"f64"> {
  const rng = new Rng(seed);
  const T = new Tensor("f64", [n, n]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) T.data[i * n + j] = rng.sign() * (1 + rng.uniform());
      else if (lower ? j < i : j > i) T.data[i * n + j] = (rng.normal() * 0.5) / Math.sqrt(n);
    }
  }
  return T;
}

/** Dense f64 product of row-major `[m, k]` and `[k, n]` arrays (any numeric arrays). */
export function refMatmul(A: ArrayLike<number>, B: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (A[i * k + p] as number) * (B[p * n + j] as number);
      C[i * n + j] = s;
    }
  }
  return C;
}

/** Transpose of a row-major `[rows, cols]` array as f64. */
export function refTranspose(A: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const T = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) T[j * rows + i] = A[i * cols + j] as number;
  return T;
}

/** The n×n identity as f64. */
export function identity(n: number): Float64Array {
  const I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  return I;
}

/** Largest |a − b| over two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}
