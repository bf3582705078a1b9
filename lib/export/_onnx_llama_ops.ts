// SPDX-License-Identifier: MIT
/**
 * The pieces of a Llama-family decoder as ONNX subgraphs of plain ai.onnx (opset 18) operators,
 * each computing what lib/model computes (layers.ts, rope.ts, _attention.ts):
 *
 * - RMSNorm `x · (mean(x²) + eps)^−½ · w` over the last axis (also per head: Qwen3's q/k norms);
 * - RoPE in transformers' `rotate_half` layout, `x·cos + rotate_half(x)·sin` with
 *   angle(p, i) = p · ω_i from `position_ids` and the baked inverse frequencies ω (rope.ts);
 * - the attention mask from `attention_mask` (padding) and the absolute query positions
 *   `past + i` (causal; a sliding window W keeps keys j with i − W < j), shared by all layers;
 * - grouped-query attention without copying KV heads: the H query heads are viewed as
 *   `[KV, H/KV]` and broadcast against the KV heads (head h reads KV head ⌊h / (H/KV)⌋, as
 *   transformers' `repeat_kv`), masked scores set to the f32 minimum before the softmax.
 *
 * Shapes: B batch, S new tokens, P past tokens, L = P + S, H query heads, KV key/value heads,
 * R = H/KV, hd head dimension, d hidden size.
 *
 * @module
 */
import { attr } from "../onnx/tensor_proto.ts";
import { DataType } from "../onnx/proto.ts";
import type { OnnxGraphBuilder } from "./_onnx_graph.ts";

/** The most negative f32: what a masked attention score becomes (transformers' `finfo.min`). */
const F32_MIN = -3.4028234663852886e38;

/**
 * RMSNorm over the last axis.
 *
 * @param x value `[..., n]`
 * @param weight initializer name of the scale f32 `[n]`
 * @returns the normed value `[..., n]`
 */
export function onnxRmsNorm(g: OnnxGraphBuilder, x: string, weight: string, eps: number, name: string): string {
  const ms = g.op("ReduceMean", [g.op("Mul", [x, x]), g.i64([-1])], { attrs: [attr.int("keepdims", 1)] });
  const inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [ms, g.scalar(eps)])])]);
  return g.op("Mul", [g.op("Mul", [x, inv]), weight], { name });
}

/** cos and sin of the rotary angles, each f32 `[B, 1, S, hd]` (broadcast over heads). */
export interface OnnxRope {
  /** cos(angle), `[B, 1, S, hd]`. */
  cos: string;
  /** sin(angle), `[B, 1, S, hd]`. */
  sin: string;
  /** hd/2. */
  half: number;
}

/**
 * The rotary tables of the positions `position_ids` int64 `[B, S]`: angle(p, i) = f32(p · ω_i)
 * repeated for both halves (transformers' `cat((freqs, freqs), -1)`).
 *
 * @param invFreq initializer name of ω f32 `[hd/2]`
 */
export function onnxRopeTables(g: OnnxGraphBuilder, positionIds: string, invFreq: string, half: number): OnnxRope {
  const pos = g.op("Unsqueeze", [g.op("Cast", [positionIds], { attrs: [attr.int("to", DataType.FLOAT)] }), g.i64([2])]);
  const freqs = g.op("Mul", [pos, invFreq], { name: "rope.angles" }); // [B, S, hd/2]
  const emb = g.op("Concat", [freqs, freqs], { attrs: [attr.int("axis", -1)] }); // [B, S, hd]
  const heads = g.i64([1]);
  return {
    cos: g.op("Unsqueeze", [g.op("Cos", [emb]), heads], { name: "rope.cos" }),
    sin: g.op("Unsqueeze", [g.op("Sin", [emb]), heads], { name: "rope.sin" }),
    half,
  };
}

/** RoPE of x `[B, heads, S, hd]`: `x·cos + rotate_half(x)·sin`, rotate_half(x) = (−x₂, x₁). */
export function onnxApplyRope(g: OnnxGraphBuilder, x: string, rope: OnnxRope, name: string): string {
  const [x1, x2] = g.opN("Split", [x, g.i64([rope.half, rope.half])], 2, { attrs: [attr.int("axis", -1)] }) as [
    string,
    string,
  ];
  const rotated = g.op("Concat", [g.op("Neg", [x2]), x1], { attrs: [attr.int("axis", -1)] });
  return g.op("Add", [g.op("Mul", [x, rope.cos]), g.op("Mul", [rotated, rope.sin])], { name });
}

