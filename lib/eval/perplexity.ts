// SPDX-License-Identifier: MIT
/**
 * Language-model evaluation with the papers' protocol (GPTQ's `llama_eval`): concatenate the
 * split, cut it into non-overlapping windows of `seqLen` tokens (the remainder is dropped),
 * average the next-token negative log-likelihood over all predictions, `ppl = exp(mean)`.
 * Also bits per byte (for byte-level models), and — against a reference model — the mean
 * KL(reference ‖ model) of next-token distributions and top-1 agreement.
 *
 * Memory: logits are held for one batch of windows at a time. A reference model is evaluated on
 * the same batch right before the candidate (exact KL); to compare many candidates against one
 * reference pass, record compact {@link ReferenceStats} (`recordTopK`) and pass them as the
 * `reference` (top-k + tail KL, a lower bound: see `reference_stats.ts`).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { LlamaModel } from "../model/llama.ts";
import {
  allocReferenceStats,
  hashTokens,
  klFromStats,
  recordReferenceRow,
  type ReferenceStats,
} from "./reference_stats.ts";

/** Options of {@link evaluateLm}. */
export interface EvalOptions {
  /** Window length in tokens (default 256). */
  seqLen?: number;
  /** Evaluate only the first `maxWindows` windows (a documented subset; default: all). */
  maxWindows?: number;
  /** Windows per forward call (default 8). */
  batchSize?: number;
  /**
   * Reference for KL and top-1 agreement: a model or logits function (evaluated window batch by
   * window batch, exact KL), or stats recorded by an earlier call with `recordTopK` (top-k KL).
   */
  reference?: LlamaModel | LogitsFn | ReferenceStats;
  /** Record this model's top-k statistics (`result.referenceStats`) for later use as a reference. */
  recordTopK?: number;
  /** Called after each batch with windows done and total. */
  onProgress?: (done: number, total: number) => void;
  /** Called after each window with windows done and total. */
  onWindow?: (done: number, total: number) => void;
}

/** Any causal LM as a function: token ids `[B·T]` of B windows of T → logits f32 `[B·T, vocab]`. */
export type LogitsFn = (ids: Int32Array, seqLen: number) => Promise<Tensor<"f32">>;

/** Result of {@link evaluateLm}; every field needed to reproduce the number is recorded. */
export interface EvalResult {
  /** exp(mean NLL). */
  perplexity: number;
  /** Mean NLL in nats per token. */
  nll: number;
  /** Mean NLL in bits per token (= bits per byte for byte-level tokenizers). */
  bitsPerToken: number;
  /** Mean KL(reference ‖ model) in nats per token, when a reference was given. */
  kl?: number;
  /** Share of positions where both models' argmax agree, when a reference was given. */
  top1Agreement?: number;
  /** With a {@link ReferenceStats} reference: its mean probability outside the top k (KL is exact when 0). */
  klTailMass?: number;
  /** This model's compact statistics, when `recordTopK` was given. */
  referenceStats?: ReferenceStats;
  /** Window length in tokens. */
  seqLen: number;
  /** Windows evaluated. */
  windows: number;
  /** Windows the split holds (windows < totalWindows means a subset was evaluated). */
  totalWindows: number;
  /** Next-token predictions averaged over: windows · (seqLen − 1). */
  predictions: number;
  /** Wall seconds of the evaluation. */
  seconds: number;
}

/** Log-softmax of one row of logits into `out` (f64). */
function logSoftmaxRow(logits: Float32Array, offset: number, V: number, out: Float64Array): void {
  let max = -Infinity;
  for (let j = 0; j < V; j++) max = Math.max(max, logits[offset + j] as number);
  let sum = 0;
  for (let j = 0; j < V; j++) sum += Math.exp((logits[offset + j] as number) - max);
  const lse = max + Math.log(sum);
  for (let j = 0; j < V; j++) out[j] = (logits[offset + j] as number) - lse;
}

function argmax(a: Float64Array): number {
  let best = 0;
  for (let j = 1; j < a.length; j++) if ((a[j] as number) > (a[best] as number)) best = j;
  return best;
}

function isStats(ref: unknown): ref is ReferenceStats {
  return typeof ref === "object" && ref !== null && "tokensHash" in ref && "tail" in ref;
}

/**
 * Evaluates a causal LM on a token stream with the papers' perplexity protocol.
 *
 * @param model the model to evaluate
 * @param tokens the whole split as token ids
 * @returns perplexity, bits per token, optional KL/top-1 vs the reference, and the protocol
 */
