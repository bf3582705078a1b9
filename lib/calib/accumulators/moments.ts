// SPDX-License-Identifier: MIT
/**
 * Per-channel moments of a layer's input: mean, standard deviation and Pearson's kurtosis
 * `E[(x−μ)⁴]/σ⁴` (3 for a Gaussian; large for outlier channels). The power sums Σx, Σx², Σx³,
 * Σx⁴ stream in f64 and are also returned, so pooled statistics (all channels of a layer) come
 * from adding them up ({@link momentsFromSums}).
 *
 * @module
 */
import type { Tensor } from "../../tensor/tensor.ts";
import type { Accumulator, AccumulatorContext, AccumulatorFactory } from "./accumulator.ts";

/** Result of {@link momentsAccumulator}: per channel, f64 `[cols]` each. */
export interface ChannelMoments {
  /** Mean Σx/N. */
  mean: Float64Array;
  /** Population standard deviation. */
  std: Float64Array;
  /** Pearson's kurtosis (NaN for a constant channel). */
  kurtosis: Float64Array;
  /** Power sums `[Σx, Σx², Σx³, Σx⁴]`. */
  sums: [Float64Array, Float64Array, Float64Array, Float64Array];
  /** Tokens N. */
  tokens: number;
}

/**
 * Mean, standard deviation and kurtosis from raw power sums over N samples:
 * `σ² = E[x²] − μ²`, `m₄ = E[x⁴] − 4μE[x³] + 6μ²E[x²] − 3μ⁴`, kurtosis `m₄/σ⁴`.
 *
 * @param N samples
 * @param s1 Σx
 * @param s2 Σx²
 * @param s3 Σx³
 * @param s4 Σx⁴
 * @returns `{ mean, std, kurtosis }` (kurtosis NaN when σ = 0)
 */
export function momentsFromSums(
  N: number,
  s1: number,
  s2: number,
  s3: number,
  s4: number,
): { mean: number; std: number; kurtosis: number } {
  const m = s1 / N, e2 = s2 / N, e3 = s3 / N, e4 = s4 / N;
  const v = Math.max(0, e2 - m * m); // rounding can make a constant channel's variance slightly negative
  const m4 = e4 - 4 * m * e3 + 6 * m * m * e2 - 3 * m ** 4;
  return { mean: m, std: Math.sqrt(v), kurtosis: v > 0 ? Math.max(0, m4) / (v * v) : NaN };
}

/**
 * Per-channel mean, std and kurtosis from streamed f64 power sums.
 *
 * @returns a factory for the activation capture (its result throws a RangeError before any token)
 *
 * @example
 * ```ts
 * import { momentsAccumulator } from "./moments.ts";
 * import { tsOps } from "../../ops/ts/mod.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const acc = momentsAccumulator().create({ name: "x", cols: 1, ops: tsOps });
 * acc.add(new Tensor("f32", [4, 1], new Float32Array([1, -1, 1, -1])));
 * const { mean, std, kurtosis } = acc.result();
 * assert.deepEqual([mean[0], std[0], kurtosis[0]], [0, 1, 1]); // two-point distribution
 * ```
 */
export function momentsAccumulator(): AccumulatorFactory<ChannelMoments> {
  return { kind: "moments", create: (context) => new Moments(context) };
}

class Moments implements Accumulator<ChannelMoments> {
  private readonly s: [Float64Array, Float64Array, Float64Array, Float64Array]; // [cols] each
  private tokens = 0;
  constructor(private readonly context: AccumulatorContext) {
    const n = context.cols;
    this.s = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  }
  add(X: Tensor<"f32">): void {
    const n = this.context.cols, rows = X.shape[0] as number;
    const [s1, s2, s3, s4] = this.s;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < n; c++) {
        const v = X.data[r * n + c] as number, v2 = v * v;
        s1[c]! += v;
        s2[c]! += v2;
        s3[c]! += v2 * v;
        s4[c]! += v2 * v2;
      }
    }
    this.tokens += rows;
  }
  result(): ChannelMoments {
    const N = this.tokens, n = this.context.cols, [s1, s2, s3, s4] = this.s;
    if (N === 0) {
      throw new RangeError(
        `momentsAccumulator: Cannot compute moments of "${this.context.name}": no tokens were added`,
      );
    }
    const mean = new Float64Array(n), std = new Float64Array(n), kurtosis = new Float64Array(n);
    for (let c = 0; c < n; c++) {
      const m = momentsFromSums(N, s1[c]!, s2[c]!, s3[c]!, s4[c]!);
      mean[c] = m.mean, std[c] = m.std, kurtosis[c] = m.kurtosis;
    }
    return { mean, std, kurtosis, sums: [s1.slice(), s2.slice(), s3.slice(), s4.slice()], tokens: N };
  }
}
