// SPDX-License-Identifier: MIT
// deno-lint-ignore-file camelcase -- ggml type names (Q4_0, Q4_1, Q8_0) are kept exactly, as STYLE asks
/**
 * ggml tensor types F32, F16, Q8_0, Q4_0 and Q4_1, laid out byte for byte as ggml defines them
 * (`ggml/src/ggml-common.h`: `block_q4_0`, `block_q4_1`, `block_q8_0`; `ggml/src/ggml-quants.c`:
 * `quantize_row_*_ref`, `dequantize_row_*`), written from that public description.
 *
 * A quantized row of n values is n / 32 blocks, stored back to back, little-endian:
 *
 * | type | block (bytes) | value of element j |
 * |---|---|---|
 * | Q4_0 | `f16 d; u8 qs[16]` (18) | `(q − 8)·d`, q = low nibble of `qs[j]` (j < 16) or high nibble of `qs[j − 16]` |
 * | Q4_1 | `f16 d; f16 m; u8 qs[16]` (20) | `q·d + m`, nibbles as Q4_0 |
 * | Q8_0 | `f16 d; i8 qs[32]` (34) | `qs[j]·d` |
 *
 * Three kinds of functions per type: `encode*` packs given codes and f16 scales exactly (the
 * exporter's path: quantlab already chose the codes); `quantizeRow*Ref` is ggml's own reference
 * quantizer, rounding included (what `llama-quantize` does to a float row); `dequantizeRow*` is
 * ggml's decoder. Each block writer checks that it filled exactly the block's byte size, the
 * counterpart of ggml's `static_assert(sizeof(block_q4_0) == sizeof(ggml_half) + QK4_0 / 2)`.
 *
 * Symbols: `d` the block scale (delta), `id = 1/d`, `m` the block minimum (Q4_1), `qs` the quants.
 *
 * @module
 */
import { f16BitsToF32, f32ToF16Bits } from "../tensor/numeric.ts";

/** Elements per Q4_0 block (ggml `QK4_0`). */
export const QK4_0 = 32;
/** Elements per Q4_1 block (ggml `QK4_1`). */
export const QK4_1 = 32;
/** Elements per Q8_0 block (ggml `QK8_0`). */
export const QK8_0 = 32;
/** `sizeof(ggml_half)`. */
export const GGML_HALF_BYTES = 2;

/** `sizeof(block_q4_0)`: `ggml_half d; uint8_t qs[QK4_0 / 2]`. */
export const BLOCK_Q4_0_BYTES = GGML_HALF_BYTES + QK4_0 / 2;
/** `sizeof(block_q4_1)`: `ggml_half d; ggml_half m; uint8_t qs[QK4_1 / 2]`. */
export const BLOCK_Q4_1_BYTES = 2 * GGML_HALF_BYTES + QK4_1 / 2;
/** `sizeof(block_q8_0)`: `ggml_half d; int8_t qs[QK8_0]`. */
export const BLOCK_Q8_0_BYTES = GGML_HALF_BYTES + QK8_0;

/** The ggml tensor types this module writes. */
export type GgmlType = "F32" | "F16" | "Q4_0" | "Q4_1" | "Q8_0";

/** ggml's `enum ggml_type` id, elements per block and bytes per block of each type. */
export const GGML_TYPES: Readonly<Record<GgmlType, { id: number; blockSize: number; typeSize: number }>> = {
  F32: { id: 0, blockSize: 1, typeSize: 4 },
  F16: { id: 1, blockSize: 1, typeSize: 2 },
  Q4_0: { id: 2, blockSize: QK4_0, typeSize: BLOCK_Q4_0_BYTES },
  Q4_1: { id: 3, blockSize: QK4_1, typeSize: BLOCK_Q4_1_BYTES },
  Q8_0: { id: 8, blockSize: QK8_0, typeSize: BLOCK_Q8_0_BYTES },
};

/** A block writer advanced by a different number of bytes than the block's size (a layout bug). */
export class GgmlLayoutError extends Error {
  /** Error name. */
  override name = "GgmlLayoutError";
}