export function evaluateLm(
  model: LlamaModel,
  tokens: ArrayLike<number>,
  options: EvalOptions = {},
): Promise<EvalResult> {
  return evaluateLogits((ids, T) => model.forward(ids, T), model.config.vocabSize, tokens, options);
}

/**
 * {@link evaluateLm} for any causal LM given as a {@link LogitsFn} (an ONNX session, a model
 * with hooks): the same protocol, the same numbers.
 */
export async function evaluateLogits(
  logitsOf: LogitsFn,
  vocabSize: number,
  tokens: ArrayLike<number>,
  options: EvalOptions = {},
): Promise<EvalResult> {
  const seqLen = options.seqLen ?? 256;
  const totalWindows = Math.floor(tokens.length / seqLen);
  const windows = Math.min(totalWindows, options.maxWindows ?? totalWindows);
  if (windows < 1) {
    throw new RangeError(
      `evaluateLm: Cannot evaluate ${tokens.length} tokens with seqLen ${seqLen}: at least one full window is needed`,
    );
  }
  const batchSize = Math.max(1, options.batchSize ?? 8);
  const V = vocabSize;
  const ref = options.reference;
  const stats = isStats(ref) ? ref : undefined;
  const refLogits: LogitsFn | undefined = ref === undefined || stats
    ? undefined
    : typeof ref === "function"
    ? ref
    : (ids, T) => (ref as LlamaModel).forward(ids, T);
  const hash = stats || options.recordTopK !== undefined ? hashTokens(tokens, windows * seqLen) : "";
  if (stats && (stats.seqLen !== seqLen || stats.windows !== windows || stats.tokensHash !== hash)) {
    throw new RangeError(
      `evaluateLm: Cannot compare against reference stats of ${stats.windows} windows of ${stats.seqLen}: ` +
        `this evaluation has ${windows} windows of ${seqLen}${stats.tokensHash !== hash ? " and other tokens" : ""}`,
    );
  }
  const record = options.recordTopK !== undefined
    ? allocReferenceStats(options.recordTopK, seqLen, windows, hash)
    : undefined;
  const lp = new Float64Array(V), lq = new Float64Array(V);
  let nll = 0, kl = 0, agree = 0, tail = 0, predictions = 0;
  const t0 = performance.now();
  for (let w0 = 0; w0 < windows; w0 += batchSize) {
    const nb = Math.min(batchSize, windows - w0);
    const ids = Int32Array.from({ length: nb * seqLen }, (_, i) => tokens[w0 * seqLen + i] as number);
    // Reference first, on the same batch: only one batch of logits of each model is alive.
    const refOut: Tensor<"f32"> | undefined = refLogits ? await refLogits(ids, seqLen) : undefined;
    const logits = await logitsOf(ids, seqLen);
    for (let b = 0; b < nb; b++) {
      for (let t = 0; t < seqLen - 1; t++) {
        const row = b * seqLen + t;
        logSoftmaxRow(logits.data, row * V, V, lq);
        nll -= lq[ids[row + 1] as number] as number;
        if (record) recordReferenceRow(record, predictions, lq);
        if (refOut) {
          logSoftmaxRow(refOut.data, row * V, V, lp);
          let k = 0;
          for (let j = 0; j < V; j++) k += Math.exp(lp[j] as number) * ((lp[j] as number) - (lq[j] as number));
          kl += k;
          if (argmax(lp) === argmax(lq)) agree++;
        } else if (stats) {
          const r = klFromStats(stats, predictions, lq, argmax(lq));
          kl += r.kl;
          if (r.agree) agree++;
          tail += stats.tail[predictions]!;
        }
        predictions++;
      }
      options.onWindow?.(w0 + b + 1, windows);
    }
    options.onProgress?.(w0 + nb, windows);
  }
  const mean = nll / predictions;
  const result: EvalResult = {
    perplexity: Math.exp(mean),
    nll: mean,
    bitsPerToken: mean / Math.LN2,
    seqLen,
    windows,
    totalWindows,
    predictions,
    seconds: (performance.now() - t0) / 1000,
  };
  if (refLogits || stats) {
    result.kl = kl / predictions;
    result.top1Agreement = agree / predictions;
  }
  if (stats) result.klTailMass = tail / predictions;
  if (record) result.referenceStats = record;
  return result;
}
