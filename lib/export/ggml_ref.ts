// SPDX-License-Identifier: MIT
// deno-lint-ignore-file camelcase -- ggml type names (Q4_0, Q4_1, Q8_0) are kept exactly, as STYLE asks
/**
 * ggml's own reference quantizers (`ggml/src/ggml-quants.c` `quantize_row_*_ref`), rounding
 * included: what `llama-quantize` does to a float row. The exporter does not use them for
 * quantlab's results (those are packed exactly by the `encode*` functions of ggml_blocks.ts); they
 * are the oracle the tests compare block layouts and rounding against, and the F16/F32 path of
 * unquantized tensors.
 *
 * @module
 */
import { f32ToF16Bits } from "../tensor/numeric.ts";
import {
  encodeF16,
  encodeF32,
  encodeQ4_0,
  encodeQ4_1,
  encodeQ8_0,
  type GgmlType,
  QK4_0,
  QK4_1,
  QK8_0,
} from "./ggml_blocks.ts";

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
 * import { quantizeRowQ4_0Ref } from "./ggml_ref.ts";
 * import { dequantizeRowQ4_0 } from "./ggml_decode.ts";
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
