// SPDX-License-Identifier: MIT
/**
 * The building blocks of a Llama-family decoder on the CPU, written as plain loops over
 * row-major f32 data: RMSNorm (per row and per head), bias addition, SwiGLU, the residual
 * addition. Each writes into a caller's buffer (`out`, or in place) when given one, so the
 * forward pass reuses its memory. Rotary embeddings live in `rope.ts`, attention in
 * `_attention.ts`; linear layers go through `ops.matmul`.
 *
 * Symbols: T tokens of one sequence, d hidden size, hd head dimension.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { fastExp } from "./_fast_math.ts";
import { simdKernels } from "./_simd_kernels.ts";

/**
 * RMSNorm, as Hugging Face Llama: `x · rsqrt(mean(x²) + eps) · weight`, per row.
 * @param x f32 `[tokens, d]`
 * @param weight f32 `[d]`, or undefined when the scale was folded into the next linear
 * @param eps the model's rms_norm_eps
 * @param out f32 `[tokens, d]` to write into (may be x itself: each row is read before it is
 *   written) instead of a new tensor
 * @returns f32 `[tokens, d]` (`out` when given)
 */
export function rmsNorm(
  x: Tensor<"f32">,
  weight: Tensor<"f32"> | undefined,
  eps: number,
  out?: Tensor<"f32">,
): Tensor<"f32"> {
  const [n, d] = x.shape as [number, number];
  if (out && out.size !== n * d) {
    throw new TypeError(`rmsNorm: Cannot write ${n}×${d} values into 'out' of ${out.size} elements`);
  }
  const result = out ?? new Tensor("f32", [n, d]);
  const dst = result.data, src = x.data, w = weight?.data;
  for (let r = 0; r < n; r++) {
    let ss = 0;
    const o = r * d;
    for (let j = 0; j < d; j++) ss += (src[o + j] as number) ** 2;
    const inv = Math.fround(1 / Math.sqrt(ss / d + eps));
    if (w) { for (let j = 0; j < d; j++) dst[o + j] = Math.fround((src[o + j] as number) * inv) * (w[j] as number); }
    else for (let j = 0; j < d; j++) dst[o + j] = (src[o + j] as number) * inv;
  }
  return result;
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
  const heads = new Tensor("f32", [x.size / weight.size, weight.size], x.data); // [rows·heads, hd], same memory
  rmsNorm(heads, weight, eps, heads);
}

/** Elements per SIMD SwiGLU call (two chunks fit the kernels' first 64 KiB page). */
const SWIGLU_CHUNK = 8192;

/**
 * SwiGLU: `silu(gate) ⊙ up = gate / (1 + e^−gate) · up`, elementwise: 4 lanes at a time in the
 * WebAssembly SIMD kernel where available (`_simd_kernels.ts`), else (and for a tail of fewer
 * than 4) with {@link fastExp}.
 * @param gate f32 `[tokens, ffn]`
 * @param up f32 `[tokens, ffn]`
 * @param out f32 of the same size to write into (may be gate or up) instead of a new tensor
 * @returns f32 `[tokens, ffn]` (`out` when given)
 */
export function swiglu(gate: Tensor<"f32">, up: Tensor<"f32">, out?: Tensor<"f32">): Tensor<"f32"> {
  if (up.size !== gate.size || (out && out.size !== gate.size)) {
    throw new TypeError(
      `swiglu: Cannot combine gate of ${gate.size}, up of ${up.size}${
        out ? ` into 'out' of ${out.size}` : ""
      } elements: sizes must match`,
    );
  }
  const result = out ?? new Tensor("f32", gate.shape);
  const g = gate.data, u = up.data, y = result.data;
  const simd = simdKernels();
  let done = 0;
  if (simd) {
    // chunks through the kernels' memory: [gate chunk | up chunk], result over the gate chunk
    simd.reserve(2 * SWIGLU_CHUNK);
    const mem = simd.f32, n4 = g.length & ~3;
    for (; done < n4; done += SWIGLU_CHUNK) {
      const len = Math.min(SWIGLU_CHUNK, n4 - done);
      mem.set(g.subarray(done, done + len), 0);
      mem.set(u.subarray(done, done + len), SWIGLU_CHUNK);
      simd.swiglu(0, 4 * SWIGLU_CHUNK, len);
      y.set(mem.subarray(0, len), done);
    }
    done = n4;
  }
  for (let i = done; i < g.length; i++) {
    const x = g[i] as number;
    y[i] = (x / (1 + fastExp(-x))) * (u[i] as number);
  }
  return result;
}

/** In place a += b (residual connection). */
export function addInPlace(a: Tensor<"f32">, b: Tensor<"f32">): void {
  const x = a.data, y = b.data;
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) + (y[i] as number);
}