function blockWritten(type: GgmlType, start: number, end: number): void {
  const size = GGML_TYPES[type].typeSize;
  if (end - start !== size) {
    throw new GgmlLayoutError(`${type} block: Cannot write ${end - start} bytes: sizeof(block_${type}) is ${size}`);
  }
}

/**
 * Bytes of one row of `n` elements of `type` (ggml's `ggml_row_size`).
 *
 * @param type the ggml type
 * @param n elements in the row (ggml's `ne[0]`)
 * @returns bytes
 * @throws {RangeError} when `n` is not a multiple of the type's block size
 *
 * @example
 * ```ts
 * import { ggmlRowBytes } from "./ggml_blocks.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ggmlRowBytes("Q4_0", 256), 8 * 18);
 * assert.equal(ggmlRowBytes("F16", 3), 6);
 * ```
 */
export function ggmlRowBytes(type: GgmlType, n: number): number {
  const { blockSize, typeSize } = GGML_TYPES[type];
  if (!Number.isInteger(n) || n < 0 || n % blockSize !== 0) {
    throw new RangeError(
      `ggmlRowBytes: Cannot store a row of ${n} elements as ${type}: the length must be a multiple of ${blockSize}`,
    );
  }
  return (n / blockSize) * typeSize;
}

/** Little-endian f32 bytes of `x`. */
export function encodeF32(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length * 4);
  const v = new DataView(out.buffer);
  for (let i = 0; i < x.length; i++) v.setFloat32(i * 4, x[i] as number, true);
  return out;
}

/** Little-endian f16 bytes of `x`, each value rounded to nearest even (as `GGML_FP32_TO_FP16`). */
export function encodeF16(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length * 2);
  const v = new DataView(out.buffer);
  for (let i = 0; i < x.length; i++) v.setUint16(i * 2, f32ToF16Bits(x[i] as number), true);
  return out;
}

/** Values of little-endian f32 bytes. */
export function decodeF32(bytes: Uint8Array): Float32Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = v.getFloat32(i * 4, true);
  return out;
}

/** Values of little-endian f16 bytes. */
export function decodeF16(bytes: Uint8Array): Float32Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = f16BitsToF32(v.getUint16(i * 2, true));
  return out;
}

function checkBlocks(fn: string, n: number, qk: number, params: number, what: string): number {
  if (n % qk !== 0) throw new RangeError(`${fn}: Cannot pack ${n} codes: the count must be a multiple of ${qk}`);
  if (params !== n / qk) {
    throw new RangeError(`${fn}: Cannot pack ${n} codes with ${params} ${what}: expected one per ${qk} codes`);
  }
  return n / qk;
}

/** Writes 32 nibbles: element j in the low nibble of `qs[j]`, element j + 16 in the high nibble. */
function packNibbles(out: Uint8Array, o: number, q: Uint8Array, base: number): void {
  for (let j = 0; j < 16; j++) {
    out[o + j] = ((q[base + j] as number) & 0x0f) | (((q[base + j + 16] as number) & 0x0f) << 4);
  }
}

function checkNibbles(fn: string, q: Uint8Array): void {
  for (let i = 0; i < q.length; i++) {
    if ((q[i] as number) > 15) throw new RangeError(`${fn}: Cannot pack code ${q[i]} at ${i}: 4-bit codes are 0..15`);
  }
}

/**
 * Packs 4-bit codes q ∈ 0..15 and f16 block scales into Q4_0 blocks (value `(q − 8)·d`).
 *
 * @param q codes `[n]`, n a multiple of 32
 * @param d f16 bits of the scale of each block `[n / 32]`
 * @returns `n / 32` blocks of 18 bytes
 * @throws {RangeError} on a code above 15 or a scale count that does not match
 */
