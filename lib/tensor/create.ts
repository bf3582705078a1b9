// SPDX-License-Identifier: MIT
/**
 * Tensor creation: zeros, full, from nested arrays, seeded random (uniform / normal), arange.
 *
 * @module
 */
import { type DType, formatShape, shapeSize, Tensor } from "./tensor.ts";
import { Rng } from "./random.ts";
import { f32ToF16Bits } from "./numeric.ts";

/** Options of the random creators. */
export interface RandomOptions {
  /** Seed of the {@link Rng}; required so that every random tensor is reproducible. */
  seed: number;
  /** Element type, `f32` (default) or `f64`. */
  dtype?: "f32" | "f64";
}

/** A zero-filled tensor. */
export function zeros<D extends DType = "f32">(shape: readonly number[], dtype?: D): Tensor<D> {
  return new Tensor((dtype ?? "f32") as D, shape);
}

/** A tensor filled with `value` (f16 values are converted to bits). */
export function full<D extends DType = "f32">(shape: readonly number[], value: number, dtype?: D): Tensor<D> {
  const t = zeros(shape, dtype);
  t.data.fill(t.dtype === "f16" ? f32ToF16Bits(value) : value);
  return t;
}

/** The n×n identity matrix. */
export function eye<D extends "f32" | "f64" = "f32">(n: number, dtype?: D): Tensor<D> {
  const t = zeros([n, n], dtype ?? ("f32" as D));
  for (let i = 0; i < n; i++) t.data[i * n + i] = 1;
  return t;
}

/** `[start, start+1, ..., stop-1]` as a 1-D tensor. */
export function arange(start: number, stop: number, dtype: "f32" | "f64" | "i32" = "f32"): Tensor {
  const n = Math.max(0, Math.ceil(stop - start));
  const t = zeros([n], dtype);
  for (let i = 0; i < n; i++) t.data[i] = start + i;
  return t;
}

/** A number or a (rectangular) nested array of numbers, as accepted by {@link tensor}. */
export type NestedNumbers = number | readonly NestedNumbers[];

/**
 * Builds a tensor from nested arrays; every level must be rectangular.
 *
 * @example
 * ```ts
 * import { tensor } from "./create.ts";
 * import assert from "node:assert/strict";
 * const t = tensor([[1, 2, 3], [4, 5, 6]]);
 * assert.deepEqual(t.shape, [2, 3]);
 * ```
 */
export function tensor<D extends DType = "f32">(values: NestedNumbers, dtype?: D): Tensor<D> {
  const shape: number[] = [];
  let probe: NestedNumbers = values;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = (probe as readonly NestedNumbers[])[0] as NestedNumbers;
    if (probe === undefined) break;
  }
  const flat: number[] = [];
  const walk = (v: NestedNumbers, depth: number, path: string) => {
    if (depth === shape.length) {
      if (typeof v !== "number") {
        throw new TypeError(`tensor: Cannot read 'values${path}': expected a number at depth ${depth}, got an array`);
      }
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new TypeError(
        `tensor: Cannot build a tensor from ragged 'values': 'values${path}' should be an array of length ${
          shape[depth]
        } (shape ${formatShape(shape)})`,
      );
    }
    (v as readonly NestedNumbers[]).forEach((x, i) => walk(x, depth + 1, `${path}[${i}]`));
  };
  walk(values, 0, "");
  const t = zeros(shape, dtype);
  if (t.dtype === "f16") flat.forEach((x, i) => (t.data[i] = f32ToF16Bits(x)));
  else t.data.set(flat);
  return t;
}

/**
 * Standard normal samples from the seeded {@link Rng}, times `std`.
 *
 * @example
 * ```ts
 * import { randn } from "./create.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(randn([2, 3], { seed: 1 }).data, randn([2, 3], { seed: 1 }).data);
 * ```
 */
export function randn(shape: readonly number[], options: RandomOptions & { std?: number }): Tensor<"f32" | "f64"> {
  const t = zeros(shape, options.dtype ?? "f32");
  const rng = new Rng(options.seed);
  const std = options.std ?? 1;
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * std;
  return t;
}

/** Uniform samples in [lo, hi) from the seeded {@link Rng}. */
export function rand(
  shape: readonly number[],
  options: RandomOptions & { lo?: number; hi?: number },
): Tensor<"f32" | "f64"> {
  const t = zeros(shape, options.dtype ?? "f32");
  const rng = new Rng(options.seed);
  const lo = options.lo ?? 0;
  const span = (options.hi ?? 1) - lo;
  for (let i = 0; i < t.size; i++) t.data[i] = lo + rng.uniform() * span;
  return t;
}

/** f32 `randn` typed as f32 (the common case in tests and notebooks). */
export function randnF32(shape: readonly number[], seed: number, std = 1): Tensor<"f32"> {
  return randn(shape, { seed, std }) as Tensor<"f32">;
}

/** Number of elements a shape holds, re-exported for convenience. */
export { shapeSize };
