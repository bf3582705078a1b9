// SPDX-License-Identifier: MIT
// deno-lint-ignore-file camelcase -- ggml type names (Q4_0, Q4_1, Q8_0) are kept exactly, as STYLE asks
/**
 * ggml's decoders (`ggml/src/ggml-quants.c` `dequantize_row_*`) for the block types of
 * ggml_blocks.ts: the exporter decodes every block it writes with them and compares the result
 * with the weight quantlab evaluated.
 *
 * @module
 */
import { f16BitsToF32 } from "../tensor/numeric.ts";
import {
  BLOCK_Q4_0_BYTES,
  BLOCK_Q4_1_BYTES,
  BLOCK_Q8_0_BYTES,
  decodeF16,
  decodeF32,
  GGML_HALF_BYTES,
  type GgmlType,
  QK4_0,
  QK4_1,
  QK8_0,
} from "./ggml_blocks.ts";

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
