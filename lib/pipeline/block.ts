// SPDX-License-Identifier: MIT
/**
 * One decoder block of GPTQ's `llama_sequential` with `true_sequential`: inside block l the
 * linears are quantized in forward-order groups — q/k/v, then o, then gate/up, then down —
 * re-capturing Hessians over all calibration batches before each group, so later sublayers
 * see the quantized earlier ones. Then the hidden states are propagated through the quantized
 * block. Both drivers call these two functions: the in-memory {@link sequentialQuantize} and
 * the streaming `quantizeStreaming` (which builds a model holding only block l's weights), so
 * their results are the same by construction.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { concatRows } from "../tensor/manip.ts";
import type { Ops } from "../ops/ops.ts";
import type { ForwardHooks, LlamaModel } from "../model/llama.ts";
import { linearNames } from "../model/config.ts";
import { HessianCapture, StopForward } from "../calib/_hessian_capture.ts";
import { mse, sqnr } from "../calib/metrics.ts";
import { weightedErrorOps } from "../calib/weighted_error.ts";
import { collectGarbage } from "./_collect.ts";

/** Where a sequential context's linear inputs come from (QEP needs both). */
export type InputSource = "reference" | "quantized";

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
  /** The model as quantized so far (blocks < layer and earlier groups of this block; a streaming driver's model holds block `layer` only). */
  model: LlamaModel;
  /**
   * Inputs X f32 `[tokens, in]` of linears of this block over every calibration token, through the
   * full-precision reference or through the model quantized so far. Set by the streaming driver,
   * which keeps the per-block hidden states; the in-memory driver leaves it unset (run the whole model).
   */
  linearInputs?: (names: readonly string[], source: InputSource) => Promise<Map<string, Tensor<"f32">>>;
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

/**
 * Hidden states of the calibration set as batches of sequences, each f32 `[b·seqLen, d]` when
 * read; an implementation may store them compactly (see `ActivationStore`).
 */
export interface HiddenBatches {
  /** Number of batches. */
  readonly length: number;
  /** Batch i as f32 `[b·seqLen, d]`. */
  get(i: number): Tensor<"f32">;
  /** Replaces batch i (same shape). */
  set(i: number, hidden: Tensor<"f32">): void;
}

/** GPTQ's `true_sequential` order: [q, k, v], [o], [gate, up], [down]. */
export function llamaSequentialGroups(layer: number): string[][] {
  const [q, k, v, o, gate, up, down] = linearNames(layer) as [string, string, string, string, string, string, string];
  return [[q, k, v], [o], [gate, up], [down]];
}

/** Options of {@link quantizeBlock}. */
export interface QuantizeBlockOptions {
  /** Backend of the block forward and Hessian accumulation. */
  ops: Ops;
  /** Groups of linear names of this block, in order. */
  groups: string[][];
  /** Hooks applied inside the block (e.g. activation quantization), composed before capture. */
  hooks?: ForwardHooks;
  /** Source of {@link SequentialContext.linearInputs}; `current` is the model quantized so far. */
  linearInputs?: (
    names: readonly string[],
    source: InputSource,
    current: LlamaModel,
  ) => Promise<Map<string, Tensor<"f32">>>;
  /** Called before each group's Hessian capture. */
  onGroupStart?: (groupIndex: number, group: readonly string[]) => void;
  /** Called after each group. */
  onGroup?: (groupIndex: number, group: readonly string[]) => void;
}

/** Result of {@link quantizeBlock}. */
export interface QuantizeBlockResult<R> {
  /** `model` with the block's quantized weights swapped in. */
  model: LlamaModel;
  /** One error row per linear, in quantization order. */
  rows: SequentialLayerRow[];
  /** What `quantizeLayer` returned, per linear name. */
  results: Map<string, R>;
}

/**
 * Quantizes the linears of block `layer` group by group on the given hidden states.
 *
 * @param model holds at least block `layer`'s weights
 * @param layer block index
 * @param hidden calibration hidden states entering the block, batches of f32 `[b·seqLen, d]`
 * @param seqLen tokens per sequence
 * @param quantizeLayer the per-linear quantizer
 * @param options `ops`, `groups`, `hooks`, `linearInputs`, `onGroupStart`, `onGroup`
 * @returns the model with the block quantized, error rows and quantizer results
 */
