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
 * This file holds the layouts and `encode*`, which packs given codes and f16 scales exactly (the
 * exporter's path: quantlab already chose the codes); ggml's reference quantizers
 * (`quantizeRow*Ref`) are in ggml_ref.ts and its decoders (`dequantizeRow*`) in ggml_decode.ts. Each block writer checks that it filled exactly the block's byte size, the
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
