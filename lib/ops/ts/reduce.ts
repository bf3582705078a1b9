// SPDX-License-Identifier: MIT
/**
 * Reductions (min, max, absmax, sum, sumsq, mean, population std) of a 2-D f32 tensor
 * along rows, columns, contiguous groups of a row, or everything; and histograms.
 * Accumulation is f64 and the result is rounded to f32 once. `std` uses two passes
 * (mean, then the mean squared deviation), which avoids the cancellation of
 * `E[x²] − E[x]²` on activations with a large mean.
 *
 * NaN/Inf inputs are not rejected by `reduce` (one pass over data matters for activation
 * statistics); min/max propagate NaN. `histogram` rejects NaN and clamps ±Inf.
 *
 * @module
 */
import { formatShape, Tensor } from "../../tensor/tensor.ts";
import type { ReduceAxis, ReduceOp } from "../ops.ts";
import { matrix, nonFinite } from "./_check.ts";

const REDUCE_OPS: readonly ReduceOp[] = ["min", "max", "absmax", "sum", "sumsq", "mean", "std"];

/**
 * Reduction of a 2-D f32 tensor along an axis.
 *
 * @param x f32 `[rows, cols]`
 * @param op one of min, max, absmax, sum, sumsq, mean, std (population)
 * @param axis "rows" → `[rows]`, "cols" → `[cols]`, `{ groupSize }` → `[rows, cols / groupSize]`,
 *   "all" → `[1]`
 * @returns f32 result (f64 accumulation)
 * @throws {RangeError} when a reduced set is empty or groupSize does not divide cols
 *
 * @example Row sums
 * ```ts
 * import { reduce } from "./reduce.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const x = new Tensor("f32", [2, 2], new Float32Array([1, 2, 3, 4]));
 * assert.deepEqual(Array.from(reduce(x, "sum", "rows").data), [3, 7]);
 * assert.deepEqual(Array.from(reduce(x, "absmax", "cols").data), [3, 4]);
 * ```
 */
export function reduce(x: Tensor<"f32">, op: ReduceOp, axis: ReduceAxis): Tensor<"f32"> {
  const fn = "reduce";
  const [rows, cols] = matrix(fn, "x", x, "f32");
  if (!REDUCE_OPS.includes(op)) {
    throw new RangeError(`${fn}: Cannot apply op "${op}": expected one of ${REDUCE_OPS.join(", ")}`);
  }
  const data = x.data;
  const empty = (len: number) =>
    new RangeError(
      `${fn}: Cannot compute "${op}" of x of shape ${formatShape(x.shape)} along ${
        JSON.stringify(axis)
      }: the reduced set has ${len} elements`,
    );

  if (axis === "cols") {
    if (rows === 0 && cols > 0) throw empty(0);
    return new Tensor("f32", [cols], reduceColumns(data, rows, cols, op));
  }
  // Everything else reduces contiguous segments of length `len`.
  let len: number;
  let count: number;
  let shape: number[];
  if (axis === "rows") {
    [len, count, shape] = [cols, rows, [rows]];
  } else if (axis === "all") {
    [len, count, shape] = [rows * cols, 1, [1]];
  } else if (typeof axis === "object" && axis !== null && "groupSize" in axis) {
    const g = axis.groupSize;
    if (!Number.isInteger(g) || g < 1 || cols % g !== 0) {
      throw new RangeError(
        `${fn}: Cannot group ${cols} columns into groups of ${g}: groupSize must be a positive divisor of cols`,
      );
    }
    [len, count, shape] = [g, rows * (cols / g), [rows, cols / g]];
  } else {
    throw new RangeError(
      `${fn}: Cannot reduce along ${JSON.stringify(axis)}: expected "rows", "cols", "all" or { groupSize }`,
    );
  }
  if (count > 0 && len === 0) throw empty(0);
  const out = new Float32Array(count);
  for (let s = 0; s < count; s++) out[s] = reduceSegment(data, s * len, len, op);
  return new Tensor("f32", shape, out);
}

