// SPDX-License-Identifier: MIT
/**
 * Calibration data: the bundled corpus splits and seeded calibration samples.
 *
 * @example
 * ```ts ignore
 * import { calibrationSamples, loadSplit } from "./mod.ts";
 * const train = await loadSplit("train");                       // UTF-8 bytes = token ids
 * const calib = calibrationSamples(train, { nSamples: 128, seqLen: 256, seed: 0 });
 * ```
 *
 * @module
 */
export * from "./corpus.ts";
