// SPDX-License-Identifier: MIT
/**
 * Hessian accumulation `H += alpha·XᵀX` in f64 (GPTQ's `add_batch`; the caller chooses
 * `alpha`, e.g. `2 / n` for GPTQ's `H = 2XᵀX/n`).
 *
 * Products of two f32 values are exact in f64, so the only rounding is in the f64 sums.
 * Only the upper triangle is computed (XᵀX is symmetric) and then mirrored, halving the
 * work. Blocked like `matmul`: a `TOKEN_BLOCK × COL_BLOCK` panel of X stays in cache while
 * the rows of H that touch it are updated, four rows of H × four tokens per pass.
 *
 * @module
 */
import { formatShape, type Tensor } from "../../tensor/tensor.ts";
import type { HessianOptions } from "../ops.ts";
import { matrix, nonFinite } from "./_check.ts";

/** Columns of H (and X) per cache block. */
const COL_BLOCK = 256;
/** Tokens (rows of X) per cache block: a 64×256 f32 panel is 64 KiB. */
const TOKEN_BLOCK = 64;

/**
 * In place `H += alpha · XᵀX`.
 *
 * H is treated as symmetric: its upper triangle is read and the full matrix is written
 * (the lower triangle becomes the mirror of the upper).
 *
 * @param H f64 `[n, n]` symmetric, updated in place
 * @param X f32 `[tokens, n]`, finite
 * @param alpha finite scale (default 1)
 * @param options `precision`: accepted for the interface; the specification always sums in f64
 * @throws {TypeError} on dtype/shape mismatch; {RangeError} on NaN/Inf in X or alpha, or an unknown precision
 *
 * @example Accumulate one token
 * ```ts
 * import { accumulateHessian } from "./hessian.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const H = new Tensor("f64", [2, 2]);
 * accumulateHessian(H, new Tensor("f32", [1, 2], new Float32Array([1, 2])), 2);
 * assert.deepEqual(Array.from(H.data), [2, 4, 4, 8]);
 * ```
 */
