// SPDX-License-Identifier: MIT
/**
 * The second moment `XᵀX` of a layer's input, f64 `[cols, cols]`, accumulated by the backend's
 * `accumulateHessian` op (OpenBLAS `dsyrk` on blas), in one of two normalisations:
 *
 * - `"hessian"` (default): GPTQ's proxy Hessian `H = 2/N · Σ XᵀX` as a running mean, exactly
 *   {@link HessianAccumulator} (`H ← H·n/(n+b) + 2/(n+b)·XᵀX`), so H keeps its magnitude over
 *   any number of batches;
 * - `"sum"`: the raw `Σ XᵀX` (AWQ's output-error objective divides by the token count itself).
 *
 * @module
 */
import { Tensor } from "../../tensor/tensor.ts";
import { HessianAccumulator } from "../hessian.ts";
import type { Accumulator, AccumulatorContext, AccumulatorFactory } from "./accumulator.ts";

/** Options of {@link xtxAccumulator}. */
export interface XtxAccumulatorOptions {
  /** `"hessian"`: running mean `2/N·ΣXᵀX` (default); `"sum"`: `ΣXᵀX`. */
  form?: "hessian" | "sum";
}

/**
 * `2/N · Σ XᵀX` (or `Σ XᵀX`), f64 `[cols, cols]`.
 *
 * @param options `form` (default `"hessian"`)
 * @returns a factory for the activation capture; a `"hessian"` result throws a RangeError before any token
 * @throws {RangeError} on an unknown `form`
 *
 * @example
 * ```ts
 * import { xtxAccumulator } from "./xtx.ts";
 * import { tsOps } from "../../ops/ts/mod.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const acc = xtxAccumulator({ form: "sum" }).create({ name: "x", cols: 2, ops: tsOps });
 * await acc.add(new Tensor("f32", [2, 2], new Float32Array([1, 2, 3, 0])));
 * assert.deepEqual(Array.from(acc.result().data), [10, 2, 2, 4]);
 * ```
 */
export function xtxAccumulator(options: XtxAccumulatorOptions = {}): AccumulatorFactory<Tensor<"f64">> {
  const form = options.form ?? "hessian";
  if (form === "hessian") {
    return {
      kind: "hessian",
      create: ({ cols, ops }) => {
        const H = new HessianAccumulator(cols, { ops });
        return { add: (X) => H.addBatch(X), result: () => H.hessian, release: () => H.release() };
      },
    };
  }
  if (form === "sum") return { kind: "xtx", create: (context) => new XtxSum(context) };
  throw new RangeError(`xtxAccumulator: Cannot use form "${form}": expected "hessian" or "sum"`);
}

class XtxSum implements Accumulator<Tensor<"f64">> {
  private readonly S: Tensor<"f64">; // [cols, cols] Σ XᵀX
  constructor(private readonly context: AccumulatorContext) {
    this.S = new Tensor("f64", [context.cols, context.cols]);
  }
  async add(X: Tensor<"f32">): Promise<void> {
    await this.context.ops.accumulateHessian(this.S, X, 1);
  }
  result(): Tensor<"f64"> {
    return new Tensor("f64", this.S.shape, this.S.data.slice());
  }
}
