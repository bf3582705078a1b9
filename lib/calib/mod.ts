// SPDX-License-Identifier: MIT
/**
 * Calibration: the bundled corpus and seeded calibration samples; one activation capture
 * through the model hooks with pluggable accumulators (inputs, absmax, mean |x|, XᵀX, moments,
 * histograms), streamed batch by batch (all linears in one pass; the
 * sequential, quantized-prefix drivers live in `lib/pipeline`); per-channel activation statistics as Arrow
 * tables; error and quantizability metrics.
 *
 * @example
 * ```ts ignore
 * import { calibrationSamples, collectHessians, loadSplit } from "./mod.ts";
 * const train = await loadSplit("train");                       // UTF-8 bytes = token ids
 * const calib = calibrationSamples(train, { nSamples: 128, seqLen: 256, seed: 0 });
 * const H = await collectHessians(model, calib, 256);           // name → f64 [in, in]
 * ```
 *
 * @module
 */
export * from "./corpus.ts";
export * from "./hessian.ts";
export * from "./capture.ts";
export * from "./accumulators/mod.ts";
export * from "./metrics.ts";
export * from "./act_stats.ts";
