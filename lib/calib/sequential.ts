// SPDX-License-Identifier: MIT
/**
 * Sequential (block-by-block) calibration, as GPTQ's `llama_sequential` with
 * `true_sequential`: the inputs of block l come from the already-quantized blocks 0..l−1,
 * and inside a block the linears are quantized in forward-order groups — q/k/v, then o,
 * then gate/up, then down — re-capturing Hessians before each group so later sublayers see
 * the quantized earlier ones. After the block is done, the hidden states are propagated
 * through the quantized block.
 *
 * Model-agnostic core: the caller supplies `quantizeLayer(name, W, H, ctx)` (RTN, GPTQ, …).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { sliceRows } from "../tensor/manip.ts";
import type { Ops } from "../ops/ops.ts";
import type { ForwardHooks, LlamaModel } from "../model/llama.ts";
import { linearNames } from "../model/config.ts";
import { HessianCapture, StopForward } from "./_hessian_capture.ts";
import { checkCalibration } from "./capture.ts";
import { mse, sqnr, weightedError } from "./metrics.ts";

/** What `quantizeLayer` learns about the call. */
export interface SequentialContext {
  /** Block index. */
  layer: number;
  /** Index of the group within the block (0 = q/k/v, 1 = o, 2 = gate/up, 3 = down by default). */
  groupIndex: number;
  /** The names quantized together in this group. */
  group: readonly string[];
  /** Calibration tokens behind H. */
  tokens: number;
  /** Backend to use. */
  ops: Ops;
  /** The model as quantized so far (blocks < layer and earlier groups of this block). */
  model: LlamaModel;
}

/** Quantizes one linear given its weight f32 `[out, in]` and Hessian f64 `[in, in]`. */
export type LayerQuantizer<R extends { weight: Tensor<"f32"> }> = (
  name: string,
  W: Tensor<"f32">,
  H: Tensor<"f64">,
  ctx: SequentialContext,
) => Promise<R>;

/** One row per quantized linear. */
export interface SequentialLayerRow {
  /** Linear name (without `.weight`). */
  name: string;
  /** Block index. */
  layer: number;
  /** Group index within the block. */
  groupIndex: number;
  /** Output features. */
  rows: number;
  /** Input features. */
  cols: number;
  /** Weight MSE. */
  mse: number;
  /** Weight SQNR in dB. */
  sqnr: number;
  /** `Tr(ΔW H ΔWᵀ)` with the H this layer was quantized with. */
  weightedError: number;
  /** Wall seconds of `quantizeLayer` for this linear. */
  seconds: number;
}

/** Options of {@link sequentialQuantize}. */
export interface SequentialOptions {
  /** Sequences per block call (default 8). */
  batchSize?: number;
  /** Backend of the block forward and Hessian accumulation (default: the model's). */
  ops?: Ops;
  /** Groups of linear names per block, in order (default {@link llamaSequentialGroups}). */
  groups?: (layer: number) => string[][];
  /** Hooks applied inside the blocks (e.g. activation quantization), composed before capture. */
  hooks?: ForwardHooks;
  /** Called after each group with the layer, group index and its names. */
  onProgress?: (layer: number, groupIndex: number, group: readonly string[]) => void;
}

/** Result of {@link sequentialQuantize}. */
export interface SequentialResult<R> {
  /** The model with every quantized weight swapped in. */
  model: LlamaModel;
  /** One error row per linear, in quantization order. */
  layers: SequentialLayerRow[];
  /** What `quantizeLayer` returned, per linear name. */
  results: Map<string, R>;
}

/** GPTQ's `true_sequential` order: [q, k, v], [o], [gate, up], [down]. */
export function llamaSequentialGroups(layer: number): string[][] {
  const [q, k, v, o, gate, up, down] = linearNames(layer) as [string, string, string, string, string, string, string];
  return [[q, k, v], [o], [gate, up], [down]];
}

/**
 * Quantizes every decoder linear block by block on inputs from the quantized prefix.
 *
 * @param model the full-precision model
 * @param ids calibration token ids `[B·seqLen]`
 * @param seqLen tokens per sequence
 * @param quantizeLayer the per-linear quantizer (sees W `[out, in]` and H `[in, in]`)
 * @param options `batchSize`, `ops`, `groups`, `hooks`, `onProgress`
 * @returns the quantized model, one error row per linear, and each quantizer result
 * @throws {RangeError} on an empty calibration set or a bad seqLen
 *
 * @example
 * ```ts ignore
 * const { model: q, layers } = await sequentialQuantize(model, ids, 256, async (name, W, H) =>
 *   gptq(W, H, { bits: 4, groupSize: 128 }));
 * ```
 */
export async function sequentialQuantize<R extends { weight: Tensor<"f32"> }>(
  model: LlamaModel,
  ids: ArrayLike<number>,
  seqLen: number,
  quantizeLayer: LayerQuantizer<R>,
  options: SequentialOptions = {},
): Promise<SequentialResult<R>> {
  const fn = "sequentialQuantize";
  const { sequences } = checkCalibration(fn, model, ids, seqLen);
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`${fn}: Cannot use batchSize ${batchSize}: expected a positive integer`);
  }
  const ops = options.ops ?? model.ops;
  const groupsOf = options.groups ?? llamaSequentialGroups;
  const rowsPerBatch = batchSize * seqLen;
  // hidden [B·T, d], kept as batches so each block call sees batchSize sequences.
  const embedded = model.embed(ids);
  let hidden: Tensor<"f32">[] = [];
  for (let s0 = 0; s0 < sequences * seqLen; s0 += rowsPerBatch) {
    hidden.push(sliceRows(embedded, s0, Math.min(sequences * seqLen, s0 + rowsPerBatch)));
  }
  let current = model;
  const layers: SequentialLayerRow[] = [];
  const results = new Map<string, R>();
  for (let l = 0; l < model.config.numLayers; l++) {
    for (const [g, group] of groupsOf(l).entries()) {
      const capture = new HessianCapture(group, ops, true);
      const hooks = capture.hooks(options.hooks);
      for (const h of hidden) {
        capture.beginPass();
        try {
          await current.block(l, h, seqLen, { hooks, ops });
        } catch (e) {
          if (!(e instanceof StopForward)) throw e;
        }
      }
      const Hs = capture.results();
      const overrides = new Map<string, Tensor<"f32">>();
      for (const name of group) {
        const W = current.weight(`${name}.weight`);
        const H = Hs.get(name) as Tensor<"f64">;
        const ctx: SequentialContext = { layer: l, groupIndex: g, group, tokens: capture.tokens, ops, model: current };
        const t0 = performance.now();
        const r = await quantizeLayer(name, W, H, ctx);
        const seconds = (performance.now() - t0) / 1000;
        overrides.set(`${name}.weight`, r.weight);
        results.set(name, r);
        layers.push({
          name,
          layer: l,
          groupIndex: g,
          rows: W.shape[0] as number,
          cols: W.shape[1] as number,
          mse: mse(W, r.weight),
          sqnr: sqnr(W, r.weight),
          weightedError: weightedError(W, r.weight, H),
          seconds,
        });
      }
      current = current.withWeights(overrides);
      options.onProgress?.(l, g, group);
    }
    const next: Tensor<"f32">[] = [];
    for (const h of hidden) next.push(await current.block(l, h, seqLen, { hooks: options.hooks ?? {}, ops }));
    hidden = next;
  }
  return { model: current, layers, results };
}
