// SPDX-License-Identifier: MIT
/**
 * Running next-token metrics, fed one window (or batch of windows) of logits at a time, so an
 * evaluation never holds the logits of more than one window: the negative log-likelihood of a
 * model and of its full-precision reference (both perplexities), the exact KL(reference ‖ model)
 * of the next-token distributions and top-1 agreement. Same protocol as `evaluateLm`: in each
 * window of T tokens, positions 0..T−2 predict the next token; sums in f64.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";

/** Totals of {@link WindowMetrics}, as means per prediction. */
export interface WindowMetricsResult {
  /** exp(mean NLL) of the model. */
  perplexity: number;
  /** Mean NLL of the model, nats per token. */
  nll: number;
  /** Mean NLL in bits per token. */
  bitsPerToken: number;
  /** exp(mean NLL) of the reference, when reference logits were given. */
  referencePerplexity?: number;
  /** Mean KL(reference ‖ model) in nats per token, when reference logits were given. */
  kl?: number;
  /** Share of positions where both argmaxes agree, when reference logits were given. */
  top1Agreement?: number;
  /** Windows added. */
  windows: number;
  /** Predictions counted (windows · (T − 1)). */
  predictions: number;
}

/** Log-softmax of row `offset..offset+V` of `logits` into `out` (f64); returns the argmax. */
export function logSoftmaxRow(logits: Float32Array, offset: number, V: number, out: Float64Array): number {
  let max = -Infinity, best = 0;
  for (let j = 0; j < V; j++) {
    const x = logits[offset + j] as number;
    if (x > max) {
      max = x;
      best = j;
    }
  }
  let sum = 0;
  for (let j = 0; j < V; j++) sum += Math.exp((logits[offset + j] as number) - max);
  const lse = max + Math.log(sum);
  for (let j = 0; j < V; j++) out[j] = (logits[offset + j] as number) - lse;
  return best;
}

/**
 * Accumulates perplexity, KL and top-1 agreement window by window.
 *
 * @example
 * ```ts
 * import { WindowMetrics } from "./window_metrics.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const m = new WindowMetrics(2);
 * const logits = new Tensor("f32", [2, 2], new Float32Array([0, 0, 0, 0])); // uniform
 * m.add(Int32Array.from([0, 1]), 2, logits, logits);
 * const r = m.result();
 * assert.ok(Math.abs(r.perplexity - 2) < 1e-12);
 * assert.equal(r.kl, 0);
 * ```
 */
export class WindowMetrics {
  /** Vocabulary size V. */
  readonly vocabSize: number;
  private nll = 0;
  private refNll = 0;
  private kl = 0;
  private agree = 0;
  private predictions = 0;
  private windows = 0;
  private withReference: boolean | undefined;
  private readonly lq: Float64Array;
  private readonly lp: Float64Array;

  /**
   * Starts empty accumulators for logits rows of width V.
   *
   * @param vocabSize V, the logits' row width
   */
  constructor(vocabSize: number) {
    this.vocabSize = vocabSize;
    this.lq = new Float64Array(vocabSize);
    this.lp = new Float64Array(vocabSize);
  }

  /**
   * Adds B windows.
   *
   * @param ids token ids `[B·T]` of the windows
   * @param seqLen T
   * @param logits the model's logits f32 `[B·T, V]`
   * @param reference the reference's logits f32 `[B·T, V]` (for KL, top-1 and its perplexity)
   * @throws {TypeError} when shapes disagree, or reference logits are given for some windows only
   */
  add(ids: ArrayLike<number>, seqLen: number, logits: Tensor<"f32">, reference?: Tensor<"f32">): void {
    const V = this.vocabSize, n = ids.length;
    if (n % seqLen !== 0 || logits.shape[0] !== n || logits.shape[1] !== V) {
      throw new TypeError(
        `WindowMetrics.add: Cannot score logits of shape [${
          logits.shape.join(", ")
        }] for ${n} ids in windows of ${seqLen}: expected [${n}, ${V}]`,
      );
    }
    if (reference && (reference.shape[0] !== n || reference.shape[1] !== V)) {
      throw new TypeError(
        `WindowMetrics.add: Cannot score reference logits of shape [${
          reference.shape.join(", ")
        }]: expected [${n}, ${V}]`,
      );
    }
    const targets = new Int32Array(n);
    for (let row = 0; row < n; row++) targets[row] = (row + 1) % seqLen === 0 ? -1 : ids[row + 1] as number;
    this.addRows(targets, logits, reference);
    this.windows += n / seqLen;
  }

  /**
   * Adds rows of logits of part of a window (to bound memory for large vocabularies); count the
   * windows with {@link WindowMetrics.countWindows}.
   *
   * @param targets per row, the next token id, or −1 for the last position of a window (not scored)
   * @param logits the model's logits f32 `[rows, V]`
   * @param reference the reference's logits f32 `[rows, V]`
   */
  addRows(targets: ArrayLike<number>, logits: Tensor<"f32">, reference?: Tensor<"f32">): void {
    const V = this.vocabSize, n = targets.length;
    if (
      logits.shape[0] !== n || logits.shape[1] !== V ||
      (reference && (reference.shape[0] !== n || reference.shape[1] !== V))
    ) {
      throw new TypeError(
        `WindowMetrics.addRows: Cannot score logits of shape [${logits.shape.join(", ")}]${
          reference ? ` and reference [${reference.shape.join(", ")}]` : ""
        } for ${n} targets: expected [${n}, ${V}]`,
      );
    }
    if (this.withReference !== undefined && this.withReference !== (reference !== undefined)) {
      throw new TypeError(`WindowMetrics.add: Cannot mix windows with and without reference logits`);
    }
    this.withReference = reference !== undefined;
    const { lq, lp } = this;
    for (let row = 0; row < n; row++) {
      const next = targets[row] as number;
      if (next < 0) continue;
      const aq = logSoftmaxRow(logits.data, row * V, V, lq);
      this.nll -= lq[next] as number;
      if (reference) {
        const ap = logSoftmaxRow(reference.data, row * V, V, lp);
        this.refNll -= lp[next] as number;
        let k = 0;
        for (let j = 0; j < V; j++) k += Math.exp(lp[j] as number) * ((lp[j] as number) - (lq[j] as number));
        this.kl += k;
        if (aq === ap) this.agree++;
      }
      this.predictions++;
    }
  }

  /** Counts `n` windows finished through {@link WindowMetrics.addRows}. */
  countWindows(n: number): void {
    this.windows += n;
  }

  /** The means so far. @throws {RangeError} when nothing was added */
  result(): WindowMetricsResult {
    const p = this.predictions;
    if (p === 0) throw new RangeError(`WindowMetrics.result: Cannot average 0 predictions: add windows first`);
    const nll = this.nll / p;
    const r: WindowMetricsResult = {
      perplexity: Math.exp(nll),
      nll,
      bitsPerToken: nll / Math.LN2,
      windows: this.windows,
      predictions: p,
    };
    if (this.withReference) {
      r.referencePerplexity = Math.exp(this.refNll / p);
      r.kl = this.kl / p;
      r.top1Agreement = this.agree / p;
    }
    return r;
  }
}
