// SPDX-License-Identifier: MIT
/**
 * The accumulator contract of the activation capture (`../capture.ts`): a running statistic of
 * the inputs X f32 `[tokens, cols]` that one linear layer (or one ONNX weight group) reads, fed
 * batch by batch. The capture creates one accumulator per distinct input through a factory, so a
 * caller picks statistics by naming factories:
 *
 *     { absmax: absmaxAccumulator(), H: xtxAccumulator() }  →  per linear { absmax, H, tokens }
 *
 * A new statistic is one file exporting one factory; the capture does not change.
 *
 * @module
 */
import type { Tensor } from "../../tensor/tensor.ts";
import type { Ops } from "../../ops/ops.ts";

/** What a factory knows when it creates an accumulator. */
export interface AccumulatorContext {
  /** The captured input's name, e.g. `model.layers.0.self_attn.q_proj` (for per-layer settings and messages). */
  readonly name: string;
  /** Columns of every batch X `[tokens, cols]` (the layer's input width). */
  readonly cols: number;
  /** Backend of op-based statistics (XᵀX through `accumulateHessian`, `histogram`). */
  readonly ops: Ops;
}

/** A running statistic over batches X f32 `[tokens, cols]`. */
export interface Accumulator<R> {
  /**
   * Adds one batch. The capture checks dtype and shape before calling, and awaits each call
   * before the next, so implementations need no locking.
   * @param X f32 `[tokens, cols]` (tokens may be 0); never modified, never kept by reference
   */
  add(X: Tensor<"f32">): void | Promise<void>;
  /** The statistic so far, as a new object on every call (callers may modify it). */
  result(): R;
  /**
   * Optional: hands over the statistic's own storage without a copy, ending the accumulator
   * (later calls throw). For n² statistics (XᵀX at n = 5632 is 254 MB) the copy of `result()`
   * would double the memory peak of a streamed layer.
   */
  release?(): R;
}

/** Makes one {@link Accumulator} per captured input. */
export interface AccumulatorFactory<R> {
  /** Short name of the statistic for messages, e.g. `"absmax"`. */
  readonly kind: string;
  /** A fresh, empty accumulator for one input. */
  create(context: AccumulatorContext): Accumulator<R>;
}

/** The statistics a capture collects: result key → factory (`tokens` is reserved for the token count). */
export type AccumulatorSet = Readonly<Record<string, AccumulatorFactory<unknown>>> & { readonly tokens?: never };

/** What a capture returns per input: each factory's result under its key, plus the tokens seen. */
export type AccumulatedStats<S extends AccumulatorSet> =
  & { -readonly [K in Exclude<keyof S, "tokens">]: S[K] extends AccumulatorFactory<infer R> ? R : never }
  & { tokens: number };
