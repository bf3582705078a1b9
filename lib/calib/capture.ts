// SPDX-License-Identifier: MIT
/**
 * Layer-by-layer capture through the model's `linearInput` hook, "all linears in one forward
 * pass" style: the inputs X `[tokens, in]` of chosen linears, or their Hessians
 * `H = 2/N·ΣXᵀX` streamed batch by batch so memory stays bounded (one `[in, in]` f64 per
 * distinct input). For the sequential, quantized-prefix variant see `sequential.ts`.
 *
 * Linear names are Hugging Face names without `.weight`, e.g. `model.layers.0.self_attn.q_proj`;
 * the head is `lm_head` (or `model.embed_tokens` for tied embeddings).
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import type { ForwardHooks, LlamaModel } from "../model/llama.ts";
import { linearNames } from "../model/config.ts";
import { HessianCapture, StopForward } from "./_hessian_capture.ts";

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

/** Runs a forward pass, treating {@link StopForward} as a normal early end. */
async function forwardUntilDone(
  model: LlamaModel,
  ids: ArrayLike<number>,
  seqLen: number,
  hooks: ForwardHooks,
  ops: Ops,
): Promise<void> {
  try {
    await model.forward(ids, seqLen, { hooks, ops });
  } catch (e) {
    if (!(e instanceof StopForward)) throw e;
  }
}

/**
 * Captures the inputs of chosen linears over the whole calibration set in one forward pass.
 * Memory grows with tokens × in per name: use {@link collectHessians} for large sets.
 *
 * @param model the model
 * @param ids token ids `[B·seqLen]` (B sequences concatenated)
 * @param seqLen tokens per sequence
 * @returns per linear name, its inputs f32 `[B·seqLen, in]`
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
  const { names } = checkCalibration("captureLinearInputs", model, ids, seqLen, options.names);
  const wanted = new Set(names);
  const out = new Map<string, Tensor<"f32">>();
  const hooks: ForwardHooks = {
    ...options.hooks,
    linearInput: async (name, X) => {
      const replaced = (await options.hooks?.linearInput?.(name, X)) ?? undefined;
      const input = replaced ?? X;
      // Copy: later in-place ops (RoPE on q/k outputs) never touch X, but callers may mutate ours.
      if (wanted.has(name)) out.set(name, new Tensor("f32", input.shape, input.data.slice()));
      if (out.size === wanted.size) throw new StopForward();
      return replaced;
    },
  };
  await forwardUntilDone(model, ids, seqLen, hooks, options.ops ?? model.ops);
  return out;
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
  const fn = "collectHessians";
  const { sequences, names } = checkCalibration(fn, model, ids, seqLen, options.names);
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`${fn}: Cannot use batchSize ${batchSize}: expected a positive integer`);
  }
  const ops = options.ops ?? model.ops;
  const capture = new HessianCapture(names, ops, true);
  const hooks = capture.hooks(options.hooks);
  for (let s0 = 0; s0 < sequences; s0 += batchSize) {
    const s1 = Math.min(sequences, s0 + batchSize);
    const batch = Int32Array.from({ length: (s1 - s0) * seqLen }, (_, i) => ids[s0 * seqLen + i] as number);
    capture.beginPass();
    await forwardUntilDone(model, batch, seqLen, hooks, ops);
    options.onProgress?.(s1, sequences);
  }
  return capture.results();
}
