// SPDX-License-Identifier: MIT
/**
 * Statistics the activation capture (`../capture.ts`) can collect, one file each: the inputs
 * themselves, per-channel absmax and mean |x|, XᵀX (GPTQ's Hessian or the raw sum), per-channel
 * moments (mean, std, kurtosis) and a value histogram. A new statistic implements
 * {@link Accumulator} and exports a factory.
 *
 * @example
 * ```ts ignore
 * import { captureActivations } from "../capture.ts";
 * const stats = await captureActivations(model, calib, 256, {
 *   accumulators: { absmax: absmaxAccumulator(), H: xtxAccumulator() },
 * });
 * stats.get("model.layers.0.self_attn.q_proj")!.H; // f64 [d, d], 2/N·ΣXᵀX
 * ```
 *
 * @module
 */
export * from "./accumulator.ts";
export * from "./absmax.ts";
export * from "./mean_abs.ts";
export * from "./xtx.ts";
export * from "./moments.ts";
export * from "./histogram.ts";
export * from "./rows.ts";
