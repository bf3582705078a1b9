// SPDX-License-Identifier: MIT
/**
 * Equal-width histogram counts, shared by the tensor display (`display.ts`) and the Plotly
 * builders in `lib/viz`. Binning follows `numpy.histogram`: `bins` equal bins over
 * `[lo, hi]`, every bin half-open `[a, b)` except the last, which includes `hi`.
 *
 * @module
 */

/** Result of {@link histogramCounts}. */
export interface HistogramCounts {
  /** Bin edges, `bins + 1` values from `lo` to `hi`. */
  edges: number[];
  /** Number of values per bin, `bins` values. */
  counts: number[];
  /** Finite values outside `[lo, hi]` (only possible with an explicit range). */
  outside: number;
  /** NaN and ±Inf values, never binned. */
  nonFinite: number;
}

/**
 * Counts `n` values (read through `value(i)`) into `bins` equal-width bins.
 *
 * @param n number of values
 * @param value reads value `i` (lets callers decode f16 bits or skip copies)
 * @param bins number of bins, a positive integer
 * @param range `[lo, hi]`; defaults to the finite min and max. An empty range `lo == hi`
 *   widens to `[lo - 0.5, hi + 0.5]` like numpy.
 * @returns edges, counts, and how many values were outside the range or not finite
 */
export function histogramCounts(
  n: number,
  value: (i: number) => number,
  bins: number,
  range?: readonly [number, number],
): HistogramCounts {
  if (!Number.isInteger(bins) || bins < 1) {
    throw new RangeError(`histogramCounts: Cannot use ${bins} bins: bins must be a positive integer`);
  }
  let lo = Infinity;
  let hi = -Infinity;
  let nonFinite = 0;
  if (range) {
    [lo, hi] = range;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
      throw new RangeError(`histogramCounts: Cannot use range [${lo}, ${hi}]: expected finite lo <= hi`);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = value(i);
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo > hi) [lo, hi] = [0, 1]; // no finite value: any range gives all-zero counts
  }
  if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
  const counts = new Array<number>(bins).fill(0);
  const scale = bins / (hi - lo);
  let outside = 0;
  for (let i = 0; i < n; i++) {
    const v = value(i);
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    if (v < lo || v > hi) {
      outside++;
      continue;
    }
    // v == hi lands in the last bin; the clamp also absorbs rounding of (v - lo) * scale.
    const k = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) * scale)));
    counts[k]!++;
  }
  const edges = Array.from({ length: bins + 1 }, (_, k) => k === bins ? hi : lo + k / scale);
  return { edges, counts, outside, nonFinite };
}
