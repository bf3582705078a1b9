// SPDX-License-Identifier: MIT
/**
 * The activation capture: the inputs X `[tokens, in]` of chosen linears, reduced batch by batch
 * into the statistics the caller names (pluggable accumulators, see `accumulators/`): the inputs
 * themselves, absmax, mean |x|, XᵀX, moments, histograms. Everything that calibrates on
 * activations goes through here: GPTQ Hessians ({@link collectHessians}), the statistics tables
 * (`act_stats.ts`), SmoothQuant/AWQ (`rotate/`), the sequential pipeline (`pipeline/`) and ONNX
 * calibration (`onnx/capture.ts`, which feeds {@link ActivationCapture.add} from onnxruntime).
 *
 * On a {@link LlamaModel} the capture is a `linearInput` hook ({@link ActivationCapture}, in
 * `activation_capture.ts`); linears reading the same input tensor share one accumulation. A pass
 * ends early ({@link StopForward}) once every wanted linear was seen.
 *
 * Linear names are Hugging Face names without `.weight`, e.g. `model.layers.0.self_attn.q_proj`;
 * the head is `lm_head` (or `model.embed_tokens` for tied embeddings).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import type { ForwardHooks, LlamaModel } from "../model/llama.ts";
import { linearNames } from "../model/config.ts";
import type { AccumulatedStats, AccumulatorSet } from "./accumulators/accumulator.ts";
import { ActivationCapture, StopForward } from "./activation_capture.ts";
import { rowsAccumulator } from "./accumulators/rows.ts";
import { xtxAccumulator } from "./accumulators/xtx.ts";

export { ActivationCapture, type ActivationCaptureOptions, StopForward } from "./activation_capture.ts";

/** Options shared by the capture functions. */
export interface CaptureOptions {
  /** Linears to capture (default: every decoder linear, 7 per block). */
  names?: string[];
  /** Backend of the forward pass and accumulation (default: the model's). */
  ops?: Ops;
  /** Hooks applied before capture (e.g. an online rotation or activation quantizer); what they return is captured. */
  hooks?: ForwardHooks;
}

/** Options of {@link collectHessians}. */
export interface CollectHessiansOptions extends CaptureOptions {
  /** Sequences per forward pass (default 8). */
  batchSize?: number;
  /** Called after each batch with sequences done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** Options of {@link captureActivations}. */
export interface CaptureActivationsOptions<S extends AccumulatorSet> extends CollectHessiansOptions {
  /** Result key → accumulator factory, e.g. `{ absmax: absmaxAccumulator(), H: xtxAccumulator() }`. */
  accumulators: S;
}

/** Every decoder linear of `model` in forward order (7 per block, without `.weight`). */
export function decoderLinearNames(model: LlamaModel): string[] {
  const names: string[] = [];
  for (let l = 0; l < model.config.numLayers; l++) names.push(...linearNames(l));
  return names;
}

/** Validates ids/seqLen/names; returns the number of sequences and the names. */
export function checkCalibration(
  fn: string,
  model: LlamaModel,
  ids: ArrayLike<number>,
  seqLen: number,
  names?: string[],
): { sequences: number; names: string[] } {
  if (ids.length === 0) {
    throw new RangeError(`${fn}: Cannot calibrate on 0 token ids: the calibration set is empty`);
  }
  if (!Number.isInteger(seqLen) || seqLen < 1 || ids.length % seqLen !== 0) {
    throw new RangeError(
      `${fn}: Cannot split ${ids.length} token ids into sequences of ${seqLen}: length must be a positive multiple of seqLen`,
    );
  }
  const all = decoderLinearNames(model);
  const head = model.config.tieWordEmbeddings ? "model.embed_tokens" : "lm_head";
  const chosen = names ?? all;
  if (chosen.length === 0) throw new RangeError(`${fn}: Cannot capture an empty list of linear names`);
  for (const n of chosen) {
    if (n !== head && !all.includes(n)) {
      throw new RangeError(
        `${fn}: Cannot capture unknown linear "${n}": expected e.g. "${all[0]}" (no ".weight" suffix) or "${head}"`,
      );
    }
  }
  return { sequences: ids.length / seqLen, names: chosen };
}

/** Validates, then runs the capture over batches of sequences (each pass ends once all names were seen). */
async function runCapture<S extends AccumulatorSet>(
  fn: string,
  model: LlamaModel,
  ids: ArrayLike<number>,
  seqLen: number,
  options: CaptureActivationsOptions<S>,
): Promise<Map<string, AccumulatedStats<S>>> {
  const { sequences, names } = checkCalibration(fn, model, ids, seqLen, options.names);
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`${fn}: Cannot use batchSize ${batchSize}: expected a positive integer`);
  }
  const ops = options.ops ?? model.ops;
  const capture = new ActivationCapture(names, options.accumulators, { ops, stopEarly: true });
  const hooks = capture.hooks(options.hooks);
  for (let s0 = 0; s0 < sequences; s0 += batchSize) {
    const s1 = Math.min(sequences, s0 + batchSize);
    const batch = Int32Array.from({ length: (s1 - s0) * seqLen }, (_, i) => ids[s0 * seqLen + i] as number);
    capture.beginPass();
    try {
      await model.forward(batch, seqLen, { hooks, ops });
    } catch (e) {
      if (!(e instanceof StopForward)) throw e;
    }
    options.onProgress?.(s1, sequences);
  }
  return capture.results();
}

