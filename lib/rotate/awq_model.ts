// SPDX-License-Identifier: MIT
/**
 * AWQ applied to a Llama-family model (llm-awq `run_awq` / `auto_scale_block` for Llama):
 * per decoder block, four scale groups, each folded into the operation before it —
 *
 * | input of            | linears           | s folded into (÷ s)          |
 * |---------------------|-------------------|------------------------------|
 * | input_layernorm     | q, k, v           | the norm weight γ            |
 * | v_proj output       | o_proj            | v_proj rows + bias (H = KV)  |
 * | post_attention_ln   | gate, up          | the norm weight γ            |
 * | up_proj output      | down_proj         | up_proj rows + bias          |
 *
 * then (optionally) the clip search on every linear but q/k (llm-awq skips them: their errors
 * are amplified by the attention softmax). Scaling alone leaves the full-precision function
 * unchanged; clipping changes weights by design. The result is a full-precision model "ready
 * for any quantizer" (RTN, GPTQ, …) — AWQ itself does not quantize.
 *
 * Simplifications, documented: the scale objective is the output error of the group's linears
 * (not of the whole attention/MLP block), and all block inputs come from one full-precision
 * pass (llm-awq re-runs each block after clipping the previous ones). The up→down group is
 * skipped on models with an online transform before down_proj (QuaRot's R4), where scaling
 * up_proj's rows would not commute with it.
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { LlamaModel } from "../model/llama.ts";
import { hasBias } from "../model/config.ts";
import type { IntSpec } from "../quant/spec.ts";
import { captureActivations } from "../calib/capture.ts";
import { type AccumulatedStats, meanAbsAccumulator, xtxAccumulator } from "../calib/accumulators/mod.ts";
import { awqClipSearch, type AwqInputStats, awqScaleSearch, type FakeQuantizer, rtnFakeQuantizer } from "./awq.ts";
import { scaleColumns, scaleRows } from "./fuse.ts";
import { HookedLlamaModel } from "./hooked_model.ts";

/** AWQ's statistics of a linear's input: mean |x| (the scales) and ΣXᵀX (the output error). */
const AWQ_STATS = { meanAbs: meanAbsAccumulator(), xtx: xtxAccumulator({ form: "sum" }) };
type LinearInputStats = AccumulatedStats<typeof AWQ_STATS>;

/** Options of {@link awqModel}. */
export interface AwqModelOptions {
  /** The format AWQ tunes for (its pseudo-quantizer and the clip search's groups). */
  spec: IntSpec;
  /** Tokens per calibration sequence. */
  seqLen: number;
  /** Grid points of the α search and of the clip search (default 20). */
  nGrid?: number;
  /** Run the clip search (default true). */
  clip?: boolean;
  /** Largest clip shrink (default 0.5). */
  maxShrink?: number;
  /** Quantizer for the scale search (default: RTN min–max with `spec`). */
  quantize?: FakeQuantizer;
  /** Backend (default: the model's). */
  ops?: Ops;
}

/** One scale group's search result. */
export interface AwqGroupRow {
  /** The operation s is folded into, e.g. `model.layers.0.input_layernorm`. */
  prev: string;
  /** Linears the scales multiply. */
  linears: string[];
  /** Chosen α. */
  alpha: number;
  /** Output error without scaling and with the chosen scales. */
  baseLoss: number;
  /** Output error with the chosen scales (≤ baseLoss). */
  loss: number;
}

/** Result of {@link awqModel}. */
export interface AwqModelResult {
  /** The transformed full-precision model. */
  model: LlamaModel;
  /** f32 scales per `prev` name. */
  scales: Map<string, Float32Array>;
  /** Per scale group: the search result. */
  groups: AwqGroupRow[];
  /** Per clipped linear: output error before/after clipping (sum over groups, per token). */
  clips: { name: string; lossBefore: number; lossAfter: number }[];
}

function scaledStats(s: LinearInputStats, scale: Float32Array): AwqInputStats {
  // X' = X·diag(1/s): mean|X'| = mean|X|/s, X'ᵀX' = diag(1/s)·XᵀX·diag(1/s)
  const n = scale.length, H = s.xtx as Tensor<"f64">, out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      out[i * n + j] = (H.data[i * n + j] as number) / ((scale[i] as number) * (scale[j] as number));
    }
  }
  return {
    meanAbs: Float64Array.from(s.meanAbs, (v, j) => v / (scale[j] as number)),
    xtx: new Tensor("f64", [n, n], out),
    tokens: s.tokens,
  };
}

