// SPDX-License-Identifier: MIT
/**
 * Percentile range setting: clip at the p-th percentile of |x| instead of the maximum
 * (typical p = 99.9 or 99.99 for activations, where a few outliers would otherwise
 * stretch the grid). Percentiles interpolate linearly between order statistics
 * (NumPy's default `linear` method).
 *
 * @module
 */
import { assertFinite, type Tensor } from "../tensor/tensor.ts";
import type { QuantSpec } from "./spec.ts";
import { type FormatParams, groupRanges, paramsFromRanges } from "./format_params.ts";

/**
 * The p-th percentile (0 ≤ p ≤ 100) of `values`, linear interpolation.
 *
 * @example
 * ```ts
 * import { percentile } from "./percentile.ts";
 * import assert from "node:assert/strict";
 * assert.equal(percentile([4, 1, 3, 2], 50), 2.5);
 * assert.equal(percentile([4, 1, 3, 2], 100), 4);
 * ```
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: Cannot take percentile ${p}: expected 0 ≤ p ≤ 100`);
  if (values.length === 0) throw new RangeError("percentile: Cannot take a percentile of 0 values");
  const s = Float64Array.from(values as ArrayLike<number>).sort();
  const pos = (p / 100) * (s.length - 1);
  const i = Math.floor(pos), f = pos - i;
  return i + 1 < s.length ? (s[i] as number) * (1 - f) + (s[i + 1] as number) * f : (s[i] as number);
}

/**
 * Symmetric clipping threshold of an activation tensor: the p-th percentile of |x|.
 *
 * @param X f32 activations (any shape), finite
 * @param p percentile (default 99.99)
 */
export function percentileThreshold(X: Tensor<"f32">, p = 99.99): number {
  assertFinite("percentileThreshold", "X", X);
  const a = new Float64Array(X.size);
  for (let i = 0; i < X.size; i++) a[i] = Math.abs(X.data[i] as number);
  return percentile(a, p);
}

/**
 * Parameters of any scaled format (not MX) whose group ranges are clipped at the p-th
 * percentile of |w| in the group: clip ratio `α = percentile(|w_g|, p) / max|w_g|`.
 *
 * @param W f32 `[rows, cols]`
 * @param spec the format
 * @param p percentile (default 99.9)
 * @returns the parameters and the ratio per group f32 `[R·G]`
 */
export function percentileParams(
  W: Tensor<"f32">,
  spec: QuantSpec,
  p = 99.9,
): { params: FormatParams; clip: Float32Array } {
  const fn = "percentileParams";
  if (spec.format === "mx") throw new RangeError(`${fn}: Cannot clip an MX format: its scale is fixed`);
  const ranges = groupRanges(fn, W, spec);
  const { R, G } = ranges;
  const [rows, cols] = W.shape as [number, number];
  const gs = cols / G;
  const buckets: number[][] = Array.from({ length: R * G }, () => []);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      buckets[(R === 1 ? 0 : r * G) + Math.floor(j / gs)]!.push(Math.abs(W.data[r * cols + j] as number));
    }
  }
  const clip = new Float32Array(R * G);
  for (let k = 0; k < R * G; k++) {
    const amax = Math.max(-(ranges.lo[k] as number), ranges.hi[k] as number);
    clip[k] = amax > 0 ? Math.max(Number.MIN_VALUE, percentile(buckets[k]!, p) / amax) : 1;
  }
  return { params: paramsFromRanges(spec, ranges, clip), clip };
}
