// SPDX-License-Identifier: MIT
/**
 * Seeded synthetic layers for the reconstruction tests: weights and a realistic Hessian
 * `H = 2XᵀX/N` from correlated inputs with a few outlier channels.
 *
 * @module
 */
import { Rng } from "../../lib/tensor/random.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";

/** Random inputs X f32 `[N, n]`: Gaussian mixed through a random matrix, some channels scaled up. */
export function randomInputs(N: number, n: number, seed: number): Tensor<"f32"> {
  const rng = new Rng(seed);
  const A = Float64Array.from(
    { length: n * n },
    (_, i) => (i % (n + 1) === 0 ? 1 : 0) + 0.3 * rng.normal() / Math.sqrt(n),
  );
  const gain = Float64Array.from({ length: n }, () => (rng.uniform() < 0.05 ? 6 : 0.5 + rng.uniform()));
  const X = new Float32Array(N * n); // [N, n]
  const z = new Float64Array(n);
  for (let t = 0; t < N; t++) {
    for (let k = 0; k < n; k++) z[k] = rng.normal();
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (z[k] as number) * (A[k * n + j] as number);
      X[t * n + j] = s * (gain[j] as number);
    }
  }
  return new Tensor("f32", [N, n], X);
}

/** H = 2XᵀX/N in f64. */
export function hessianOf(X: Tensor<"f32">): Tensor<"f64"> {
  const [N, n] = X.shape as [number, number];
  const H = new Float64Array(n * n);
  for (let t = 0; t < N; t++) {
    const o = t * n;
    for (let i = 0; i < n; i++) {
      const xi = X.data[o + i] as number;
      for (let j = 0; j <= i; j++) H[i * n + j] = (H[i * n + j] as number) + xi * (X.data[o + j] as number);
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = (2 * (H[i * n + j] as number)) / N;
      H[i * n + j] = v;
      H[j * n + i] = v;
    }
  }
  return new Tensor("f64", [n, n], H);
}

/** A seeded random SPD Hessian `[n, n]` from `N` correlated samples. */
export function randomHessian(n: number, seed: number, N = 4 * n): Tensor<"f64"> {
  return hessianOf(randomInputs(N, n, seed));
}

/** Gaussian weights f32 `[rows, cols]` with a few large entries. */
export function randomWeights(rows: number, cols: number, seed: number): Tensor<"f32"> {
  const rng = new Rng(seed);
  const W = new Float32Array(rows * cols);
  for (let i = 0; i < W.length; i++) W[i] = (rng.uniform() < 0.01 ? 4 : 1) * rng.normal() * 0.05;
  return new Tensor("f32", [rows, cols], W);
}
