// SPDX-License-Identifier: MIT
/**
 * Sequential (block-by-block) calibration in memory, as GPTQ's `llama_sequential` with
 * `true_sequential`: the inputs of block l come from the already-quantized blocks 0..l−1,
 * and inside a block the linears are quantized in forward-order groups (see `block.ts`).
 * For checkpoints larger than memory use `quantizeStreaming` (`streaming.ts`), which runs
 * the same block step with only one block's weights resident.
 *
 * Model-agnostic core: the caller supplies `quantizeLayer(name, W, H, ctx)` (RTN, GPTQ, …).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { sliceRows } from "../tensor/manip.ts";
import type { Ops } from "../ops/ops.ts";
import type { ForwardHooks, LlamaModel } from "../model/llama.ts";
import { checkCalibration } from "../calib/capture.ts";
import {
  type HiddenBatches,
  type LayerQuantizer,
  llamaSequentialGroups,
  propagateBlock,
  quantizeBlock,
  type SequentialLayerRow,
} from "./block.ts";

export {
  type InputSource,
  type LayerQuantizer,
  llamaSequentialGroups,
  type SequentialContext,
  type SequentialLayerRow,
} from "./block.ts";

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
  const batches: Tensor<"f32">[] = [];
  for (let s0 = 0; s0 < sequences * seqLen; s0 += rowsPerBatch) {
    batches.push(sliceRows(embedded, s0, Math.min(sequences * seqLen, s0 + rowsPerBatch)));
  }
  const hidden: HiddenBatches = {
    length: batches.length,
    get: (i) => batches[i] as Tensor<"f32">,
    set: (i, t) => void (batches[i] = t),
  };
  let current = model;
  const layers: SequentialLayerRow[] = [];
  const results = new Map<string, R>();
  for (let l = 0; l < model.config.numLayers; l++) {
    const r = await quantizeBlock(current, l, hidden, seqLen, quantizeLayer, {
      ops,
      groups: groupsOf(l),
      ...(options.hooks && { hooks: options.hooks }),
      onGroup: (g, group) => options.onProgress?.(l, g, group),
    });
    current = r.model;
    layers.push(...r.rows);
    for (const [name, x] of r.results) results.set(name, x);
    await propagateBlock(current, l, hidden, seqLen, { ops, ...(options.hooks && { hooks: options.hooks }) });
  }
  return { model: current, layers, results };
}