/** Reduces `d[off .. off+len)` (len ≥ 1) in f64. */
function reduceSegment(d: Float32Array, off: number, len: number, op: ReduceOp): number {
  const end = off + len;
  switch (op) {
    case "min": {
      let m = Infinity;
      for (let i = off; i < end; i++) m = Math.min(m, d[i] as number);
      return m;
    }
    case "max": {
      let m = -Infinity;
      for (let i = off; i < end; i++) m = Math.max(m, d[i] as number);
      return m;
    }
    case "absmax": {
      let m = 0;
      for (let i = off; i < end; i++) m = Math.max(m, Math.abs(d[i] as number));
      return m;
    }
    case "sum":
    case "mean": {
      let s = 0;
      for (let i = off; i < end; i++) s += d[i] as number;
      return op === "sum" ? s : s / len;
    }
    case "sumsq": {
      let s = 0;
      for (let i = off; i < end; i++) s += (d[i] as number) ** 2;
      return s;
    }
    case "std": {
      let s = 0;
      for (let i = off; i < end; i++) s += d[i] as number;
      const mean = s / len;
      let v = 0;
      for (let i = off; i < end; i++) v += ((d[i] as number) - mean) ** 2;
      return Math.sqrt(v / len);
    }
  }
}

/** Reduces each column of a `[rows, cols]` array (rows ≥ 1) with per-column f64 accumulators. */
function reduceColumns(d: Float32Array, rows: number, cols: number, op: ReduceOp): Float32Array {
  const acc = new Float64Array(cols);
  if (op === "min") acc.fill(Infinity);
  if (op === "max") acc.fill(-Infinity);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    switch (op) {
      case "min":
        for (let c = 0; c < cols; c++) acc[c] = Math.min(acc[c] as number, d[o + c] as number);
        break;
      case "max":
        for (let c = 0; c < cols; c++) acc[c] = Math.max(acc[c] as number, d[o + c] as number);
        break;
      case "absmax":
        for (let c = 0; c < cols; c++) acc[c] = Math.max(acc[c] as number, Math.abs(d[o + c] as number));
        break;
      case "sumsq":
        for (let c = 0; c < cols; c++) acc[c] = (acc[c] as number) + (d[o + c] as number) ** 2;
        break;
      default: // sum, mean, std (first pass)
        for (let c = 0; c < cols; c++) acc[c] = (acc[c] as number) + (d[o + c] as number);
    }
  }
  if (op === "mean" || op === "std") { for (let c = 0; c < cols; c++) acc[c] = (acc[c] as number) / rows; }
  if (op === "std") {
    const v = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      for (let c = 0; c < cols; c++) v[c] = (v[c] as number) + ((d[o + c] as number) - (acc[c] as number)) ** 2;
    }
    for (let c = 0; c < cols; c++) acc[c] = Math.sqrt((v[c] as number) / rows);
  }
  return Float32Array.from(acc);
}

/**
 * Histogram of all elements into `bins` equal-width bins over [lo, hi]. Element v goes to
 * bin `floor((v − lo) · bins / (hi − lo))` (computed in f64), clamped to [0, bins − 1]:
 * values below lo land in bin 0, values ≥ hi (and +Inf) in the last bin.
 *
 * @param x f32 tensor of any shape (no NaN)
 * @param bins positive integer
 * @param lo finite lower edge
 * @param hi finite upper edge, > lo
 * @returns u32 `[bins]` counts
 *
 * @example Four values into two bins
 * ```ts
 * import { histogram } from "./reduce.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const x = new Tensor("f32", [4], new Float32Array([-5, 0.2, 0.7, 1]));
 * assert.deepEqual(Array.from(histogram(x, 2, 0, 1).data), [2, 2]);
 * ```
 */
export function histogram(x: Tensor<"f32">, bins: number, lo: number, hi: number): Tensor<"u32"> {
  const fn = "histogram";
  if (x.dtype !== "f32") {
    throw new TypeError(
      `${fn}: Cannot use 'x' of dtype "${x.dtype}" and shape ${formatShape(x.shape)}: expected dtype "f32"`,
    );
  }
  if (!Number.isInteger(bins) || bins < 1) {
    throw new RangeError(`${fn}: Cannot use ${bins} bins: bins must be a positive integer`);
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
    throw new RangeError(`${fn}: Cannot bin over [${lo}, ${hi}]: bounds must be finite with lo < hi`);
  }
  const counts = new Uint32Array(bins);
  const d = x.data;
  const k = bins / (hi - lo);
  const last = bins - 1;
  for (let i = 0; i < d.length; i++) {
    const v = d[i] as number;
    if (v !== v) throw nonFinite(fn, "x", x, i);
    const b = Math.floor((v - lo) * k);
    const idx = b < 0 ? 0 : b > last ? last : b;
    counts[idx] = (counts[idx] as number) + 1;
  }
  return new Tensor("u32", [bins], counts);
}