export function encodeQ4_0(q: Uint8Array, d: Uint16Array): Uint8Array {
  const nb = checkBlocks("encodeQ4_0", q.length, QK4_0, d.length, "scales");
  checkNibbles("encodeQ4_0", q);
  const out = new Uint8Array(nb * BLOCK_Q4_0_BYTES);
  const v = new DataView(out.buffer);
  for (let i = 0; i < nb; i++) {
    const start = i * BLOCK_Q4_0_BYTES;
    v.setUint16(start, d[i] as number, true);
    packNibbles(out, start + GGML_HALF_BYTES, q, i * QK4_0);
    blockWritten("Q4_0", start, start + GGML_HALF_BYTES + QK4_0 / 2);
  }
  return out;
}

/**
 * Packs 4-bit codes and f16 block scales and minimums into Q4_1 blocks (value `q·d + m`).
 *
 * @param q codes `[n]` in 0..15, n a multiple of 32
 * @param d f16 bits of each block's scale `[n / 32]`
 * @param m f16 bits of each block's minimum `[n / 32]`
 * @returns `n / 32` blocks of 20 bytes
 * @throws {RangeError} on a code above 15 or parameter counts that do not match
 */
export function encodeQ4_1(q: Uint8Array, d: Uint16Array, m: Uint16Array): Uint8Array {
  const nb = checkBlocks("encodeQ4_1", q.length, QK4_1, d.length, "scales");
  checkBlocks("encodeQ4_1", q.length, QK4_1, m.length, "minimums");
  checkNibbles("encodeQ4_1", q);
  const out = new Uint8Array(nb * BLOCK_Q4_1_BYTES);
  const v = new DataView(out.buffer);
  for (let i = 0; i < nb; i++) {
    const start = i * BLOCK_Q4_1_BYTES;
    v.setUint16(start, d[i] as number, true);
    v.setUint16(start + GGML_HALF_BYTES, m[i] as number, true);
    packNibbles(out, start + 2 * GGML_HALF_BYTES, q, i * QK4_1);
    blockWritten("Q4_1", start, start + 2 * GGML_HALF_BYTES + QK4_1 / 2);
  }
  return out;
}

/**
 * Packs signed 8-bit codes and f16 block scales into Q8_0 blocks (value `qs·d`).
 *
 * @param qs codes `[n]` in −128..127, n a multiple of 32
 * @param d f16 bits of each block's scale `[n / 32]`
 * @returns `n / 32` blocks of 34 bytes
 */
export function encodeQ8_0(qs: Int8Array, d: Uint16Array): Uint8Array {
  const nb = checkBlocks("encodeQ8_0", qs.length, QK8_0, d.length, "scales");
  const out = new Uint8Array(nb * BLOCK_Q8_0_BYTES);
  const v = new DataView(out.buffer);
  for (let i = 0; i < nb; i++) {
    const start = i * BLOCK_Q8_0_BYTES;
    v.setUint16(start, d[i] as number, true);
    for (let j = 0; j < QK8_0; j++) v.setInt8(start + GGML_HALF_BYTES + j, qs[i * QK8_0 + j] as number);
    blockWritten("Q8_0", start, start + GGML_HALF_BYTES + QK8_0);
  }
  return out;
}

function rowLength(fn: string, k: number, qk: number): number {
  if (k % qk !== 0) throw new RangeError(`${fn}: Cannot quantize ${k} values: the count must be a multiple of ${qk}`);
  return k / qk;
}

/**
 * ggml's reference Q4_0 quantizer (`quantize_row_q4_0_ref`): per block, the value of largest
 * magnitude `max` gives `d = max / −8`, codes `min(15, trunc(x·id + 8.5))` with `id = 1/d` in f32,
 * and `d` stored as f16.
 *
 * @param x f32 values `[k]`, k a multiple of 32
 * @returns Q4_0 blocks
 *
 * @example
 * ```ts
 * import { dequantizeRowQ4_0, quantizeRowQ4_0Ref } from "./ggml_blocks.ts";
 * import assert from "node:assert/strict";
 * const x = Float32Array.from({ length: 32 }, (_, j) => ((j % 16) - 8) / 2); // −4 has the largest magnitude
 * const blocks = quantizeRowQ4_0Ref(x); // d = −4 / −8 = 0.5: every value is on the grid
 * assert.equal(blocks.length, 18);
 * assert.deepEqual(dequantizeRowQ4_0(blocks), x);
 * ```
 */
