// SPDX-License-Identifier: MIT
/**
 * The inputs themselves: every batch X `[tokens, cols]` copied and stacked into one f32 matrix
 * (what AdaRound, QEP or a plot need). Memory grows with the token count; prefer a streaming
 * statistic ({@link xtxAccumulator}) for large calibration sets.
 *
 * @module
 */
import { Tensor } from "../../tensor/tensor.ts";
import type { Accumulator, AccumulatorContext, AccumulatorFactory } from "./accumulator.ts";

/**
 * Stacked inputs, f32 `[tokens, cols]`.
 *
 * @returns a factory for the activation capture
 *
 * @example
 * ```ts
 * import { rowsAccumulator } from "./rows.ts";
 * import { tsOps } from "../../ops/ts/mod.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const acc = rowsAccumulator().create({ name: "x", cols: 2, ops: tsOps });
 * acc.add(new Tensor("f32", [1, 2], new Float32Array([1, 2])));
 * acc.add(new Tensor("f32", [1, 2], new Float32Array([3, 4])));
 * assert.deepEqual(acc.result().shape, [2, 2]);
 * ```
 */
export function rowsAccumulator(): AccumulatorFactory<Tensor<"f32">> {
  return { kind: "rows", create: (context) => new Rows(context) };
}

class Rows implements Accumulator<Tensor<"f32">> {
  private readonly chunks: Float32Array[] = [];
  private tokens = 0;
  constructor(private readonly context: AccumulatorContext) {}
  add(X: Tensor<"f32">): void {
    // Copy: the forward pass may reuse or modify its buffers after the hook returns.
    this.chunks.push(X.data.slice());
    this.tokens += X.shape[0] as number;
  }
  result(): Tensor<"f32"> {
    const out = new Float32Array(this.tokens * this.context.cols);
    let o = 0;
    for (const c of this.chunks) out.set(c, o), o += c.length;
    return new Tensor("f32", [this.tokens, this.context.cols], out);
  }
}