export async function quantizeBlock<R extends { weight: Tensor<"f32"> }>(
  model: LlamaModel,
  layer: number,
  hidden: HiddenBatches,
  seqLen: number,
  quantizeLayer: LayerQuantizer<R>,
  options: QuantizeBlockOptions,
): Promise<QuantizeBlockResult<R>> {
  const { ops } = options;
  let current = model;
  const rows: SequentialLayerRow[] = [];
  const results = new Map<string, R>();
  for (const [g, group] of options.groups.entries()) {
    options.onGroupStart?.(g, group);
    let Hs: Map<string, Tensor<"f64">>, tokens: number;
    {
      // Scoped so the accumulators can be collected before the (memory-hungry) reconstruction.
      const capture = new HessianCapture(group, ops, true);
      const hooks = capture.hooks(options.hooks);
      for (let i = 0; i < hidden.length; i++) {
        capture.beginPass();
        try {
          await current.block(layer, hidden.get(i), seqLen, { hooks, ops });
        } catch (e) {
          if (!(e instanceof StopForward)) throw e;
        }
        collectGarbage();
      }
      Hs = capture.results();
      tokens = capture.tokens;
    }
    const overrides = new Map<string, Tensor<"f32">>();
    const currentNow = current, linearInputs = options.linearInputs;
    for (const name of group) {
      const W = current.weight(`${name}.weight`);
      const H = Hs.get(name) as Tensor<"f64">;
      Hs.delete(name);
      const ctx: SequentialContext = {
        layer,
        groupIndex: g,
        group,
        tokens,
        ops,
        model: current,
        ...(linearInputs && { linearInputs: (names, source) => linearInputs(names, source, currentNow) }),
      };
      collectGarbage();
      const t0 = performance.now();
      const r = await quantizeLayer(name, W, H, ctx);
      const seconds = (performance.now() - t0) / 1000;
      overrides.set(`${name}.weight`, r.weight);
      results.set(name, r);
      rows.push({
        name,
        layer,
        groupIndex: g,
        rows: W.shape[0] as number,
        cols: W.shape[1] as number,
        mse: mse(W, r.weight),
        sqnr: sqnr(W, r.weight),
        weightedError: await weightedErrorOps(W, r.weight, H, ops),
        seconds,
      });
    }
    current = current.withWeights(overrides);
    options.onGroup?.(g, group);
  }
  return { model: current, rows, results };
}

/**
 * Replaces every batch of `hidden` by its output through block `layer` of `model`, one batch at
 * a time (so only one extra batch is alive).
 *
 * @param model holds at least block `layer`'s weights
 * @param hidden batches of f32 `[b·seqLen, d]`, updated in place
 */
export async function propagateBlock(
  model: LlamaModel,
  layer: number,
  hidden: HiddenBatches,
  seqLen: number,
  options: { ops: Ops; hooks?: ForwardHooks; onBatch?: (done: number, total: number) => void },
): Promise<void> {
  for (let i = 0; i < hidden.length; i++) {
    hidden.set(i, await model.block(layer, hidden.get(i), seqLen, { hooks: options.hooks ?? {}, ops: options.ops }));
    collectGarbage();
    options.onBatch?.(i + 1, hidden.length);
  }
}

/**
 * Inputs f32 `[tokens, in]` of the linears `names` of block `layer`, over every batch of `hidden`
 * (in batch order), stopping each block forward once all were seen.
 */
export async function blockLinearInputs(
  model: LlamaModel,
  layer: number,
  hidden: HiddenBatches,
  seqLen: number,
  names: readonly string[],
  options: { ops: Ops; hooks?: ForwardHooks },
): Promise<Map<string, Tensor<"f32">>> {
  const wanted = new Set(names);
  const parts = new Map<string, Tensor<"f32">[]>(names.map((n) => [n, []]));
  for (let i = 0; i < hidden.length; i++) {
    const seen = new Set<string>();
    const hooks: ForwardHooks = {
      ...options.hooks,
      linearInput: async (name, X) => {
        const replaced = (await options.hooks?.linearInput?.(name, X)) ?? undefined;
        if (wanted.has(name)) {
          const input = replaced ?? X;
          parts.get(name)!.push(input);
          seen.add(name);
        }
        if (seen.size === wanted.size) throw new StopForward();
        return replaced;
      },
    };
    try {
      await model.block(layer, hidden.get(i), seqLen, { hooks, ops: options.ops });
    } catch (e) {
      if (!(e instanceof StopForward)) throw e;
    }
  }
  const out = new Map<string, Tensor<"f32">>();
  for (const [n, p] of parts) out.set(n, concatRows(p));
  return out;
}
