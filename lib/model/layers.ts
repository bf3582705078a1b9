// SPDX-License-Identifier: MIT
/**
 * The building blocks of a Llama-family decoder on the CPU, written as plain loops over
 * row-major f32 data: RMSNorm (per row and per head), bias addition, causal softmax attention
 * scores with an optional sliding window, SwiGLU. Rotary embeddings live in `rope.ts`; linear
 * layers go through `ops.matmul`.
 *
 * Symbols: T tokens of one sequence, d hidden size, hd head dimension.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";

/**
 * RMSNorm, as Hugging Face Llama: `x · rsqrt(mean(x²) + eps) · weight`, per row.
 * @param x f32 `[tokens, d]`
 * @param weight f32 `[d]`, or undefined when the scale was folded into the next linear
 * @returns f32 `[tokens, d]`
 */
export function rmsNorm(x: Tensor<"f32">, weight: Tensor<"f32"> | undefined, eps: number): Tensor<"f32"> {
  const [n, d] = x.shape as [number, number];
  const out = new Float32Array(n * d);
  const src = x.data, w = weight?.data;
  for (let r = 0; r < n; r++) {
    let ss = 0;
    const o = r * d;
    for (let j = 0; j < d; j++) ss += (src[o + j] as number) ** 2;
    const inv = Math.fround(1 / Math.sqrt(ss / d + eps));
    if (w) { for (let j = 0; j < d; j++) out[o + j] = Math.fround((src[o + j] as number) * inv) * (w[j] as number); }
    else for (let j = 0; j < d; j++) out[o + j] = (src[o + j] as number) * inv;
  }
  return new Tensor("f32", [n, d], out);
}

/**
 * Gathers head h of `[T, nHeads·hd]` into a contiguous `[T, hd]` block of `dst` at `dstOffset`.
 */
export function gatherHead(
  src: Float32Array,
  T: number,
  width: number,
  h: number,
  headDim: number,
  dst: Float32Array,
  dstOffset: number,
): void {
  for (let p = 0; p < T; p++) {
    dst.set(src.subarray(p * width + h * headDim, p * width + (h + 1) * headDim), dstOffset + p * headDim);
  }
}

/**
 * In place: scale, causal mask (optionally a sliding window) and row softmax of attention
 * scores `[T, T]` (f64 sums). Row p keeps columns j with p − window < j ≤ p (transformers'
 * `sliding_window_overlay`: `kv_idx > q_idx − sliding_window`), all j ≤ p without a window.
 *
 * @param scores f32 holding `[T, T]` at `offset`, modified in place
 * @param offset start of this head's scores
 * @param T tokens
 * @param scale multiplier of the scores (hd^−½)
 * @param window sliding window W, or null for full causal attention
 */
export function causalSoftmax(
  scores: Float32Array,
  offset: number,
  T: number,
  scale: number,
  window: number | null = null,
): void {
  for (let p = 0; p < T; p++) {
    const o = offset + p * T;
    const first = window === null ? 0 : Math.max(0, p - window + 1);
    let max = -Infinity;
    for (let j = first; j <= p; j++) max = Math.max(max, (scores[o + j] as number) * scale);
    let sum = 0;
    for (let j = first; j <= p; j++) {
      const e = Math.exp((scores[o + j] as number) * scale - max);
      scores[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < first; j++) scores[o + j] = 0;
    for (let j = first; j <= p; j++) scores[o + j] = (scores[o + j] as number) * inv;
    for (let j = p + 1; j < T; j++) scores[o + j] = 0;
  }
}

/**
 * In place: adds bias b to every row of y (y = X·Wᵀ + b).
 * @param y f32 `[rows, out]`
 * @param bias f32 `[out]`
 */
export function addBias(y: Tensor<"f32">, bias: Tensor<"f32">): void {
  const out = bias.size, b = bias.data, x = y.data;
  if (y.shape[y.rank - 1] !== out) {
    throw new TypeError(`addBias: Cannot add a bias of ${out} to rows of shape [${y.shape.join(", ")}]`);
  }
  for (let o = 0; o < x.length; o += out) {
    for (let j = 0; j < out; j++) x[o + j] = (x[o + j] as number) + (b[j] as number);
  }
}

/**
 * In place: RMSNorm of every head-sized block of `x` (Qwen3's `q_norm`/`k_norm`): each hd-vector
 * becomes `v · rsqrt(mean(v²) + eps) · weight`, the same arithmetic as {@link rmsNorm}.
 * @param x f32 `[rows, nHeads·hd]` (any layout whose length is a multiple of hd)
 * @param weight f32 `[hd]`
 * @param eps the model's rms_norm_eps
 */
export function headRmsNorm(x: Tensor<"f32">, weight: Tensor<"f32">, eps: number): void {
  const hd = weight.size;
  const normed = rmsNorm(new Tensor("f32", [x.size / hd, hd], x.data), weight, eps); // [rows·heads, hd]
  x.data.set(normed.data);
}

/** SwiGLU: silu(gate) ⊙ up, elementwise; both f32 `[tokens, ffn]`. */
export function swiglu(gate: Tensor<"f32">, up: Tensor<"f32">): Tensor<"f32"> {
  const g = gate.data, u = up.data;
  const out = new Float32Array(g.length);
  for (let i = 0; i < g.length; i++) {
    const x = g[i] as number;
    out[i] = (x / (1 + Math.exp(-x))) * (u[i] as number);
  }
  return new Tensor("f32", gate.shape, out);
}

/** In place a += b (residual connection). */
export function addInPlace(a: Tensor<"f32">, b: Tensor<"f32">): void {
  const x = a.data, y = b.data;
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) + (y[i] as number);
}
