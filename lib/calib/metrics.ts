// SPDX-License-Identifier: MIT
/**
 * Quantization error and quantizability metrics:
 * - {@link mse} and {@link sqnr} (dB) of a reconstruction;
 * - {@link weightedError} `Tr(ΔW H ΔWᵀ)`, the layer-output proxy error GPTQ minimises
 *   (with `H = 2/N·XᵀX` it equals `2/N·‖ΔW X‖²`);
 * - {@link incoherence} `μ = max|W_ij|·√(mn)/‖W‖_F` (QuIP/QuIP#; 1 for a flat matrix, √(mn)
 *   for a single spike);
 * - {@link quantizationKernelFraction}, CrossQuant's share of activations that quantize to 0.
 *
 * All sums are in f64.
 *
 * @module
 */
import { dims2, formatShape, type Tensor } from "../tensor/tensor.ts";

function sameShape(fn: string, a: Tensor, b: Tensor): void {
  if (formatShape(a.shape) !== formatShape(b.shape)) {
    throw new TypeError(
      `${fn}: Cannot compare tensors of shape ${formatShape(a.shape)} and ${formatShape(b.shape)}: shapes differ`,
    );
  }
}

/**
 * Mean squared error `mean((W − Q)²)`.
 *
 * @example
 * ```ts
 * import { mse } from "./metrics.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const a = new Tensor("f32", [2], new Float32Array([1, 2]));
 * const b = new Tensor("f32", [2], new Float32Array([1, 4]));
 * assert.equal(mse(a, b), 2);
 * ```
 */
export function mse(W: Tensor, Q: Tensor): number {
  sameShape("mse", W, Q);
  let se = 0;
  for (let i = 0; i < W.size; i++) se += ((W.data[i] as number) - (Q.data[i] as number)) ** 2;
  return se / Math.max(1, W.size);
}

/** Signal-to-quantization-noise ratio in dB, `10·log10(‖W‖² / ‖W − Q‖²)` (Infinity when exact). */
export function sqnr(W: Tensor, Q: Tensor): number {
  sameShape("sqnr", W, Q);
  let se = 0, ss = 0;
  for (let i = 0; i < W.size; i++) {
    const w = W.data[i] as number;
    se += (w - (Q.data[i] as number)) ** 2;
    ss += w * w;
  }
  return se === 0 ? Infinity : 10 * Math.log10(ss / se);
}

/**
 * Weighted error `Tr(ΔW H ΔWᵀ) = Σ_r Δw_r H Δw_rᵀ` with `ΔW = W − Q`.
 *
 * @param W f32 `[rows, cols]` original weights
 * @param Q f32 `[rows, cols]` quantized weights
 * @param H f64 (or f32) `[cols, cols]` symmetric
 * @returns the scalar error (f64)
 *
 * @example With H = I it is the squared Frobenius error
 * ```ts
 * import { weightedError } from "./metrics.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const W = new Tensor("f32", [1, 2], new Float32Array([1, 2]));
 * const Q = new Tensor("f32", [1, 2], new Float32Array([0, 0]));
 * const I = new Tensor("f64", [2, 2], new Float64Array([1, 0, 0, 1]));
 * assert.equal(weightedError(W, Q, I), 5);
 * ```
 */
export function weightedError(W: Tensor<"f32">, Q: Tensor<"f32">, H: Tensor<"f64"> | Tensor<"f32">): number {
  const [rows, cols] = dims2("weightedError", "W", W);
  sameShape("weightedError", W, Q);
  const [h0, h1] = dims2("weightedError", "H", H);
  if (h0 !== cols || h1 !== cols) {
    throw new TypeError(
      `weightedError: Cannot weight W of shape ${formatShape(W.shape)} by H of shape ${
        formatShape(H.shape)
      }: expected [${cols}, ${cols}]`,
    );
  }
  const d = new Float64Array(cols);
  const h = H.data;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) d[j] = (W.data[r * cols + j] as number) - (Q.data[r * cols + j] as number);
    for (let i = 0; i < cols; i++) {
      const di = d[i] as number;
      if (di === 0) continue;
      let s = 0;
      const o = i * cols;
      for (let j = 0; j < cols; j++) s += (h[o + j] as number) * (d[j] as number);
      total += di * s;
    }
  }
  return total;
}

/**
 * Incoherence `μ = max|W_ij| · √(m·n) / ‖W‖_F` of a matrix `[m, n]` (QuIP#'s definition).
 * Ranges from 1 (all entries of equal magnitude) to √(mn) (one nonzero entry).
 *
 * @throws {RangeError} for an all-zero matrix
 *
 * @example
 * ```ts
 * import { incoherence } from "./metrics.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * assert.equal(incoherence(new Tensor("f32", [2, 2], new Float32Array([1, -1, 1, -1]))), 1);
 * assert.equal(incoherence(new Tensor("f32", [2, 2], new Float32Array([0, 3, 0, 0]))), 2);
 * ```
 */
export function incoherence(W: Tensor<"f32">): number {
  const [m, n] = dims2("incoherence", "W", W);
  let max = 0, ss = 0;
  for (let i = 0; i < W.size; i++) {
    const v = Math.abs(W.data[i] as number);
    if (v > max) max = v;
    ss += v * v;
  }
  if (ss === 0) throw new RangeError(`incoherence: Cannot measure W of shape [${m}, ${n}]: it is all zeros`);
  return max * Math.sqrt(m * n) / Math.sqrt(ss);
}

/**
 * Quantization-kernel fraction (CrossQuant): the share of elements that are nonzero in X but
 * quantize to exactly 0 in Xq, over all elements of X.
 *
 * @param X f32 original activations (any shape)
 * @param Xq f32 fake-quantized activations (same shape)
 *
 * @example
 * ```ts
 * import { quantizationKernelFraction } from "./metrics.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const X = new Tensor("f32", [4], new Float32Array([0.1, 2, -0.2, 3]));
 * const Xq = new Tensor("f32", [4], new Float32Array([0, 2, 0, 3]));
 * assert.equal(quantizationKernelFraction(X, Xq), 0.5);
 * ```
 */
export function quantizationKernelFraction(X: Tensor<"f32">, Xq: Tensor<"f32">): number {
  sameShape("quantizationKernelFraction", X, Xq);
  let k = 0;
  for (let i = 0; i < X.size; i++) if ((Xq.data[i] as number) === 0 && (X.data[i] as number) !== 0) k++;
  return k / Math.max(1, X.size);
}
