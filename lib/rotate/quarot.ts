// SPDX-License-Identifier: MIT
/**
 * QuaRot-style rotation of a Llama-family model (Ashkboos et al., arXiv:2404.00456; rotation
 * names from SpinQuant, arXiv:2405.16406). Checked against spcl/QuaRot `rotation_utils.py`
 * (`fuse_layer_norms`, `rotate_*`) and `hadamard_utils.py`.
 *
 * Steps, with W `[out, in]`, hidden states as rows, h' = h·R1:
 * 1. fold every RMSNorm scale into the linears that read it ({@link foldNorms});
 * 2. R1 `[d, d]` on the residual stream: `E ← E·R1` (embeddings), `W ← W·R1` for q/k/v/gate/up
 *    and lm_head (inputs), `W ← R1ᵀ·W` for o_proj/down_proj (outputs into the stream);
 * 3. R2 `[hd, hd]` per head between V and O: `W_v,h ← R2ᵀ·W_v,h` (output rows of each value
 *    head), `W_o[:, h] ← W_o[:, h]·R2` (attention is linear in V per head, so o_h' = o_h·R2);
 * 4. R4 `[ffn, ffn]` (Hadamard) before down_proj: `W_down ← W_down·R4` fused, and the online
 *    step `x ← x·R4` on the down_proj input — a forward-pass hook;
 * 5. R3 `[hd, hd]` (Hadamard) on queries and keys after RoPE, online: `q·R3·(k·R3)ᵀ = q·kᵀ`;
 *    it changes no weight and exists to make the KV cache quantizable.
 *
 * All five leave the full-precision function unchanged; `checkInvariance` verifies it. The
 * result is a {@link HookedLlamaModel} carrying the online steps and the rotations.
 *
 * Biases (Qwen2 q/k/v; Llama/Qwen3 with `attention_bias`; Llama `mlp_bias`) move with their
 * output channels: R1 on the input side of q/k/v/gate/up leaves their biases alone, the o_proj
 * and down_proj biases are written into the stream so `b ← b·R1`, and the v_proj bias turns with
 * its head, `b_v,h ← b_v,h·R2` (softmax rows sum to 1, so the bias passes through attention).
 *
 * Q/K norms (Qwen3's per-head `q_norm`/`k_norm`, RMSNorm over hd before RoPE): R1 acts on the
 * residual-stream (input) side of q_proj/k_proj, so `q = (h·R1)·(W_q·R1)ᵀ = h·W_qᵀ` and the norms
 * see exactly the original projections: they stay untouched, in full precision, unfolded. R3 is
 * applied online after RoPE, i.e. after the norms, and is unchanged. What cannot be done is a
 * fused per-head rotation of Q/K *before* the norm (its γ and RoPE do not commute with a
 * rotation), so, as QuaRot does for Q/K, the only Q/K rotation is the online R3. Implementations
 * of QuaRot/SpinQuant for Qwen3 do the same.
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { ForwardHooks, LlamaModel } from "../model/llama.ts";
import { hasBias, linearNames } from "../model/config.ts";
import { hadamardRotation } from "./hadamard.ts";
import { orthogonalRotation } from "./orthogonal.ts";
import type { Rotation } from "./rotation.ts";
import { type AppliedRotations, HookedLlamaModel } from "./hooked_model.ts";
import {
  foldNorms,
  rotateBias,
  rotateBiasHeads,
  rotateInputHeads,
  rotateInputSide,
  rotateOutputHeads,
  rotateOutputSide,
} from "./fuse.ts";

/** How to build R1 or R2: a randomized Hadamard, a random orthogonal matrix, or a given rotation. */
export type RotationChoice = "hadamard" | "orthogonal" | Rotation;

/** Options of {@link quarotRotate}. */
export interface QuarotOptions {
  /** Residual rotation R1 `[d, d]` (default "hadamard": seeded random signs). */
  r1?: RotationChoice;
  /** Per-head V/O rotation R2 `[hd, hd]` (default "hadamard"); false skips it. */
  r2?: RotationChoice | false;
  /** Online Hadamard on Q/K after RoPE (default true). */
  r3?: boolean;
  /** Online Hadamard before down_proj, fused into W_down (default true). */
  r4?: boolean;
  /** Seed of the random R1 (R2 uses seed + 1). Default 0. */
  seed?: number;
  /** Backend for the weight products and the online steps (default: the model's). */
  ops?: Ops;
}

function choose(choice: RotationChoice, n: number, seed: number, what: string): Rotation {
  if (choice === "hadamard") return hadamardRotation(n, { seed });
  if (choice === "orthogonal") return orthogonalRotation(n, { seed });
  if (choice.n !== n) {
    throw new TypeError(`quarotRotate: Cannot use a rotation of size ${choice.n} as ${what}: expected ${n}`);
  }
  return choice;
}