export function accumulateHessian(
  H: Tensor<"f64">,
  X: Tensor<"f32">,
  alpha = 1,
  options: HessianOptions = {},
): void {
  const n = checkHessianArgs("accumulateHessian", H, X, alpha);
  const precision = options.precision ?? "f64";
  if (precision !== "f32" && precision !== "f64") {
    throw new RangeError(`accumulateHessian: Cannot accumulate in precision '${precision}': expected "f32" or "f64"`);
  }
  const tokens = X.shape[0] as number;
  const x = X.data;
  const h = H.data;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (v - v !== 0) throw nonFinite("accumulateHessian", "X", X, i);
  }
  for (let j0 = 0; j0 < n; j0 += COL_BLOCK) {
    const j1 = Math.min(n, j0 + COL_BLOCK);
    for (let t0 = 0; t0 < tokens; t0 += TOKEN_BLOCK) {
      const t1 = Math.min(tokens, t0 + TOKEN_BLOCK);
      let i = 0;
      // Four rows of H at a time; the few lower-triangle entries of rows i+1..i+3 computed
      // on the way are overwritten by the final mirror.
      for (; i + 3 < j1; i += 4) {
        const h0 = i * n;
        const h1 = h0 + n;
        const h2 = h1 + n;
        const h3 = h2 + n;
        const jStart = Math.max(i, j0);
        let t = t0;
        for (; t + 3 < t1; t += 4) {
          const x0 = t * n;
          const x1 = x0 + n;
          const x2 = x1 + n;
          const x3 = x2 + n;
          // a{r}{u} = alpha · X[t + u, i + r]
          const a00 = alpha * (x[x0 + i] as number);
          const a01 = alpha * (x[x1 + i] as number);
          const a02 = alpha * (x[x2 + i] as number);
          const a03 = alpha * (x[x3 + i] as number);
          const a10 = alpha * (x[x0 + i + 1] as number);
          const a11 = alpha * (x[x1 + i + 1] as number);
          const a12 = alpha * (x[x2 + i + 1] as number);
          const a13 = alpha * (x[x3 + i + 1] as number);
          const a20 = alpha * (x[x0 + i + 2] as number);
          const a21 = alpha * (x[x1 + i + 2] as number);
          const a22 = alpha * (x[x2 + i + 2] as number);
          const a23 = alpha * (x[x3 + i + 2] as number);
          const a30 = alpha * (x[x0 + i + 3] as number);
          const a31 = alpha * (x[x1 + i + 3] as number);
          const a32 = alpha * (x[x2 + i + 3] as number);
          const a33 = alpha * (x[x3 + i + 3] as number);
          for (let j = jStart; j < j1; j++) {
            const y0 = x[x0 + j] as number;
            const y1 = x[x1 + j] as number;
            const y2 = x[x2 + j] as number;
            const y3 = x[x3 + j] as number;
            h[h0 + j] = (h[h0 + j] as number) + (a00 * y0 + a01 * y1 + a02 * y2 + a03 * y3);
            h[h1 + j] = (h[h1 + j] as number) + (a10 * y0 + a11 * y1 + a12 * y2 + a13 * y3);
            h[h2 + j] = (h[h2 + j] as number) + (a20 * y0 + a21 * y1 + a22 * y2 + a23 * y3);
            h[h3 + j] = (h[h3 + j] as number) + (a30 * y0 + a31 * y1 + a32 * y2 + a33 * y3);
          }
        }
        for (; t < t1; t++) {
          const x0 = t * n;
          for (let r = 0; r < 4; r++) {
            const a = alpha * (x[x0 + i + r] as number);
            const hr = h0 + r * n;
            for (let j = jStart; j < j1; j++) h[hr + j] = (h[hr + j] as number) + a * (x[x0 + j] as number);
          }
        }
      }
      for (; i < j1; i++) {
        const hi = i * n;
        const jStart = Math.max(i, j0);
        for (let t = t0; t < t1; t++) {
          const x0 = t * n;
          const a = alpha * (x[x0 + i] as number);
          for (let j = jStart; j < j1; j++) h[hi + j] = (h[hi + j] as number) + a * (x[x0 + j] as number);
        }
      }
    }
  }
  symmetrizeFromUpper(h, n);
}

/** Validates the arguments of `accumulateHessian`; returns n. Shared with the blas backend. */
export function checkHessianArgs(fn: string, H: Tensor, X: Tensor, alpha: number): number {
  const [n, n2] = matrix(fn, "H", H, "f64");
  if (n !== n2) throw new TypeError(`${fn}: Cannot use 'H' of shape ${formatShape(H.shape)}: expected a square matrix`);
  const [, cols] = matrix(fn, "X", X, "f32");
  if (cols !== n) {
    throw new TypeError(
      `${fn}: Cannot accumulate X of shape ${formatShape(X.shape)} into H of shape ${
        formatShape(H.shape)
      }: X must have ${n} columns`,
    );
  }
  if (!Number.isFinite(alpha)) throw new RangeError(`${fn}: Cannot scale by alpha ${alpha}: alpha must be finite`);
  return n;
}

/** Copies the upper triangle of a row-major `[n, n]` matrix onto its lower triangle. */
export function symmetrizeFromUpper(h: Float64Array, n: number): void {
  const T = 32; // tiles keep the strided (column) reads in cache
  for (let i0 = 0; i0 < n; i0 += T) {
    const i1 = Math.min(n, i0 + T);
    for (let j0 = 0; j0 <= i0; j0 += T) {
      for (let i = i0; i < i1; i++) {
        const ri = i * n;
        const j1 = Math.min(i, j0 + T);
        for (let j = j0; j < j1; j++) h[ri + j] = h[j * n + i] as number;
      }
    }
  }
}
