// SPDX-License-Identifier: MIT
/**
 * Evaluation inside the streaming layer pass: the hidden states of the evaluation windows are
 * carried twice — through the full-precision block and through the quantized block — while
 * each layer's weights are resident anyway, then the head scores the windows one at a time
 * (in row chunks for large vocabularies): perplexity of both models, the exact KL(FP ‖ Q) and
 * top-1 agreement, without ever holding the logits of more than one chunk per model.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { sliceRows } from "../tensor/manip.ts";
import type { Ops } from "../ops/ops.ts";
import type { LlamaModel } from "../model/llama.ts";
import type { LlamaConfig } from "../model/config.ts";
import { chunkedHead, type StoredMatrix } from "./_stored_matrix.ts";
import { WindowMetrics, type WindowMetricsResult } from "../eval/window_metrics.ts";
import { propagateBlock } from "./block.ts";
import { type ActivationDType, ActivationStore } from "./activations.ts";

/** The evaluation windows of a streaming run. */
export interface StreamingEvaluation {
  /** Token ids of the evaluation text (non-overlapping windows are cut from the start). */
  ids: ArrayLike<number>;
  /** Tokens per window. */
  seqLen: number;
  /** Evaluate the first `windows` windows only (default: all). */
  windows?: number;
}

/** Result of a streamed evaluation. */
export interface StreamingEvalResult {
  /** The quantized model against the full-precision reference (KL, top-1 included). */
  quantized: WindowMetricsResult;
  /** Perplexity of the full-precision model on the same windows. */
  referencePerplexity: number;
  /** Tokens per window. */
  seqLen: number;
  /** Windows evaluated. */
  windows: number;
  /** Windows the text holds. */
  totalWindows: number;
}

/** Most logits values (per model) scored at once: 32 M values = 128 MB of f32. */
export const MAX_HEAD_VALUES = 32 * 1024 * 1024;

/** FP and quantized hidden states of the evaluation windows, advanced layer by layer. */
export class EvalStream {
  /** Windows evaluated. */
  readonly windows: number;
  /** Windows the text holds. */
  readonly totalWindows: number;
  /** Tokens per window. */
  readonly seqLen: number;
  private readonly ids: Int32Array;
  private readonly fp: ActivationStore;
  private q: ActivationStore | undefined;
  private readonly windowsPerBatch: number;

  /**
   * @param evaluation ids, seqLen, windows
   * @param windowsPerBatch windows per block call
   * @throws {RangeError} when the text holds no full window
   */
  constructor(evaluation: StreamingEvaluation, width: number, dtype: ActivationDType, windowsPerBatch: number) {
    const T = evaluation.seqLen;
    this.totalWindows = Math.floor(evaluation.ids.length / T);
    this.windows = Math.min(this.totalWindows, evaluation.windows ?? this.totalWindows);
    if (!(this.windows >= 1)) {
      throw new RangeError(
        `quantizeStreaming: Cannot evaluate ${evaluation.ids.length} tokens with seqLen ${T}: at least one full window is needed`,
      );
    }
    this.seqLen = T;
    this.ids = Int32Array.from({ length: this.windows * T }, (_, i) => evaluation.ids[i] as number);
    this.fp = new ActivationStore(dtype, width);
    this.windowsPerBatch = windowsPerBatch;
  }

  /** Token ids of batch i of windows, for embedding. */
  *batches(): Generator<Int32Array> {
    const T = this.seqLen, b = this.windowsPerBatch;
    for (let w0 = 0; w0 < this.windows; w0 += b) {
      yield this.ids.subarray(w0 * T, Math.min(this.windows, w0 + b) * T);
    }
  }

  /** Stores the embedded batches (call once per batch, in order); both models start equal. */
  pushEmbedded(hidden: Tensor<"f32">): void {
    this.fp.push(hidden);
  }

  /** Advances the full-precision stream through block `layer` (call before {@link EvalStream.advanceQuantized}). */
  async advanceReference(layer: number, fp: LlamaModel, ops: Ops): Promise<void> {
    // Both streams equal the embeddings until the first block: copy before the FP stream moves.
    this.q ??= this.fp.clone();
    await propagateBlock(fp, layer, this.fp, this.seqLen, { ops });
  }

  /** Advances the quantized stream through the quantized block `layer`. */
  async advanceQuantized(layer: number, q: LlamaModel, ops: Ops): Promise<void> {
    this.q ??= this.fp.clone();
    await propagateBlock(q, layer, this.q, this.seqLen, { ops });
  }

  /** Bytes held by both streams. */
  get bytes(): number {
    return this.fp.bytes + (this.q?.bytes ?? this.fp.bytes);
  }

  /**
   * Scores every window with the final norm and the head matrix (kept in its stored dtype).
   *
   * @param onWindows called with the windows done after each window
   */
  async score(
    config: LlamaConfig,
    norm: Tensor<"f32">,
    head: StoredMatrix,
    ops: Ops,
    onWindows: (done: number) => void,
  ): Promise<StreamingEvalResult> {
    const T = this.seqLen, V = config.vocabSize;
    const q = this.q ?? this.fp;
    const metrics = new WindowMetrics(V);
    const chunk = Math.max(1, Math.min(T, Math.floor(MAX_HEAD_VALUES / V)));
    let w = 0;
    for (let i = 0; i < this.fp.length; i++) {
      const hf = this.fp.get(i), hq = q.get(i);
      const nw = (hf.shape[0] as number) / T;
      for (let b = 0; b < nw; b++, w++) {
        for (let r0 = 0; r0 < T; r0 += chunk) {
          const r1 = Math.min(T, r0 + chunk);
          const targets = Int32Array.from(
            { length: r1 - r0 },
            (_, k) => (r0 + k === T - 1 ? -1 : this.ids[w * T + r0 + k + 1] as number),
          );
          const ref = await chunkedHead(config, norm, head, sliceRows(hf, b * T + r0, b * T + r1), ops);
          const got = await chunkedHead(config, norm, head, sliceRows(hq, b * T + r0, b * T + r1), ops);
          metrics.addRows(targets, got, ref);
        }
        metrics.countWindows(1);
        onWindows(w + 1);
      }
    }
    const quantized = metrics.result();
    return {
      quantized,
      referencePerplexity: quantized.referencePerplexity as number,
      seqLen: T,
      windows: this.windows,
      totalWindows: this.totalWindows,
    };
  }
}
