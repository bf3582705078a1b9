// SPDX-License-Identifier: MIT
/**
 * KL-divergence ("entropy") calibration of an activation clipping threshold (TensorRT's INT8
 * calibrator, Migacz 2017; the MXNet/TVM `_get_optimal_threshold` implementation for the
 * details): histogram |x| into `bins` (2048) equal bins over [0, max|x|]; for every candidate
 * `i ∈ [targetBins, bins]` (number of kept bins):
 *
 * 1. P = the first i bins, with all outliers (bins ≥ i) added to bin i−1;
 * 2. Q = the first i bins (outliers not added) merged into `targetBins` (128) groups of
 *    ⌊i / targetBins⌋ bins (the last group takes the remainder), each group's count then
 *    spread evenly over the bins where P is nonzero;
 * 3. both smoothed (zeros get ε = 1e-4, taken evenly from the nonzero bins), normalised, and
 *    `KL(P ‖ Q) = Σ p·ln(p/q)`.
 *
 * The threshold is the upper edge of the kept range, `i* · binWidth`, for the i* with the
 * smallest divergence (the first one on ties).
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import { tsOps } from "../ops/ts/mod.ts";

/** Smoothing mass given to each empty bin (MXNet's `_smooth_distribution` eps). */
export const KL_SMOOTHING_EPS = 1e-4;

/** Smooths counts in place (MXNet): zeros get eps, nonzeros lose eps·zeros/nonzeros; false when all zero. */
function smooth(p: Float64Array): boolean {
  let zeros = 0;
  for (const v of p) if (v === 0) zeros++;
  const nonzeros = p.length - zeros;
  if (nonzeros === 0) return false;
  const eps1 = (KL_SMOOTHING_EPS * zeros) / nonzeros;
  for (let k = 0; k < p.length; k++) p[k] = p[k] === 0 ? KL_SMOOTHING_EPS : (p[k] as number) - eps1;
  return true;
}

/** KL(P ‖ Q) of two count vectors after normalising each. */
function kl(p: Float64Array, q: Float64Array): number {
  let sp = 0, sq = 0;
  for (let k = 0; k < p.length; k++) {
    sp += p[k] as number;
    sq += q[k] as number;
  }
  let d = 0;
  for (let k = 0; k < p.length; k++) {
    const pk = (p[k] as number) / sp;
    if (pk > 0) d += pk * Math.log(pk / ((q[k] as number) / sq));
  }
  return d;
}

/**
 * Divergence for every number of kept bins.
 *
 * @param hist counts of |x| per bin `[bins]`
 * @param targetBins quantized levels (128 for int8: 2^(b−1))
 * @returns f64 `[bins + 1]`: entry i is KL for keeping i bins (NaN for i < targetBins)
 */
export function klDivergenceCurve(hist: ArrayLike<number>, targetBins = 128): Float64Array {
  const bins = hist.length;
  if (!Number.isInteger(targetBins) || targetBins < 1 || targetBins > bins) {
    throw new RangeError(
      `klDivergenceCurve: Cannot merge into ${targetBins} levels a histogram of ${bins} bins: expected 1 ≤ targetBins ≤ bins`,
    );
  }
  let total = 0;
  for (let k = 0; k < bins; k++) total += hist[k] as number;
  if (!(total > 0)) {
    throw new RangeError(
      "klDivergenceCurve: Cannot calibrate on an empty histogram (no counts): the calibration set is empty",
    );
  }
  const out = new Float64Array(bins + 1).fill(NaN);
  let outliers = 0;
  for (let k = targetBins; k < bins; k++) outliers += hist[k] as number;
  for (let i = targetBins; i <= bins; i++) {
    if (i > targetBins) outliers -= hist[i - 1] as number; // bins ≥ i
    const p = new Float64Array(i), q = new Float64Array(i);
    for (let k = 0; k < i; k++) p[k] = hist[k] as number;
    p[i - 1] = (p[i - 1] as number) + outliers;
    const merged = Math.floor(i / targetBins);
    for (let j = 0; j < targetBins; j++) {
      const start = j * merged, stop = j === targetBins - 1 ? i : start + merged;
      let sum = 0, nz = 0;
      for (let k = start; k < stop; k++) {
        sum += hist[k] as number;
        if (p[k] !== 0) nz++;
      }
      if (nz > 0) { for (let k = start; k < stop; k++) if (p[k] !== 0) q[k] = sum / nz; }
    }
    out[i] = smooth(p) && smooth(q) ? kl(p, q) : Infinity;
  }
  return out;
}

/** Result of {@link klCalibrate}. */
export interface KlCalibration {
  /** Clipping threshold for |x|. */
  threshold: number;
  /** Number of kept bins i*. */
  keptBins: number;
  /** max|x| (the histogram's upper edge). */
  absmax: number;
  /** Bin width, absmax / bins. */
  binWidth: number;
  /** {@link klDivergenceCurve} output. */
  divergence: Float64Array;
}

/** Threshold from a histogram of |x| with `binWidth` (see the module doc). */
export function klThreshold(hist: ArrayLike<number>, binWidth: number, targetBins = 128): KlCalibration {
  const divergence = klDivergenceCurve(hist, targetBins);
  let best = targetBins;
  for (let i = targetBins; i < divergence.length; i++) {
    if ((divergence[i] as number) < (divergence[best] as number)) best = i;
  }
  return { threshold: best * binWidth, keptBins: best, absmax: hist.length * binWidth, binWidth, divergence };
}

/**
 * KL calibration of an activation tensor: histogram of |x| on the backend, then {@link klThreshold}.
 *
 * @param X f32 activations `[tokens, channels]`, finite
 * @param options `bins` (2048), `targetBins` (128), `ops`
 *
 * @example A Gaussian with a few huge outliers is clipped well below its max
 * ```ts
 * import { klCalibrate } from "./kl_calibration.ts";
 * import { randnF32 } from "../tensor/create.ts";
 * import assert from "node:assert/strict";
 * const X = randnF32([256, 64], 0);
 * X.data[7] = 40;
 * const r = await klCalibrate(X, { bins: 512, targetBins: 16 });
 * assert.ok(r.threshold < 10 && r.threshold > 1);
 * ```
 */
export async function klCalibrate(
  X: Tensor<"f32">,
  options: { bins?: number; targetBins?: number; ops?: Ops } = {},
): Promise<KlCalibration> {
  const bins = options.bins ?? 2048, ops = options.ops ?? tsOps;
  if (X.size === 0) {
    throw new RangeError("klCalibrate: Cannot calibrate on an empty tensor: the calibration set is empty");
  }
  let absmax = 0;
  const abs = new Float32Array(X.size); // [1, size] |x|
  for (let i = 0; i < X.size; i++) {
    const v = Math.abs(X.data[i] as number);
    if (!Number.isFinite(v)) {
      throw new RangeError(`klCalibrate: Cannot use 'X': element ${i} is ${X.data[i]} (NaN/Inf not allowed)`);
    }
    abs[i] = v;
    absmax = Math.max(absmax, v);
  }
  if (absmax === 0) absmax = 1;
  const hist = await ops.histogram(new Tensor("f32", [1, abs.length], abs), bins, 0, absmax);
  return klThreshold(hist.data, absmax / bins, options.targetBins ?? 128);
}
