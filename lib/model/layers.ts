// SPDX-License-Identifier: MIT
/**
 * The building blocks of a Llama decoder on the CPU, written as plain loops over
 * row-major f32 data: RMSNorm, rotary embeddings (Hugging Face `rotate_half` convention),
 * causal softmax attention scores, SwiGLU. Linear layers go through `ops.matmul`.
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

/** Cosine and sine tables of RoPE for positions `[0, T)`: each f64 `[T, hd/2]`. */
export interface RopeTables {
  cos: Float64Array;
  sin: Float64Array;
  half: number;
}

/** Builds RoPE tables: angle(p, i) = p · θ^(−2i/hd). */
export function ropeTables(T: number, headDim: number, theta: number): RopeTables {
  const half = headDim / 2;
  const cos = new Float64Array(T * half), sin = new Float64Array(T * half);
  for (let i = 0; i < half; i++) {
    // HF computes inv_freq in f32; mirror that so angles agree at long positions.
    const invFreq = Math.fround(1 / Math.fround(theta ** ((2 * i) / headDim)));
    for (let p = 0; p < T; p++) {
      const a = Math.fround(p * invFreq);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos, sin, half };
}

/**
 * Applies RoPE in place to heads laid out as `[T, nHeads·hd]` (one sequence), position p = row.
 * Pairs (i, i + hd/2) rotate together (`rotate_half`, not interleaved).
 */
export function applyRope(x: Float32Array, T: number, nHeads: number, headDim: number, rope: RopeTables): void {
  const { cos, sin, half } = rope;
  const width = nHeads * headDim;
  for (let p = 0; p < T; p++) {
    for (let h = 0; h < nHeads; h++) {
      const o = p * width + h * headDim;
      for (let i = 0; i < half; i++) {
        const a = x[o + i] as number, b = x[o + i + half] as number;
        const c = cos[p * half + i] as number, s = sin[p * half + i] as number;
        x[o + i] = a * c - b * s;
        x[o + i + half] = b * c + a * s;
      }
    }
  }
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
 * In place: scale, causal mask and row softmax of attention scores `[T, T]` (f64 sums).
 * Row p keeps columns 0..p.
 */
export function causalSoftmax(scores: Float32Array, offset: number, T: number, scale: number): void {
  for (let p = 0; p < T; p++) {
    const o = offset + p * T;
    let max = -Infinity;
    for (let j = 0; j <= p; j++) max = Math.max(max, (scores[o + j] as number) * scale);
    let sum = 0;
    for (let j = 0; j <= p; j++) {
      const e = Math.exp((scores[o + j] as number) * scale - max);
      scores[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j <= p; j++) scores[o + j] = (scores[o + j] as number) * inv;
    for (let j = p + 1; j < T; j++) scores[o + j] = 0;
  }
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
