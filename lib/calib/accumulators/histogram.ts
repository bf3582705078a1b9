// SPDX-License-Identifier: MIT
/**
 * Histogram of all values of a layer's input over a fixed range, counted by the backend's
 * `histogram` op (equal bins over [lo, hi], values outside clamped into the end bins). The
 * range must be known before the first batch; for a range that follows the data, run a first
 * capture with {@link absmaxAccumulator} and pass a per-input range function.
 *
 * @module
 */
import type { Tensor } from "../../tensor/tensor.ts";
import type { Accumulator, AccumulatorContext, AccumulatorFactory } from "./accumulator.ts";

/** Result of {@link histogramAccumulator}. */
export interface ValueHistogram {
  /** Lower edge of the first bin. */
  lo: number;
  /** Upper edge of the last bin. */
  hi: number;
  /** u32 `[bins]`: values per bin (they sum to tokens × cols). */
  counts: Uint32Array;
}

/** Options of {@link histogramAccumulator}. */
export interface HistogramAccumulatorOptions {
  /** Number of equal bins (a positive integer). */
  bins: number;
  /** `[lo, hi]` with finite lo < hi, or a function giving it per captured input (e.g. from its absmax). */
  range: readonly [number, number] | ((context: AccumulatorContext) => readonly [number, number]);
}

/**
 * Value histogram per captured input over `range` in `bins` equal bins.
 *
 * @param options `bins`, `range`
 * @returns a factory for the activation capture
 * @throws {RangeError} when bins is not a positive integer, or (at creation) a range is not finite with lo < hi
 *
 * @example
 * ```ts
 * import { histogramAccumulator } from "./histogram.ts";
 * import { tsOps } from "../../ops/ts/mod.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const acc = histogramAccumulator({ bins: 2, range: [-1, 1] }).create({ name: "x", cols: 2, ops: tsOps });
 * await acc.add(new Tensor("f32", [2, 2], new Float32Array([-0.5, 0.5, 0.25, 9])));
 * assert.deepEqual(Array.from(acc.result().counts), [1, 3]);
 * ```
 */
export function histogramAccumulator(options: HistogramAccumulatorOptions): AccumulatorFactory<ValueHistogram> {
  const { bins, range } = options;
  if (!Number.isInteger(bins) || bins < 1) {
    throw new RangeError(`histogramAccumulator: Cannot use ${bins} bins: bins must be a positive integer`);
  }
  return {
    kind: "histogram",
    create: (context) => {
      const [lo, hi] = typeof range === "function" ? range(context) : range;
      if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
        throw new RangeError(
          `histogramAccumulator: Cannot bin the inputs of "${context.name}" over [${lo}, ${hi}]: bounds must be finite with lo < hi`,
        );
      }
      return new Histogram(context, bins, lo, hi);
    },
  };
}

class Histogram implements Accumulator<ValueHistogram> {
  private readonly counts: Uint32Array; // [bins]
  constructor(
    private readonly context: AccumulatorContext,
    private readonly bins: number,
    private readonly lo: number,
    private readonly hi: number,
  ) {
    this.counts = new Uint32Array(bins);
  }
  async add(X: Tensor<"f32">): Promise<void> {
    const h = await this.context.ops.histogram(X, this.bins, this.lo, this.hi);
    for (let k = 0; k < this.bins; k++) this.counts[k]! += h.data[k] as number;
  }
  result(): ValueHistogram {
    return { lo: this.lo, hi: this.hi, counts: this.counts.slice() };
  }
}
