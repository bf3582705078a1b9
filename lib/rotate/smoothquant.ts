// SPDX-License-Identifier: MIT
/**
 * SmoothQuant (Xiao et al., arXiv:2211.10438, Eq. 4; checked against mit-han-lab/smoothquant
 * `smooth.py` `smooth_ln_fcs_llama_like`): per input channel j of the linears that share an
 * RMSNorm,
 *
 *     s_j = max|X_j|^α / max|W_{:,j}|^{1−α}      (both clamped to ≥ 1e-5, as the reference)
 *
 * then `X ← X·diag(s)^{-1}` folded into the norm (`γ ← γ / s`) and `W ← W·diag(s)` for each
 * linear reading it. q/k/v share `input_layernorm` and gate/up share
 * `post_attention_layernorm`, so they share one s whose weight term is the max over the group.
 * Outlier activation channels move into the weights, which makes per-token activation
 * quantization (W8A8) work. The full-precision function is unchanged. The scales act on the
 * linears' input columns, so q/k/v biases (Qwen2) and Qwen3's q/k norms, both on the output
 * side, stay as they are.
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { LlamaModel } from "../model/llama.ts";
import { captureActivations } from "../calib/capture.ts";
import { absmaxAccumulator } from "../calib/accumulators/absmax.ts";
import { scaleColumns } from "./fuse.ts";

/**
 * SmoothQuant scales for one group of linears reading the same input.
 *
 * @param xAbsmax f32 `[n]`: max |X[:, j]| over calibration tokens
 * @param weights the group's weights, each f32 `[out_i, n]`
 * @param alpha migration strength in [0, 1] (0.5 by default in the paper)
 * @returns f32 `[n]` scales s (X is divided by s, W multiplied)
 *
 * @example
 * ```ts
 * import { smoothQuantScales } from "./smoothquant.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const W = new Tensor("f32", [1, 2], new Float32Array([1, 4]));
 * const s = smoothQuantScales(new Float32Array([16, 1]), [W], 0.5);
 * assert.deepEqual(Array.from(s), [4, 0.5]); // √16/√1, √1/√4
 * ```
 */
export function smoothQuantScales(
  xAbsmax: Float32Array,
  weights: readonly Tensor<"f32">[],
  alpha: number,
): Float32Array {
  if (!(alpha >= 0 && alpha <= 1)) {
    throw new RangeError(`smoothQuantScales: Cannot use alpha ${alpha}: expected [0, 1]`);
  }
  const n = xAbsmax.length;
  const wmax = new Float64Array(n);
  for (const W of weights) {
    const [rows, cols] = W.shape as [number, number];
    if (W.rank !== 2 || cols !== n) {
      throw new TypeError(
        `smoothQuantScales: Cannot use a weight of shape [${W.shape.join(", ")}] with ${n} activation channels`,
      );
    }
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) wmax[j] = Math.max(wmax[j] as number, Math.abs(W.data[r * n + j] as number));
    }
  }
  const s = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const x = Math.max(xAbsmax[j] as number, 1e-5), w = Math.max(wmax[j] as number, 1e-5);
    s[j] = Math.max(x ** alpha / w ** (1 - alpha), 1e-5);
  }
  return s;
}

/** Options of {@link smoothQuant}. */
export interface SmoothQuantOptions {
  /** Migration strength α (default 0.5). */
  alpha?: number;
  /** Tokens per calibration sequence. */
  seqLen: number;
  /** Backend (default: the model's). */
  ops?: Ops;
  /** Precomputed input absmax per linear (`q_proj`, `gate_proj` names); skips the calibration pass. */
  absmax?: ReadonlyMap<string, Float32Array>;
}

/** Result of {@link smoothQuant}. */
export interface SmoothQuantResult {
  /** The smoothed model (same class as the input; full-precision function unchanged). */
  model: LlamaModel;
  /** f32 `[d]` scales per norm name (e.g. `model.layers.0.input_layernorm`). */
  scales: Map<string, Float32Array>;
}

/**
 * Applies SmoothQuant to every decoder block: input_layernorm → q/k/v and
 * post_attention_layernorm → gate/up.
 *
 * @param model the model (norm weights present)
 * @param calibIds calibration token ids `[n·seqLen]` (unused when `absmax` is given)
 * @returns the smoothed model and the scales
 *
 * @example
 * ```ts ignore
 * const { model: smoothed } = await smoothQuant(model, calibIds, { seqLen: 256, alpha: 0.5 });
 * await checkInvariance(model, smoothed, probeIds, 64);
 * ```
 */
export async function smoothQuant(
  model: LlamaModel,
  calibIds: ArrayLike<number>,
  options: SmoothQuantOptions,
): Promise<SmoothQuantResult> {
  const alpha = options.alpha ?? 0.5, c = model.config;
  const groups: { norm: string; input: string; linears: string[] }[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const attn = ["q_proj", "k_proj", "v_proj"].map((n) => `${p}.self_attn.${n}`);
    const mlp = ["gate_proj", "up_proj"].map((n) => `${p}.mlp.${n}`);
    groups.push({ norm: `${p}.input_layernorm`, input: attn[0] as string, linears: attn });
    groups.push({ norm: `${p}.post_attention_layernorm`, input: mlp[0] as string, linears: mlp });
  }
  let absmax = options.absmax;
  if (!absmax) {
    const stats = await captureActivations(model, calibIds, options.seqLen, {
      names: groups.map((g) => g.input),
      accumulators: { absmax: absmaxAccumulator() },
      ...(options.ops ? { ops: options.ops } : {}),
    });
    absmax = new Map([...stats].map(([name, s]) => [name, s.absmax]));
  }
  const overrides = new Map<string, Tensor<"f32">>();
  const scales = new Map<string, Float32Array>();
  for (const g of groups) {
    const xmax = absmax.get(g.input);
    if (!xmax) throw new RangeError(`smoothQuant: Cannot find activation absmax for "${g.input}"`);
    const Ws = g.linears.map((n) => model.weight(`${n}.weight`));
    const s = smoothQuantScales(xmax, Ws, alpha);
    const gamma = model.weights.get(`${g.norm}.weight`);
    const newGamma = new Float32Array(s.length);
    for (let j = 0; j < s.length; j++) newGamma[j] = (gamma ? (gamma.data[j] as number) : 1) / (s[j] as number);
    overrides.set(`${g.norm}.weight`, new Tensor("f32", [s.length], newGamma));
    g.linears.forEach((n, i) => overrides.set(`${n}.weight`, scaleColumns(Ws[i] as Tensor<"f32">, s)));
    scales.set(g.norm, s);
  }
  return { model: model.withWeights(overrides), scales };
}
