// SPDX-License-Identifier: MIT
/**
 * Precomputed box-plot statistics (quartiles, fences, mean) as a Plotly `box` trace, so a
 * box of a million weights is a few numbers of JSON instead of a million points.
 *
 * @module
 */

import type { Trace } from "./figure.ts";

/** Whisker rule: data min/max, or Tukey's fences at 1.5 IQR beyond the quartiles. */
export type Whiskers = "minmax" | "tukey";

/** Quantile `q` of ascending `sorted` by linear interpolation (numpy's default method). */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const i = Math.floor(pos);
  const frac = pos - i;
  const a = sorted[i]!;
  return frac === 0 ? a : a + frac * (sorted[i + 1]! - a);
}

/**
 * A precomputed Plotly box trace of the finite values among `n` values read by `value`.
 *
 * @param name box label (category on the x axis)
 * @param n number of values
 * @param value reads value `i`
 * @param whiskers whisker rule
 */
export function boxTrace(name: string, n: number, value: (i: number) => number, whiskers: Whiskers): Trace {
  const finite: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = value(i);
    if (Number.isFinite(v)) finite.push(v);
  }
  if (finite.length === 0) {
    throw new RangeError(`box: Cannot draw box "${name}" of ${n} values: it has no finite value`);
  }
  const sorted = Float64Array.from(finite).sort();
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  let lo = sorted[0]!;
  let hi = sorted[sorted.length - 1]!;
  if (whiskers === "tukey") {
    // Fences end at the most extreme data point within 1.5 IQR of the box.
    const iqr = q3 - q1;
    lo = sorted.find((v) => v >= q1 - 1.5 * iqr) ?? lo;
    hi = sorted.findLast((v) => v <= q3 + 1.5 * iqr) ?? hi;
  }
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  return {
    type: "box",
    name,
    x: [name],
    q1: [q1],
    median: [quantileSorted(sorted, 0.5)],
    q3: [q3],
    lowerfence: [lo],
    upperfence: [hi],
    mean: [mean],
    boxmean: true,
  };
}
