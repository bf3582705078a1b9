// SPDX-License-Identifier: MIT
/**
 * Basic elementwise math on float tensors: binary ops with same-shape, scalar or
 * trailing-row broadcasting, unary maps, and whole-tensor statistics.
 *
 * @module
 */
import { allocate, formatShape, Tensor } from "./tensor.ts";

/** Float tensors the elementwise ops accept. */
export type FloatTensor = Tensor<"f32"> | Tensor<"f64">;

/** Second operand of the elementwise ops: an f32/f64 tensor (same or trailing shape) or a scalar. */
export type TensorOperand = Tensor<"f32" | "f64"> | number;

function binary(fn: string, a: FloatTensor, b: TensorOperand, op: (x: number, y: number) => number): FloatTensor {
  const out = allocate(a.dtype, a.size);
  const x = a.data;
  if (typeof b === "number") {
    for (let i = 0; i < x.length; i++) out[i] = op(x[i] as number, b);
  } else {
    const y = b.data;
    // Same shape, or b matches the trailing dimensions of a (a row vector broadcast over rows).
    const trailing = a.shape.slice(a.rank - b.rank);
    if (b.rank > a.rank || formatShape(trailing) !== formatShape(b.shape)) {
      throw new TypeError(
        `${fn}: Cannot broadcast b of shape ${formatShape(b.shape)} to a of shape ${formatShape(a.shape)}`,
      );
    }
    const n = y.length;
    for (let i = 0; i < x.length; i++) out[i] = op(x[i] as number, y[i % n] as number);
  }
  return new Tensor(a.dtype, a.shape, out) as FloatTensor;
}

/** a + b (b: same shape, trailing shape, or scalar). */
export function add<T extends FloatTensor>(a: T, b: TensorOperand): T {
  return binary("add", a, b, (x, y) => x + y) as T;
}
/** a − b. */
export function sub<T extends FloatTensor>(a: T, b: TensorOperand): T {
  return binary("sub", a, b, (x, y) => x - y) as T;
}
/** a ⊙ b. */
export function mul<T extends FloatTensor>(a: T, b: TensorOperand): T {
  return binary("mul", a, b, (x, y) => x * y) as T;
}
/** a ⊘ b. */
export function div<T extends FloatTensor>(a: T, b: TensorOperand): T {
  return binary("div", a, b, (x, y) => x / y) as T;
}

/** Applies `f` to every element. */
export function map<T extends FloatTensor>(a: T, f: (x: number, i: number) => number): T {
  const out = allocate(a.dtype, a.size);
  for (let i = 0; i < a.size; i++) out[i] = f(a.data[i] as number, i);
  return new Tensor(a.dtype, a.shape, out) as T;
}

/** |a|. */
export function abs<T extends FloatTensor>(a: T): T {
  return map(a, Math.abs);
}

/** Summary statistics of all elements (f64 accumulation; NaN/Inf counted, not included). */
export interface TensorStats {
  /** Smallest finite element (Infinity when there is none). */
  min: number;
  /** Largest finite element (−Infinity when there is none). */
  max: number;
  /** Mean of the finite elements (NaN when there is none). */
  mean: number;
  /** Population standard deviation of the finite elements. */
  std: number;
  /** max(|min|, |max|). */
  absmax: number;
  /** Number of NaN/±Inf elements (excluded from the other statistics). */
  nonFinite: number;
  /** Number of finite elements. */
  count: number;
}

/**
 * Statistics of a numeric tensor (any dtype; f16 decoded by the caller through `values`).
 *
 * @example
 * ```ts
 * import { tensor } from "./create.ts";
 * import { stats } from "./math.ts";
 * import assert from "node:assert/strict";
 * assert.equal(stats(tensor([1, 2, 3])).mean, 2);
 * ```
 */
export function stats(t: Tensor, values: (i: number) => number = (i) => t.data[i] as number): TensorStats {
  let min = Infinity, max = -Infinity, sum = 0, sumsq = 0, nonFinite = 0, count = 0;
  for (let i = 0; i < t.size; i++) {
    const v = values(i);
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    count++;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sumsq += v * v;
  }
  const mean = count ? sum / count : NaN;
  const std = count ? Math.sqrt(Math.max(0, sumsq / count - mean * mean)) : NaN;
  return { min, max, mean, std, absmax: Math.max(Math.abs(min), Math.abs(max)), nonFinite, count };
}

/** Largest |a − b| over all elements (shapes must match). */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  if (formatShape(a.shape) !== formatShape(b.shape)) {
    throw new TypeError(
      `maxAbsDiff: Cannot compare tensors of shape ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  }
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs((a.data[i] as number) - (b.data[i] as number)));
  return m;
}
