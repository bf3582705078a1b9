// SPDX-License-Identifier: MIT
/**
 * Shape manipulation: reshape, row/column slicing, transpose copy, concatenation, dtype conversion.
 * All return new tensors except `reshape`, which shares the storage.
 *
 * @module
 */
import { allocate, dims2, type DType, formatShape, shapeSize, Tensor } from "./tensor.ts";
import { bf16BitsToF32, f16BitsToF32, f32ToF16Bits, roundHalfEven } from "./numeric.ts";

/**
 * Same data, new shape (one dimension may be -1). Shares storage with `t`.
 *
 * @example
 * ```ts
 * import { tensor } from "./create.ts";
 * import { reshape } from "./manip.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(reshape(tensor([1, 2, 3, 4, 5, 6]), [2, -1]).shape, [2, 3]);
 * ```
 */
export function reshape<D extends DType>(t: Tensor<D>, shape: readonly number[]): Tensor<D> {
  const free = shape.filter((d) => d === -1).length;
  if (free > 1) throw new RangeError(`reshape: Cannot infer more than one -1 in shape ${formatShape(shape)}`);
  const known = shapeSize(shape.filter((d) => d !== -1));
  const resolved = shape.map((d) => (d === -1 ? (known === 0 ? 0 : t.size / known) : d));
  if (shapeSize(resolved) !== t.size || !resolved.every(Number.isInteger)) {
    throw new RangeError(
      `reshape: Cannot reshape tensor of shape ${formatShape(t.shape)} (${t.size} elements) to ${formatShape(shape)}`,
    );
  }
  return new Tensor(t.dtype, resolved, t.data);
}

/** Rows `[start, end)` of a tensor along axis 0, copied. */
export function sliceRows<D extends DType>(t: Tensor<D>, start: number, end: number): Tensor<D> {
  const rows = t.shape[0];
  if (rows === undefined) throw new TypeError(`sliceRows: Cannot slice a scalar tensor`);
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= rows)) {
    throw new RangeError(`sliceRows: Cannot take rows [${start}, ${end}) of tensor of shape ${formatShape(t.shape)}`);
  }
  const inner = rows === 0 ? 0 : t.size / rows;
  const data = t.data.slice(start * inner, end * inner) as typeof t.data;
  return new Tensor(t.dtype, [end - start, ...t.shape.slice(1)], data);
}

/** Columns `[start, end)` of a 2-D tensor, copied. */
export function sliceCols<D extends DType>(t: Tensor<D>, start: number, end: number): Tensor<D> {
  const [rows, cols] = dims2("sliceCols", "t", t);
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= cols)) {
    throw new RangeError(
      `sliceCols: Cannot take columns [${start}, ${end}) of tensor of shape ${formatShape(t.shape)}`,
    );
  }
  const w = end - start;
  const out = allocate(t.dtype, rows * w);
  for (let r = 0; r < rows; r++) out.set(t.data.subarray(r * cols + start, r * cols + end), r * w);
  return new Tensor(t.dtype, [rows, w], out);
}

/** Writes the 2-D `src` into columns `[start, start + src.cols)` of `dst` in place. */
export function setCols<D extends DType>(dst: Tensor<D>, start: number, src: Tensor<D>): void {
  const [rows, cols] = dims2("setCols", "dst", dst);
  const [srows, scols] = dims2("setCols", "src", src);
  if (srows !== rows || start < 0 || start + scols > cols) {
    throw new RangeError(
      `setCols: Cannot write src of shape ${formatShape(src.shape)} at column ${start} of dst of shape ${
        formatShape(dst.shape)
      }`,
    );
  }
  for (let r = 0; r < rows; r++) dst.data.set(src.data.subarray(r * scols, (r + 1) * scols), r * cols + start);
}

/** Transposed copy of a 2-D tensor (blocked for cache). */
export function transpose<D extends DType>(t: Tensor<D>): Tensor<D> {
  const [rows, cols] = dims2("transpose", "t", t);
  const out = allocate(t.dtype, rows * cols);
  const src = t.data;
  const B = 32;
  for (let i0 = 0; i0 < rows; i0 += B) {
    const i1 = Math.min(i0 + B, rows);
    for (let j0 = 0; j0 < cols; j0 += B) {
      const j1 = Math.min(j0 + B, cols);
      for (let i = i0; i < i1; i++) {
        for (let j = j0; j < j1; j++) out[j * rows + i] = src[i * cols + j] as number;
      }
    }
  }
  return new Tensor(t.dtype, [cols, rows], out);
}

/** Concatenates tensors along axis 0 (all other dimensions must match). */
export function concatRows<D extends DType>(parts: readonly Tensor<D>[]): Tensor<D> {
  const first = parts[0];
  if (!first) throw new RangeError("concatRows: Cannot concatenate an empty list of tensors");
  const inner = first.shape.slice(1);
  let rows = 0;
  for (const [i, p] of parts.entries()) {
    if (p.dtype !== first.dtype || formatShape(p.shape.slice(1)) !== formatShape(inner)) {
      throw new TypeError(
        `concatRows: Cannot concatenate part ${i} of shape ${formatShape(p.shape)} (${p.dtype}) with part 0 of shape ${
          formatShape(first.shape)
        } (${first.dtype})`,
      );
    }
    rows += p.shape[0] as number;
  }
  const out = allocate(first.dtype, rows * shapeSize(inner));
  let off = 0;
  for (const p of parts) {
    out.set(p.data, off);
    off += p.size;
  }
  return new Tensor(first.dtype, [rows, ...inner], out);
}

/** Reads element i of any tensor as a number (f16 bits decoded). */
export function valueAt(t: Tensor, i: number): number {
  const v = t.data[i] as number;
  return t.dtype === "f16" ? f16BitsToF32(v) : v;
}

/**
 * Converts to another dtype. Floats → integers round half to even and saturate to the
 * target range; NaN → integer is rejected.
 */
export function astype<D extends DType>(t: Tensor, dtype: D): Tensor<D> {
  if (t.dtype === dtype) return new Tensor(dtype, t.shape, t.data.slice() as Tensor<D>["data"]);
  const out = allocate(dtype, t.size);
  const range = INT_RANGE[dtype];
  for (let i = 0; i < t.size; i++) {
    const v = valueAt(t, i);
    if (dtype === "f16") out[i] = f32ToF16Bits(v);
    else if (range) {
      if (Number.isNaN(v)) throw new RangeError(`astype: Cannot convert NaN at element ${i} to ${dtype}`);
      out[i] = Math.min(range[1], Math.max(range[0], roundHalfEven(v)));
    } else out[i] = v;
  }
  return new Tensor(dtype, t.shape, out);
}

/** Decodes raw bfloat16 bits (as stored by safetensors BF16) into an f32 tensor. */
export function bf16ToF32(bits: Uint16Array, shape: readonly number[]): Tensor<"f32"> {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bf16BitsToF32(bits[i] as number);
  return new Tensor("f32", shape, out);
}

const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  i8: [-128, 127],
  u8: [0, 255],
  i32: [-2147483648, 2147483647],
  u32: [0, 4294967295],
};
