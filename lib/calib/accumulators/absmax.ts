// SPDX-License-Identifier: MIT
/**
 * Per-channel absolute maximum `max_t |X[t, j]|` of a layer's input: SmoothQuant's activation
 * scale, the outlier heat maps, a histogram's range. Exact in f32 (a maximum never rounds).
 *
 * @module
 */
import type { Tensor } from "../../tensor/tensor.ts";
import type { Accumulator, AccumulatorContext, AccumulatorFactory } from "./accumulator.ts";

/**
 * Per-channel `max |X[:, j]|`, f32 `[cols]` (0 before any token).
 *
 * @returns a factory for the activation capture
 *
 * @example
 * ```ts
 * import { absmaxAccumulator } from "./absmax.ts";
 * import { tsOps } from "../../ops/ts/mod.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const acc = absmaxAccumulator().create({ name: "x", cols: 2, ops: tsOps });
 * acc.add(new Tensor("f32", [2, 2], new Float32Array([1, -4, -3, 2])));
 * assert.deepEqual(Array.from(acc.result()), [3, 4]);
 * ```
 */
export function absmaxAccumulator(): AccumulatorFactory<Float32Array> {
  return { kind: "absmax", create: (context) => new Absmax(context) };
}

class Absmax implements Accumulator<Float32Array> {
  private readonly max: Float32Array; // [cols]
  constructor(private readonly context: AccumulatorContext) {
    this.max = new Float32Array(context.cols);
  }
  add(X: Tensor<"f32">): void {
    const n = this.context.cols, x = X.data, mx = this.max, rows = X.shape[0] as number;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) {
        const v = Math.abs(x[r * n + j] as number);
        if (v > (mx[j] as number)) mx[j] = v;
      }
    }
  }
  result(): Float32Array {
    return this.max.slice();
  }
}