/**
 * Which keys each query may attend: bool `[B, 1, 1, S, L]` (broadcast against scores
 * `[B, KV, R, S, L]`), true where key j is not padding (`attention_mask[b, j] = 1`) and
 * j ≤ P + i (causal, P = L − S), and with `window` W also P + i − W < j.
 *
 * @param inputIds `[B, S]` (only its shape is read)
 * @param attentionMask int64 `[B, L]`
 */
export function onnxAttentionMask(
  g: OnnxGraphBuilder,
  inputIds: string,
  attentionMask: string,
  window: number | null,
): string {
  const dim = (x: string, axis: number) => g.op("Gather", [g.op("Shape", [x]), g.i64([axis], true)]);
  const S = dim(inputIds, 1), L = dim(attentionMask, 1);
  const P = g.op("Sub", [L, S], { name: "mask.past_length" });
  const one = g.i64([1], true);
  const keys = g.op("Range", [g.i64([0], true), L, one], { name: "mask.key_positions" }); // [L]
  const queries = g.op("Unsqueeze", [g.op("Range", [P, L, one]), g.i64([1])], { name: "mask.query_positions" }); // [S, 1]
  let allowed = g.op("LessOrEqual", [keys, queries], { name: "mask.causal" }); // [S, L]
  if (window !== null) {
    const inWindow = g.op("Greater", [keys, g.op("Sub", [queries, g.i64([window], true)])]);
    allowed = g.op("And", [allowed, inWindow], { name: "mask.sliding" });
  }
  const notPad = g.op("Unsqueeze", [
    g.op("Cast", [attentionMask], { attrs: [attr.int("to", DataType.BOOL)] }),
    g.i64([1, 2, 3]),
  ]); // [B, 1, 1, 1, L]
  return g.op("And", [allowed, notPad], { name: window === null ? "mask.full" : `mask.window${window}` });
}

/** Dimensions of {@link onnxAttention}. */
export interface OnnxAttentionDims {
  /** Query heads H. */
  H: number;
  /** Key/value heads KV (divides H). */
  KV: number;
  /** Head dimension hd. */
  hd: number;
}

/**
 * softmax(q·kᵀ·hd^−½ masked)·v for all heads.
 *
 * @param q queries after RoPE `[B, H, S, hd]`
 * @param k keys of all positions (past and new) `[B, KV, L, hd]`
 * @param v values of all positions `[B, KV, L, hd]`
 * @param mask bool `[B, 1, 1, S, L]` from {@link onnxAttentionMask}
 * @returns `[B, S, H·hd]` (the o_proj input)
 */
export function onnxAttention(
  g: OnnxGraphBuilder,
  q: string,
  k: string,
  v: string,
  mask: string,
  dims: OnnxAttentionDims,
  name: string,
): string {
  const { H, KV, hd } = dims, R = H / KV;
  const q5 = g.op("Reshape", [q, g.i64([0, KV, R, -1, hd])]); // [B, KV, R, S, hd]
  const kT = g.op("Transpose", [g.op("Unsqueeze", [k, g.i64([2])])], { attrs: [attr.ints("perm", [0, 1, 2, 4, 3])] }); // [B, KV, 1, hd, L]
  const scores = g.op("Mul", [g.op("MatMul", [q5, kT]), g.scalar(1 / Math.sqrt(hd))]); // [B, KV, R, S, L]
  const masked = g.op("Where", [mask, scores, g.scalar(F32_MIN)]);
  const probs = g.op("Softmax", [masked], { attrs: [attr.int("axis", -1)], name: `${name}.probs` });
  const o5 = g.op("MatMul", [probs, g.op("Unsqueeze", [v, g.i64([2])])]); // [B, KV, R, S, hd]
  const o = g.op("Transpose", [g.op("Reshape", [o5, g.i64([0, H, -1, hd])])], {
    attrs: [attr.ints("perm", [0, 2, 1, 3])],
  }); // [B, S, H, hd]
  return g.op("Reshape", [o, g.i64([0, 0, H * hd])], { name }); // [B, S, H·hd]
}

/** SwiGLU: `silu(gate) ⊙ up`, silu(x) = x · σ(x). */
export function onnxSwiglu(g: OnnxGraphBuilder, gate: string, up: string, name: string): string {
  return g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up], { name });
}
