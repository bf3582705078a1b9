// SPDX-License-Identifier: MIT
/**
 * Fusing transforms into weights: RMSNorm-scale folding and the weight-side products of a
 * rotation, for Llama-family models (RMSNorm, so no mean subtraction to absorb). Biases are
 * output-side: a rotation of a linear's input leaves its bias alone, a rotation of its output
 * rotates the bias with it ({@link rotateBias}).
 *
 * Symbols: W `[out, in]` (y = x·Wᵀ), γ `[d]` an RMSNorm scale, R an orthogonal `[n, n]`.
 * - Norm folding: `RMSNorm(h)·diag(γ)·Wᵀ = RMSNorm(h)·(W·diag(γ))ᵀ`, so `W ← W·diag(γ)` for every
 *   linear reading the norm, then `γ ← 1` (QuaRot `fuse_layer_norms`, arXiv:2404.00456 §4).
 *   RMSNorm without scale commutes with an orthogonal R (‖h·R‖ = ‖h‖), which is what makes
 *   the residual-stream rotation possible.
 * - A linear reading a rotated input x·R: `W ← W·R` ({@link rotateInputSide}); a linear writing
 *   into a rotated space: `W ← Rᵀ·W` ({@link rotateOutputSide}).
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import { transpose } from "../tensor/manip.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { LlamaConfig } from "../model/config.ts";
import { LlamaModel } from "../model/llama.ts";
import { HookedLlamaModel } from "./hooked_model.ts";
import type { Rotation } from "./rotation.ts";

/** W·diag(s): column j of W f32 `[out, in]` times s[j] (s `[in]`); returns a new tensor. */
export function scaleColumns(W: Tensor<"f32">, s: ArrayLike<number>): Tensor<"f32"> {
  const [rows, cols] = W.shape as [number, number];
  if (W.rank !== 2 || s.length !== cols) {
    throw new TypeError(`scaleColumns: Cannot scale W of shape [${W.shape.join(", ")}] by ${s.length} column scales`);
  }
  const out = new Float32Array(rows * cols); // [out, in]
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) out[r * cols + j] = (W.data[r * cols + j] as number) * (s[j] as number);
  }
  return new Tensor("f32", [rows, cols], out);
}

/** diag(s)·W: row i of W f32 `[out, in]` times s[i] (s `[out]`); returns a new tensor. */
export function scaleRows(W: Tensor<"f32">, s: ArrayLike<number>): Tensor<"f32"> {
  const [rows, cols] = W.shape as [number, number];
  if (W.rank !== 2 || s.length !== rows) {
    throw new TypeError(`scaleRows: Cannot scale W of shape [${W.shape.join(", ")}] by ${s.length} row scales`);
  }
  const out = new Float32Array(rows * cols); // [out, in]
  for (let r = 0; r < rows; r++) {
    const f = s[r] as number;
    for (let j = 0; j < cols; j++) out[r * cols + j] = (W.data[r * cols + j] as number) * f;
  }
  return new Tensor("f32", [rows, cols], out);
}

/** W·R for a linear whose input is rotated: W f32 `[out, n]` → `[out, n]`. */
export function rotateInputSide(W: Tensor<"f32">, R: Rotation, ops: Ops): Promise<Tensor<"f32">> {
  return R.apply(W, ops);
}

/** Rᵀ·W = (Wᵀ·R)ᵀ for a linear whose output is rotated: W f32 `[n, in]` → `[n, in]`. */
export async function rotateOutputSide(W: Tensor<"f32">, R: Rotation, ops: Ops): Promise<Tensor<"f32">> {
  return transpose(await R.apply(transpose(W), ops));
}

/**
 * Applies R2 to every head-sized block of the input side: W f32 `[out, H·hd]` → `W_h ← W_h·R2`
 * for each head block h (o_proj reading per-head rotated attention outputs).
 */
export async function rotateInputHeads(W: Tensor<"f32">, R2: Rotation, ops: Ops): Promise<Tensor<"f32">> {
  const [rows, cols] = W.shape as [number, number];
  const hd = R2.n;
  if (cols % hd !== 0) {
    throw new TypeError(`rotateInputHeads: Cannot split ${cols} input columns into heads of ${hd}`);
  }
  const Y = await R2.apply(new Tensor("f32", [(rows * cols) / hd, hd], W.data), ops); // [out·H, hd]
  return new Tensor("f32", [rows, cols], Y.data);
}