/**
 * Runs AWQ's scale search (and clip search) on every decoder block and folds the results.
 *
 * @param model the full-precision model
 * @param calibIds calibration token ids `[n·seqLen]`
 * @returns the transformed model, the scales and the per-group search results
 *
 * @example
 * ```ts ignore
 * const spec = { format: "int", bits: 4, groupSize: 128, symmetric: false } as const;
 * const { model: awq } = await awqModel(model, calibIds, { spec, seqLen: 256 });
 * const { model: w4 } = await quantizeModelWeights(awq, async (_n, W) => (await quantizeRtn(W, spec, { ops })).weight);
 * ```
 */
export async function awqModel(
  model: LlamaModel,
  calibIds: ArrayLike<number>,
  options: AwqModelOptions,
): Promise<AwqModelResult> {
  const c = model.config, ops = options.ops ?? model.ops;
  const quantize = options.quantize ?? rtnFakeQuantizer(options.spec, ops);
  const hasR4 = model instanceof HookedLlamaModel && model.rotations.r4 !== undefined;
  type Group = { prev: string; prevKind: "norm" | "rows"; input: string; linears: string[] };
  const groups: Group[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`, a = `${p}.self_attn`, m = `${p}.mlp`;
    groups.push({
      prev: `${p}.input_layernorm`,
      prevKind: "norm",
      input: `${a}.q_proj`,
      linears: ["q", "k", "v"].map((x) => `${a}.${x}_proj`),
    });
    if (c.numHeads === c.numKvHeads) {
      groups.push({ prev: `${a}.v_proj`, prevKind: "rows", input: `${a}.o_proj`, linears: [`${a}.o_proj`] });
    }
    groups.push({
      prev: `${p}.post_attention_layernorm`,
      prevKind: "norm",
      input: `${m}.gate_proj`,
      linears: [`${m}.gate_proj`, `${m}.up_proj`],
    });
    if (!hasR4) {
      groups.push({ prev: `${m}.up_proj`, prevKind: "rows", input: `${m}.down_proj`, linears: [`${m}.down_proj`] });
    }
  }
  const stats = await captureActivations(model, calibIds, options.seqLen, {
    names: groups.map((g) => g.input),
    accumulators: AWQ_STATS,
    ops,
  });
  const cur = new Map<string, Tensor<"f32">>();
  const get = (name: string) => cur.get(name) ?? model.weight(name);
  const scales = new Map<string, Float32Array>();
  const rows: AwqGroupRow[] = [];
  const inputScale = new Map<string, { stats: LinearInputStats; s: Float32Array }>(); // per linear
  for (const g of groups) {
    const st = stats.get(g.input);
    if (!st || !st.xtx) throw new RangeError(`awqModel: Cannot find input statistics of "${g.input}"`);
    const Ws = g.linears.map((n) => get(`${n}.weight`));
    const r = await awqScaleSearch(st as AwqInputStats, Ws, {
      quantize,
      ops,
      ...(options.nGrid ? { nGrid: options.nGrid } : {}),
    });
    const s = r.scale, inv = s.map((v) => 1 / v);
    g.linears.forEach((n, i) => {
      cur.set(`${n}.weight`, scaleColumns(Ws[i] as Tensor<"f32">, s));
      inputScale.set(n, { stats: st, s });
    });
    const prevName = `${g.prev}.weight`;
    if (g.prevKind === "norm") {
      const gamma = get(prevName);
      cur.set(prevName, new Tensor("f32", gamma.shape, gamma.data.map((v, j) => v * (inv[j] as number))));
    } else {
      cur.set(prevName, scaleRows(get(prevName), inv));
      // The bias moves with its output channel: (x·Wᵀ + b)/s = x·(diag(1/s)·W)ᵀ + b/s.
      if (hasBias(c, g.prev)) {
        const b = get(`${g.prev}.bias`);
        cur.set(`${g.prev}.bias`, new Tensor("f32", b.shape, b.data.map((v, j) => v * (inv[j] as number))));
      }
    }
    scales.set(g.prev, s);
    rows.push({ prev: g.prev, linears: g.linears, alpha: r.alpha, baseLoss: r.baseLoss, loss: r.loss });
  }
  const clips: AwqModelResult["clips"] = [];
  if (options.clip ?? true) {
    for (const [name, { stats: st, s }] of inputScale) {
      if (/\.(q|k)_proj$/.test(name)) continue;
      const res = await awqClipSearch(get(`${name}.weight`), scaledStats(st, s), options.spec, {
        ops,
        ...(options.nGrid ? { nGrid: options.nGrid } : {}),
        ...(options.maxShrink ? { maxShrink: options.maxShrink } : {}),
      });
      cur.set(`${name}.weight`, res.weight);
      clips.push({ name, lossBefore: res.lossBefore, lossAfter: res.lossAfter });
    }
  }
  return { model: model.withWeights(cur), scales, groups: rows, clips };
}
