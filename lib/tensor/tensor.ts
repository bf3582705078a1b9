// SPDX-License-Identifier: MIT
/**
 * The core tensor type: a dtype, a shape and a contiguous row-major TypedArray.
 *
 * Deliberately small (no strides, no views): algorithms read `data` directly with
 * index arithmetic, and Arrow (see `arrow.ts`) is the interchange layer.
 *
 * @module
 */

/** Element types a {@link Tensor} can hold. `f16` is stored as raw IEEE-754 bits. */
export type DType = "f32" | "f64" | "f16" | "i8" | "u8" | "i32" | "u32";

/** Maps each {@link DType} to the TypedArray that stores it. */
export interface DTypeArrayMap {
  /** IEEE-754 binary32. */
  f32: Float32Array;
  /** IEEE-754 binary64. */
  f64: Float64Array;
  /** IEEE-754 binary16, stored as raw bits (see f16.ts). */
  f16: Uint16Array;
  /** Signed 8-bit integers. */
  i8: Int8Array;
  /** Unsigned 8-bit integers (quantization codes). */
  u8: Uint8Array;
  /** Signed 32-bit integers (token ids, group indices). */
  i32: Int32Array;
  /** Unsigned 32-bit integers (packed code words). */
  u32: Uint32Array;
}

/** Any storage array of a tensor. */
export type TensorData = DTypeArrayMap[DType];

/** All supported dtypes, in a stable order (tests iterate over it). */
export const DTYPES: readonly DType[] = ["f32", "f64", "f16", "i8", "u8", "i32", "u32"];

const CONSTRUCTORS = {
  f32: Float32Array,
  f64: Float64Array,
  f16: Uint16Array,
  i8: Int8Array,
  u8: Uint8Array,
  i32: Int32Array,
  u32: Uint32Array,
} as const;

/** Bytes per element of `dtype`. */
export function bytesPerElement(dtype: DType): number {
  return CONSTRUCTORS[dtype].BYTES_PER_ELEMENT;
}

/** Allocates a zero-filled storage array for `size` elements of `dtype`. */
export function allocate<D extends DType>(dtype: D, size: number): DTypeArrayMap[D] {
  return new CONSTRUCTORS[dtype](size) as DTypeArrayMap[D];
}

/** Returns the dtype a TypedArray stores (Uint16Array is read as f16 bits). */
export function dtypeOf(data: TensorData): DType {
  if (data instanceof Float32Array) return "f32";
  if (data instanceof Float64Array) return "f64";
  if (data instanceof Uint16Array) return "f16";
  if (data instanceof Int8Array) return "i8";
  if (data instanceof Uint8Array) return "u8";
  if (data instanceof Int32Array) return "i32";
  if (data instanceof Uint32Array) return "u32";
  throw new TypeError(`Cannot infer dtype: unsupported array type "${(data as object).constructor.name}"`);
}

/** Number of elements of a shape (1 for a scalar shape `[]`). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Formats a shape for error messages: `[4, 8]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Throws a RangeError unless every dimension is a non-negative integer. */
export function checkShape(fn: string, arg: string, shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `${fn}: Cannot use shape ${formatShape(shape)} for '${arg}': dimensions must be non-negative integers`,
      );
    }
  }
}

const DISPLAY = Symbol.for("Jupyter.display");

/** Hook filled in by `display.ts` so that tensors render in Jupyter without a circular import. */
export const tensorDisplayHook: { render?: (t: Tensor) => Record<string, unknown> } = {};

/**
 * An n-dimensional array: `dtype`, `shape` and row-major contiguous `data`.
 *
 * @example Create and read a tensor
 * ```ts
 * import { Tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const t = new Tensor("f32", [2, 2], new Float32Array([1, 2, 3, 4]));
 * assert.equal(t.size, 4);
 * assert.equal(t.get(1, 0), 3);
 * ```
 */
export class Tensor<D extends DType = DType> {
  /** Element type. */
  readonly dtype: D;
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Row-major contiguous storage of exactly `shapeSize(shape)` elements. */
  readonly data: DTypeArrayMap[D];

  /**
   * Wraps (or allocates) row-major storage as a tensor of `shape`.
   *
   * @param dtype element type
   * @param shape dimensions; their product must equal `data.length`
   * @param data storage; allocated zero-filled when omitted
   */
  constructor(dtype: D, shape: readonly number[], data?: DTypeArrayMap[D]) {
    checkShape("Tensor", "shape", shape);
    const size = shapeSize(shape);
    const stored = data ?? allocate(dtype, size);
    if (dtypeOf(stored) !== dtype) {
      throw new TypeError(
        `Tensor: Cannot store dtype "${dtype}" in a ${stored.constructor.name}: expected ${CONSTRUCTORS[dtype].name}`,
      );
    }
    if (stored.length !== size) {
      throw new RangeError(
        `Tensor: Cannot view ${stored.length} elements as shape ${formatShape(shape)}: it needs ${size}`,
      );
    }
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.data = stored;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Reads one element by multi-index (for tests and small inspections, not hot loops). */
  get(...index: number[]): number {
    return this.data[this.offset("get", index)] as number;
  }

  /** Writes one element by multi-index. */
  set(value: number, ...index: number[]): void {
    this.data[this.offset("set", index)] = value;
  }

  /** Flat offset of a multi-index, bounds-checked (`fn` names the caller in errors). */
  private offset(fn: string, index: number[]): number {
    if (index.length !== this.shape.length) {
      throw new RangeError(
        `Tensor.${fn}: Cannot index shape ${formatShape(this.shape)} with ${index.length} indices`,
      );
    }
    let off = 0;
    for (let i = 0; i < index.length; i++) {
      const d = this.shape[i] as number;
      const k = index[i] as number;
      if (!Number.isInteger(k) || k < 0 || k >= d) {
        throw new RangeError(
          `Tensor.${fn}: Cannot read index ${k} of axis ${i}: shape is ${formatShape(this.shape)}`,
        );
      }
      off = off * d + k;
    }
    return off;
  }

  /** A short text summary: `Tensor<f32>[2, 3]`. */
  toString(): string {
    return `Tensor<${this.dtype}>${formatShape(this.shape)}`;
  }

  /** Jupyter rich display: shape, dtype, statistics and a small histogram. */
  [DISPLAY](): Record<string, unknown> {
    if (tensorDisplayHook.render) return tensorDisplayHook.render(this);
    return { "text/plain": this.toString() };
  }
}

/** A 2-D f32 tensor, the common case for weights `[out, in]` and activations `[tokens, in]`. */
export type Matrix = Tensor<"f32">;

/** Throws unless `t` is 2-D; returns `[rows, cols]`. */
export function dims2(fn: string, arg: string, t: Tensor): [number, number] {
  if (t.rank !== 2) {
    throw new TypeError(`${fn}: Cannot use '${arg}' of shape ${formatShape(t.shape)}: expected a 2-D tensor`);
  }
  return [t.shape[0] as number, t.shape[1] as number];
}

/** Throws a RangeError naming the first NaN/Inf element of `t`. */
export function assertFinite(fn: string, arg: string, t: Tensor): void {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i] as number)) {
      throw new RangeError(
        `${fn}: Cannot use '${arg}' of shape ${formatShape(t.shape)}: element ${i} is ${d[i]} (NaN/Inf not allowed)`,
      );
    }
  }
}
