// SPDX-License-Identifier: MIT
/**
 * Input normalisation for the figure builders: a {@link Series} is a Tensor (any shape, read
 * flat in row-major order) or an array-like of numbers; builders convert it to a plain
 * `number[]` for the figure JSON.
 *
 * @module
 */

import { Tensor } from "../tensor/tensor.ts";
import { f16BitsToF32 } from "../tensor/numeric.ts";

/** Numbers to plot: a Tensor (flattened) or any array-like of numbers (Array, TypedArray). */
export type Series = Tensor | ArrayLike<number>;

/** True for a {@link Series}, false for a record of named series. */
export function isSeries(x: unknown): x is Series {
  return x instanceof Tensor || Array.isArray(x) || ArrayBuffer.isView(x);
}

/** Number of values in a series. */
export function seriesLength(x: Series): number {
  return x instanceof Tensor ? x.size : x.length;
}

/** Reads value `i` of a series as a number (f16 bits decoded). */
export function seriesReader(x: Series): (i: number) => number {
  if (x instanceof Tensor && x.dtype === "f16") return (i) => f16BitsToF32(x.data[i] as number);
  const d = x instanceof Tensor ? x.data : x;
  return (i) => d[i] as number;
}

/**
 * The shortest decimal that reads back as the same f32 (at most 9 significant digits), so
 * that `0.1f` is written `0.1` and not `0.10000000149011612`. Lossless for f32 and f16 data.
 */
export function shortestF32(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  for (let p = 6; p < 9; p++) {
    const r = Number(v.toPrecision(p));
    if (Math.fround(r) === v) return r;
  }
  return v;
}

/**
 * Converts a series to a plain array for figure JSON. f32 and f16 values are written with
 * their shortest round-trip decimal; f64 and integer values unchanged.
 *
 * @param x the series
 * @returns a new `number[]` of `seriesLength(x)` values
 */
export function toNumbers(x: Series): number[] {
  const n = seriesLength(x);
  const read = seriesReader(x);
  const single = x instanceof Float32Array ||
    (x instanceof Tensor && (x.dtype === "f32" || x.dtype === "f16"));
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = single ? shortestF32(read(i)) : read(i);
  return out;
}

/** Normalises a series or a record of named series to `[name, series]` pairs. */
export function namedSeries(x: Series | Record<string, Series>, fallback = ""): [string, Series][] {
  return isSeries(x) ? [[fallback, x]] : Object.entries(x);
}
