// SPDX-License-Identifier: MIT
/**
 * Per-group integer parameters from a per-slice observer: the range-setting step that RTN,
 * GPTQ's static groups and every recipe share. An observer fits per-row `scale`/`zero` on one
 * group of columns `[rows, groupSize]`; {@link paramsFromObserver} calls it once per group and
 * assembles `[rows, G]` parameters (G = cols / groupSize, 1 per channel).
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { sliceCols } from "../tensor/manip.ts";
import type { IntQuantParams } from "../ops/ops.ts";
import type { IntSpec } from "./spec.ts";
import { minmaxParams } from "./minmax.ts";

/** Fits per-row parameters (`scale`, `zero` f32 `[rows, 1]`, or `[1, 1]` shared) on a slice of columns `[rows, n]`. */
export type GroupObserver = (W: Tensor<"f32">, spec: IntSpec) => IntQuantParams | Promise<IntQuantParams>;

/** Min-max per row on a slice: GPTQ's `find_params(W, weight=True)`. */
export const minmaxObserver: GroupObserver = (W: Tensor<"f32">, spec: IntSpec): IntQuantParams =>
  minmaxParams(W, { ...spec, groupSize: 0 });

/**
 * Parameters `[rows, G]` of W from a per-slice observer, one call per group of `cols / G`
 * columns (RTN with any observer; GPTQ's static groups).
 *
 * @param W f32 `[rows, cols]` weight; cols divisible by `spec.groupSize` (0 = one group per row)
 * @param spec integer format (bits, groupSize)
 * @param observer fits one group's per-row parameters
 * @returns `scale`, `zero` f32 `[rows, G]` and `maxq = 2^bits − 1`
 * @throws {RangeError} when cols is not a multiple of groupSize
 *
 * @example
 * ```ts
 * import { minmaxObserver, paramsFromObserver } from "./group_params.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const W = new Tensor("f32", [1, 4], new Float32Array([0, 15, 0, 30]));
 * const p = await paramsFromObserver(W, { format: "int", bits: 4, groupSize: 2, symmetric: false }, minmaxObserver);
 * assert.deepEqual(p.scale.shape, [1, 2]);
 * assert.deepEqual(Array.from(p.scale.data), [1, 2]); // (max − min) / 15 per group
 * ```
 */
export async function paramsFromObserver(
  W: Tensor<"f32">,
  spec: IntSpec,
  observer: GroupObserver,
): Promise<IntQuantParams> {
  const [rows, cols] = W.shape as [number, number];
  const gs = spec.groupSize === 0 ? cols : spec.groupSize;
  if (!Number.isInteger(gs) || gs < 1 || cols % gs !== 0) {
    throw new RangeError(
      `paramsFromObserver: Cannot group ${cols} columns into groups of ${gs}: cols must be divisible by groupSize`,
    );
  }
  const G = cols / gs;
  const scale = new Float32Array(rows * G), zero = new Float32Array(rows * G);
  for (let g = 0; g < G; g++) {
    const p = await observer(sliceCols(W, g * gs, (g + 1) * gs), spec);
    for (let r = 0; r < rows; r++) {
      scale[r * G + g] = p.scale.data[p.scale.shape[0] === 1 ? 0 : r] as number;
      zero[r * G + g] = p.zero.data[p.zero.shape[0] === 1 ? 0 : r] as number;
    }
  }
  return {
    scale: new Tensor("f32", [rows, G], scale),
    zero: new Tensor("f32", [rows, G], zero),
    maxq: 2 ** spec.bits - 1,
  };
}