export function quantizeRowQ4_0Ref(x: Float32Array): Uint8Array {
  const nb = rowLength("quantizeRowQ4_0Ref", x.length, QK4_0);
  const q = new Uint8Array(x.length), d = new Uint16Array(nb);
  for (let i = 0; i < nb; i++) {
    let amax = 0, max = 0;
    for (let j = 0; j < QK4_0; j++) {
      const v = x[i * QK4_0 + j] as number;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const dd = Math.fround(max / -8);
    const id = dd ? Math.fround(1 / dd) : 0;
    d[i] = f32ToF16Bits(dd);
    for (let j = 0; j < QK4_0; j++) {
      const x0 = Math.fround((x[i * QK4_0 + j] as number) * id);
      q[i * QK4_0 + j] = Math.min(15, Math.trunc(Math.fround(x0 + 8.5)));
    }
  }
  return encodeQ4_0(q, d);
}

/**
 * ggml's reference Q4_1 quantizer (`quantize_row_q4_1_ref`): per block `d = (max − min)/15`,
 * `m = min`, codes `min(15, trunc((x − min)·id + 0.5))`, d and m stored as f16.
 *
 * @param x f32 values `[k]`, k a multiple of 32
 * @returns Q4_1 blocks
 */
export function quantizeRowQ4_1Ref(x: Float32Array): Uint8Array {
  const nb = rowLength("quantizeRowQ4_1Ref", x.length, QK4_1);
  const q = new Uint8Array(x.length), d = new Uint16Array(nb), m = new Uint16Array(nb);
  for (let i = 0; i < nb; i++) {
    let min = Infinity, max = -Infinity;
    for (let j = 0; j < QK4_1; j++) {
      const v = x[i * QK4_1 + j] as number;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const dd = Math.fround((max - min) / 15);
    const id = dd ? Math.fround(1 / dd) : 0;
    d[i] = f32ToF16Bits(dd);
    m[i] = f32ToF16Bits(min);
    for (let j = 0; j < QK4_1; j++) {
      const x0 = Math.fround(Math.fround((x[i * QK4_1 + j] as number) - min) * id);
      q[i * QK4_1 + j] = Math.min(15, Math.trunc(Math.fround(x0 + 0.5)));
    }
  }
  return encodeQ4_1(q, d, m);
}

/** C's `roundf`: halves away from zero. */
function roundAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

/**
 * ggml's reference Q8_0 quantizer (`quantize_row_q8_0_ref`): per block `d = amax/127`, codes
 * `roundf(x·id)` (halves away from zero), d stored as f16.
 *
 * @param x f32 values `[k]`, k a multiple of 32
 * @returns Q8_0 blocks
 */
export function quantizeRowQ8_0Ref(x: Float32Array): Uint8Array {
  const nb = rowLength("quantizeRowQ8_0Ref", x.length, QK8_0);
  const qs = new Int8Array(x.length), d = new Uint16Array(nb);
  for (let i = 0; i < nb; i++) {
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) amax = Math.max(amax, Math.abs(x[i * QK8_0 + j] as number));
    const dd = Math.fround(amax / 127);
    const id = dd ? Math.fround(1 / dd) : 0;
    d[i] = f32ToF16Bits(dd);
    for (let j = 0; j < QK8_0; j++) qs[i * QK8_0 + j] = roundAway(Math.fround((x[i * QK8_0 + j] as number) * id));
  }
  return encodeQ8_0(qs, d);
}

function blockCount(fn: string, bytes: Uint8Array, size: number): number {
  if (bytes.byteLength % size !== 0) {
    throw new RangeError(`${fn}: Cannot decode ${bytes.byteLength} bytes: not a whole number of ${size}-byte blocks`);
  }
  return bytes.byteLength / size;
}

/**
 * ggml's `dequantize_row_q4_0`: `y = (q − 8)·d` in f32.
 *
 * @param bytes Q4_0 blocks
 * @returns f32 values `[blocks·32]`
 */
export function dequantizeRowQ4_0(bytes: Uint8Array): Float32Array {
  const nb = blockCount("dequantizeRowQ4_0", bytes, BLOCK_Q4_0_BYTES);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const y = new Float32Array(nb * QK4_0);
  for (let i = 0; i < nb; i++) {
    const o = i * BLOCK_Q4_0_BYTES, d = f16BitsToF32(v.getUint16(o, true));
    for (let j = 0; j < QK4_0 / 2; j++) {
      const b = bytes[o + GGML_HALF_BYTES + j] as number;
      y[i * QK4_0 + j] = ((b & 0x0f) - 8) * d;
      y[i * QK4_0 + j + QK4_0 / 2] = ((b >> 4) - 8) * d;
    }
  }
  return y;
}

/**
 * ggml's `dequantize_row_q4_1`: `y = q·d + m` in f32 (q·d is exact, so one rounding, as with FMA).
 *
 * @param bytes Q4_1 blocks
 * @returns f32 values `[blocks·32]`
 */
export function dequantizeRowQ4_1(bytes: Uint8Array): Float32Array {
  const nb = blockCount("dequantizeRowQ4_1", bytes, BLOCK_Q4_1_BYTES);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const y = new Float32Array(nb * QK4_1);
  for (let i = 0; i < nb; i++) {
    const o = i * BLOCK_Q4_1_BYTES;
    const d = f16BitsToF32(v.getUint16(o, true)), m = f16BitsToF32(v.getUint16(o + GGML_HALF_BYTES, true));
    for (let j = 0; j < QK4_1 / 2; j++) {
      const b = bytes[o + 2 * GGML_HALF_BYTES + j] as number;
      y[i * QK4_1 + j] = (b & 0x0f) * d + m;
      y[i * QK4_1 + j + QK4_1 / 2] = (b >> 4) * d + m;
    }
  }
  return y;
}

/**
 * ggml's `dequantize_row_q8_0`: `y = qs·d` in f32.
 *
 * @param bytes Q8_0 blocks
 * @returns f32 values `[blocks·32]`
 */
export function dequantizeRowQ8_0(bytes: Uint8Array): Float32Array {
  const nb = blockCount("dequantizeRowQ8_0", bytes, BLOCK_Q8_0_BYTES);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const y = new Float32Array(nb * QK8_0);
  for (let i = 0; i < nb; i++) {
    const o = i * BLOCK_Q8_0_BYTES, d = f16BitsToF32(v.getUint16(o, true));
    for (let j = 0; j < QK8_0; j++) y[i * QK8_0 + j] = v.getInt8(o + GGML_HALF_BYTES + j) * d;
  }
  return y;
}

/**
 * Decodes tensor bytes of any supported type to f32 (ggml's `to_float` of the type).
 *
 * @param type the ggml type
 * @param bytes the tensor's bytes
 * @returns f32 values
 */
export function dequantizeGgml(type: GgmlType, bytes: Uint8Array): Float32Array {
  switch (type) {
    case "F32":
      return decodeF32(bytes);
    case "F16":
      return decodeF16(bytes);
    case "Q4_0":
      return dequantizeRowQ4_0(bytes);
    case "Q4_1":
      return dequantizeRowQ4_1(bytes);
    case "Q8_0":
      return dequantizeRowQ8_0(bytes);
  }
}

/**
 * Quantizes f32 values to `type` the way ggml does (`*_ref` for the block types, round to
 * nearest even for F16, raw for F32).
 *
 * @param type the ggml type
 * @param x f32 values, a whole number of rows of a multiple of the block size
 * @returns the tensor bytes
 */
export function quantizeGgmlRef(type: GgmlType, x: Float32Array): Uint8Array {
  switch (type) {
    case "F32":
      return encodeF32(x);
    case "F16":
      return encodeF16(x);
    case "Q4_0":
      return quantizeRowQ4_0Ref(x);
    case "Q4_1":
      return quantizeRowQ4_1Ref(x);
    case "Q8_0":
      return quantizeRowQ8_0Ref(x);
  }
}