/** Applies R2ᵀ to every head-sized block of output rows: W f32 `[H·hd, in]` → `W_h ← R2ᵀ·W_h`. */
export async function rotateOutputHeads(W: Tensor<"f32">, R2: Rotation, ops: Ops): Promise<Tensor<"f32">> {
  return transpose(await rotateInputHeads(transpose(W), R2, ops));
}

/**
 * b·R for the bias of a linear whose output is rotated (y' = y·R = x·(Rᵀ·W)ᵀ + b·R): b f32 `[n]` → `[n]`.
 * The output-side partner of {@link rotateOutputSide}; input-side rotations leave biases alone.
 */
export async function rotateBias(b: Tensor<"f32">, R: Rotation, ops: Ops): Promise<Tensor<"f32">> {
  return new Tensor("f32", b.shape, (await R.apply(new Tensor("f32", [1, b.size], b.data), ops)).data);
}

/** b_h·R2 for every head-sized block of a bias b f32 `[H·hd]` (the partner of {@link rotateOutputHeads}). */
export async function rotateBiasHeads(b: Tensor<"f32">, R2: Rotation, ops: Ops): Promise<Tensor<"f32">> {
  return new Tensor("f32", b.shape, (await rotateInputHeads(new Tensor("f32", [1, b.size], b.data), R2, ops)).data);
}

/** A model of the same class as `like` (keeping a HookedLlamaModel's online steps) with new weights. */
export function rebuildModel(
  like: LlamaModel,
  weights: ReadonlyMap<string, Tensor<"f32">>,
  config: LlamaConfig = like.config,
  source: string = like.source,
): LlamaModel {
  if (like instanceof HookedLlamaModel) {
    return new HookedLlamaModel(config, weights, like.ops, source, like.online, like.rotations);
  }
  return new LlamaModel(config, weights, like.ops, source);
}

function ones(d: number): Tensor<"f32"> {
  return new Tensor("f32", [d], new Float32Array(d).fill(1));
}

/**
 * Folds every RMSNorm scale into the linears that read it and sets the norm weights to ones:
 * input_layernorm → q/k/v, post_attention_layernorm → gate/up, model.norm → lm_head. A model
 * with tied embeddings is untied (lm_head gets its own folded copy) because the embedding and
 * the head no longer share a matrix. Logits are unchanged (up to f32 rounding).
 *
 * q/k/v biases stay as they are (γ scales the linears' input columns, a bias is added after).
 * Qwen3's per-head q_norm/k_norm are not folded and stay in the model: they normalise the
 * projection *outputs* per head, and RoPE comes after them, so their scale cannot move into
 * q_proj/k_proj (RMSNorm(q)·γ ≠ RMSNorm(q·diag(γ))) nor past RoPE into anything else.
 *
 * @param model a Llama-family model
 * @returns a model of the same class with folded weights
 *
 * @example
 * ```ts ignore
 * const folded = foldNorms(model);
 * await checkInvariance(model, folded, probeIds, 64); // passes
 * ```
 */
export function foldNorms(model: LlamaModel): LlamaModel {
  const c = model.config, d = c.hiddenSize;
  const w = new Map(model.weights);
  const fold = (norm: string, linears: string[]) => {
    const g = model.weights.get(norm);
    if (!g) return; // scale already absent: nothing to fold
    for (const name of linears) w.set(name, scaleColumns(w.get(name) ?? model.weight(name), g.data));
    w.set(norm, ones(d));
  };
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    fold(`${p}.input_layernorm.weight`, ["q_proj", "k_proj", "v_proj"].map((n) => `${p}.self_attn.${n}.weight`));
    fold(`${p}.post_attention_layernorm.weight`, ["gate_proj", "up_proj"].map((n) => `${p}.mlp.${n}.weight`));
  }
  let config = c;
  if (c.tieWordEmbeddings) {
    w.set("lm_head.weight", model.weight("model.embed_tokens.weight"));
    config = { ...c, tieWordEmbeddings: false };
  }
  fold("model.norm.weight", ["lm_head.weight"]);
  return rebuildModel(model, w, config);
}
