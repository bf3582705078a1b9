// SPDX-License-Identifier: MIT
/**
 * Per-channel mean magnitude `1/N · Σ_t |X[t, j]|` of a layer's input (AWQ's activation
 * salience), summed in f64 and divided once at the end.
 *
 * @module
 */
import type { Tensor } from "../../tensor/tensor.ts";
import type { Accumulator, AccumulatorContext, AccumulatorFactory } from "./accumulator.ts";

/**
 * Per-channel mean |X[:, j]|, f64 `[cols]`.
 *
 * @returns a factory for the activation capture (its result throws a RangeError before any token)
 *
 * @example
 * ```ts
 * import { meanAbsAccumulator } from "./mean_abs.ts";
 * import { tsOps } from "../../ops/ts/mod.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const acc = meanAbsAccumulator().create({ name: "x", cols: 2, ops: tsOps });
 * acc.add(new Tensor("f32", [2, 2], new Float32Array([1, -4, -3, 2])));
 * assert.deepEqual(Array.from(acc.result()), [2, 3]);
 * ```
 */
export function meanAbsAccumulator(): AccumulatorFactory<Float64Array> {
  return { kind: "meanAbs", create: (context) => new MeanAbs(context) };
}

class MeanAbs implements Accumulator<Float64Array> {
  private readonly sum: Float64Array; // [cols] Σ|x|
  private tokens = 0;
  constructor(private readonly context: AccumulatorContext) {
    this.sum = new Float64Array(context.cols);
  }
  add(X: Tensor<"f32">): void {
    const n = this.context.cols, x = X.data, s = this.sum, rows = X.shape[0] as number;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) s[j] = (s[j] as number) + Math.abs(x[r * n + j] as number);
    }
    this.tokens += rows;
  }
  result(): Float64Array {
    if (this.tokens === 0) {
      throw new RangeError(
        `meanAbsAccumulator: Cannot average the inputs of "${this.context.name}": no tokens were added`,
      );
    }
    return this.sum.map((v) => v / this.tokens);
  }
}