/**
 * Statistics of the inputs of chosen linears over a calibration set, streamed over batches of
 * sequences: memory holds the accumulators, never all activations (unless asked for with
 * `rowsAccumulator`).
 *
 * @param model the model (a `HookedLlamaModel`'s online steps run first: its linears' real inputs are captured)
 * @param ids token ids `[B·seqLen]` (B sequences concatenated)
 * @param seqLen tokens per sequence
 * @param options `accumulators` (required), `names`, `batchSize` (default 8), `ops`, `hooks`, `onProgress`
 * @returns per linear name, each accumulator's result under its key plus `tokens`
 * @throws {RangeError} on an empty calibration set, a bad seqLen or batchSize, an unknown name
 *
 * @example
 * ```ts ignore
 * const stats = await captureActivations(model, calib, 256, {
 *   names: ["model.layers.0.self_attn.q_proj"],
 *   accumulators: { absmax: absmaxAccumulator(), moments: momentsAccumulator() },
 * });
 * stats.get("model.layers.0.self_attn.q_proj")!.moments.kurtosis; // f64 [d]
 * ```
 */
export function captureActivations<S extends AccumulatorSet>(
  model: LlamaModel,
  ids: ArrayLike<number>,
  seqLen: number,
  options: CaptureActivationsOptions<S>,
): Promise<Map<string, AccumulatedStats<S>>> {
  return runCapture("captureActivations", model, ids, seqLen, options);
}

/**
 * Captures the inputs of chosen linears over the whole calibration set in one forward pass.
 * Memory grows with tokens × in per name: use {@link collectHessians} for large sets.
 *
 * @param model the model
 * @param ids token ids `[B·seqLen]` (B sequences concatenated)
 * @param seqLen tokens per sequence
 * @param options `names`, `ops`, `hooks`
 * @returns per linear name, its inputs f32 `[B·seqLen, in]` (independent copies)
 * @throws {RangeError} on an empty calibration set, a bad seqLen or an unknown name
 *
 * @example
 * ```ts ignore
 * const X = await captureLinearInputs(model, ids, 256, { names: ["model.layers.0.mlp.down_proj"] });
 * X.get("model.layers.0.mlp.down_proj")!.shape; // [ids.length, intermediateSize]
 * ```
 */
export async function captureLinearInputs(
  model: LlamaModel,
  ids: ArrayLike<number>,
  seqLen: number,
  options: CaptureOptions = {},
): Promise<Map<string, Tensor<"f32">>> {
  // One pass over all sequences, so each row is computed exactly as in a full forward call.
  const batchSize = Math.max(1, Math.floor(ids.length / seqLen) || 1);
  const stats = await runCapture("captureLinearInputs", model, ids, seqLen, {
    ...options,
    batchSize,
    accumulators: { X: rowsAccumulator() },
  });
  return new Map([...stats].map(([name, s]) => [name, s.X]));
}

/**
 * Hessians `H = 2/N · Σ XᵀX` (f64 `[in, in]`, N = tokens) of chosen linears, streamed over
 * batches of sequences so memory stays bounded. Linears that read the same input (q/k/v,
 * gate/up) share one accumulation; each name still gets its own copy.
 *
 * @param model the model
 * @param ids token ids `[B·seqLen]`
 * @param seqLen tokens per sequence
 * @param options `names`, `batchSize` (sequences per pass, default 8), `ops`, `hooks`, `onProgress`
 * @returns per linear name, H f64 `[in, in]`
 * @throws {RangeError} on an empty calibration set, a bad seqLen or batchSize, an unknown name
 *
 * @example
 * ```ts ignore
 * const H = await collectHessians(model, calibrationSamples(train, { nSamples: 128 }), 256);
 * H.get("model.layers.0.self_attn.q_proj")!.shape; // [256, 256]
 * ```
 */
export async function collectHessians(
  model: LlamaModel,
  ids: ArrayLike<number>,
  seqLen: number,
  options: CollectHessiansOptions = {},
): Promise<Map<string, Tensor<"f64">>> {
  const stats = await runCapture("collectHessians", model, ids, seqLen, {
    ...options,
    accumulators: { H: xtxAccumulator() },
  });
  return new Map([...stats].map(([name, s]) => [name, s.H]));
}
