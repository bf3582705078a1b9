// SPDX-License-Identifier: MIT
/**
 * Quantization formats, range setting and round-to-nearest.
 *
 * Integer formats follow GPTQ's asymmetric form with unsigned codes:
 * `q = clamp(round(w / scale) + zero, 0, maxq)`, `ŵ = scale · (q − zero)` (ties to even).
 * Minifloats (FP8 E4M3/E5M2, FP6 E3M2/E2M3, FP4 E2M1), NF4/NF3 and custom codebooks, MX
 * (shared power-of-two scales per 32-block) and log2 share `quantize` / `fakeQuantize` /
 * `dequantize`; observers (min-max, MSE/Lp and output-space clip search, percentile, KL,
 * running/EMA ranges), NeUQI and SINQ set their parameters; `activationQuantHooks` quantizes
 * linear inputs per token for WxAy.
 *
 * @example A tour
 * ```ts
 * import { formatId, parseQuantSpec, quantize, quantizedBitsPerWeight, quantizeRtn } from "./mod.ts";
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
 *
 * // Any format by id, with an MSE clipping search; exact bits per weight.
 * const r = await quantize(W, parseQuantSpec("nf4-g64"), { observer: "mse" });
 * assert.equal(quantizedBitsPerWeight(r.quantized), 4 + 16 / 64);
 * ```
 *
 * @module
 */
export * from "./spec.ts";
export * from "./stored_bits.ts";
export * from "./minmax.ts";
export * from "./group_params.ts";
export * from "./rtn.ts";
export * from "./quantized_tensor.ts";
export * from "./minifloat.ts";
export * from "./codebook.ts";
export * from "./mx.ts";
export * from "./log2.ts";
export * from "./format_params.ts";
export * from "./quantize.ts";
export * from "./mse.ts";
export * from "./percentile.ts";
export * from "./kl_calibration.ts";
export * from "./running.ts";
export * from "./neuqi.ts";
export * from "./sinq.ts";
export * from "./activation.ts";
