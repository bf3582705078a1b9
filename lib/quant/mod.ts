// SPDX-License-Identifier: MIT
/**
 * Quantization formats, range setting and round-to-nearest.
 *
 * Integer formats follow GPTQ's asymmetric form with unsigned codes:
 * `q = clamp(round(w / scale) + zero, 0, maxq)`, `ŵ = scale · (q − zero)` (ties to even).
 *
 * @example A tour
 * ```ts
 * import { formatId, minmaxParams, quantizeRtn } from "./mod.ts";
 * import { randn } from "../tensor/create.ts";
 * import { tsOps } from "../ops/ts/mod.ts";
 * import type { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 *
 * const W = randn([8, 256], { seed: 0 }) as Tensor<"f32">;
 * const spec = { format: "int", bits: 4, groupSize: 128, symmetric: false } as const;
 * assert.equal(formatId(spec), "int4-g128-asym");
 * const { weight, params } = await quantizeRtn(W, spec, { ops: tsOps });
 * assert.deepEqual(params.scale.shape, [8, 2]);
 * assert.ok(Math.abs(weight.data[0]! - W.data[0]!) <= params.scale.data[0]! / 2 + 1e-6);
 * ```
 *
 * @module
 */
export * from "./spec.ts";
export * from "./minmax.ts";
export * from "./rtn.ts";