/** Online steps: R4 on the down_proj input, R3 on each head of q and k. */
function onlineHooks(r3: Rotation | undefined, r4: Rotation | undefined, ops: Ops): ForwardHooks {
  const hooks: ForwardHooks = {};
  if (r4) {
    hooks.linearInput = (name, X) => (name.endsWith(".mlp.down_proj") ? r4.apply(X, ops) : undefined);
  }
  if (r3) {
    const rotateHeads = async (x: Float32Array, rows: number, hd: number) => {
      const Y = await r3.apply(new Tensor("f32", [rows, hd], x), ops); // [T·heads, hd], a view of x
      x.set(Y.data);
    };
    hooks.queryKey = async (_layer, q, k, T, H, KV, hd) => {
      await rotateHeads(q, T * H, hd);
      await rotateHeads(k, T * KV, hd);
    };
  }
  return hooks;
}

/**
 * Rotates a Llama-family model QuaRot-style (see the module doc).
 *
 * @param model the full-precision model (not already rotated)
 * @param options rotation kinds, seed, online steps, backend
 * @returns a {@link HookedLlamaModel} with fused weights, the online R3/R4 steps and
 *   `rotations` (R1 for mapping hidden states back: h = h'·R1ᵀ)
 * @throws {TypeError} when the model already carries online steps, or a given rotation has the
 *   wrong size; {RangeError} when a size has no Hadamard matrix (see `hadamardSizeFactors`)
 *
 * @example
 * ```ts ignore
 * const rotated = await quarotRotate(model, { seed: 0 });
 * const report = await checkInvariance(model, rotated, probeIds, 64); // maxAbsDiff ~1e-5
 * ```
 */
export async function quarotRotate(model: LlamaModel, options: QuarotOptions = {}): Promise<HookedLlamaModel> {
  if (model instanceof HookedLlamaModel) {
    throw new TypeError(
      `quarotRotate: Cannot rotate "${model.source}": it already carries online forward steps; rotate the original model`,
    );
  }
  const c = model.config, ops = options.ops ?? model.ops, seed = options.seed ?? 0;
  const r1 = choose(options.r1 ?? "hadamard", c.hiddenSize, seed, "R1");
  const r2Choice = options.r2 ?? "hadamard";
  const r2 = r2Choice === false ? undefined : choose(r2Choice, c.headDim, seed + 1, "R2");
  const r3 = options.r3 === false ? undefined : hadamardRotation(c.headDim);
  const r4 = options.r4 === false ? undefined : hadamardRotation(c.intermediateSize);

  const folded = foldNorms(model); // unties tied embeddings
  const w = new Map(folded.weights);
  const get = (name: string) => folded.weight(`${name}.weight`);
  const set = (name: string, W: Tensor<"f32">) => w.set(`${name}.weight`, W);
  w.set("model.embed_tokens.weight", await r1.apply(folded.weight("model.embed_tokens.weight"), ops));
  set("lm_head", await rotateInputSide(get("lm_head"), r1, ops));
  for (let l = 0; l < c.numLayers; l++) {
    const [q, k, v, o, gate, up, down] = linearNames(l) as [string, string, string, string, string, string, string];
    for (const name of [q, k, gate, up]) set(name, await rotateInputSide(get(name), r1, ops));
    let Wv = await rotateInputSide(get(v), r1, ops);
    let Wo = await rotateOutputSide(get(o), r1, ops);
    if (r2) {
      Wv = await rotateOutputHeads(Wv, r2, ops);
      Wo = await rotateInputHeads(Wo, r2, ops);
    }
    set(v, Wv);
    set(o, Wo);
    let Wd = await rotateOutputSide(get(down), r1, ops);
    if (r4) Wd = await rotateInputSide(Wd, r4, ops);
    set(down, Wd);
    // Output-side biases turn with their outputs; input-side rotations leave q/k/gate/up biases alone.
    const bias = (name: string) => folded.weight(`${name}.bias`);
    if (r2 && hasBias(c, v)) w.set(`${v}.bias`, await rotateBiasHeads(bias(v), r2, ops));
    for (const name of [o, down]) {
      if (hasBias(c, name)) w.set(`${name}.bias`, await rotateBias(bias(name), r1, ops));
    }
  }
  const rotations: AppliedRotations = { r1 };
  if (r2) rotations.r2 = r2;
  if (r3) rotations.r3 = r3;
  if (r4) rotations.r4 = r4;
  const label = [r1.description, r2?.description, r3 ? "R3 online" : "", r4 ? "R4 online" : ""].filter(Boolean);
  return new HookedLlamaModel(
    folded.config,
    w,
    model.ops,
    `${model.source} · quarot(${label.join(", ")})`,
    onlineHooks(r3, r4, ops),
    rotations,
  );
}
