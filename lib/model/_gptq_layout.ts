// SPDX-License-Identifier: MIT
/**
 * The packed GPTQ checkpoint layout (AutoGPTQ / Hugging Face `quant_method: "gptq"`,
 * `checkpoint_format: "gptq"`), per linear `name` with weight `[out, in]`, G groups:
 *
 * | tensor | dtype | shape | content |
 * |---|---|---|---|
 * | `name.qweight` | I32 | `[in·bits/32, out]` | codes of column `o` packed along `in` |
 * | `name.qzeros` | I32 | `[G, out·bits/32]` | zero points − 1, packed along `out` |
 * | `name.scales` | F16 | `[G, out]` | group scales |
 * | `name.g_idx` | I32 | `[in]` | group of each input column |
 *
 * Packing is a little-endian bitstream over 32-bit words: value k of a run occupies bits
 * `[k·bits, (k+1)·bits)` of the stream, so 2/4/8-bit values never straddle words and 3-bit
 * values do (AutoGPTQ `QuantLinear.pack`: 32 values in 3 words). Dequantization:
 * `w[o, i] = scales[g, o] · (q[o, i] − (qzeros[g, o] + 1))` with `g = g_idx[i]`. The "− 1" is
 * the historic v1 convention; a zero point of 0 therefore cannot be stored (it would read
 * back as 2^bits) and is rejected.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { f16BitsToF32, f32ToF16Bits } from "../tensor/numeric.ts";
import { unpack } from "../ops/ts/pack.ts";
import type { IntQuantized } from "../quant/quantized_tensor.ts";
import { intQuantized } from "../quant/quantized_tensor.ts";

/** Bit widths the layout supports. */
export const GPTQ_BITS: readonly number[] = [2, 3, 4, 8];

/** Packs `n` values (each < 2^bits) read by `at(k)` into a bitstream of `n·bits/32` words. */
export function packBitstream(n: number, bits: number, at: (k: number) => number): Uint32Array {
  const words = new Uint32Array((n * bits) / 32);
  for (let k = 0; k < n; k++) {
    const v = at(k) >>> 0, bit = k * bits, w = bit >>> 5, off = bit & 31;
    words[w] = ((words[w] as number) | (v << off)) >>> 0;
    if (off + bits > 32) words[w + 1] = ((words[w + 1] as number) | (v >>> (32 - off))) >>> 0;
  }
  return words;
}

/** Value k of a bitstream (`word(w)` reads word w). */
export function readBitstream(word: (w: number) => number, k: number, bits: number): number {
  const bit = k * bits, w = bit >>> 5, off = bit & 31, mask = (1 << bits) - 1;
  let v = word(w) >>> off;
  if (off + bits > 32) v |= word(w + 1) << (32 - off);
  return (v & mask) >>> 0;
}

/** The four GPTQ tensors of one linear. */
export interface GptqTensors {
  qweight: Tensor<"i32">;
  qzeros: Tensor<"i32">;
  scales: Tensor<"f16">;
  gIdx: Tensor<"i32">;
}

/**
 * Encodes an integer {@link IntQuantized} `[out, in]` in the GPTQ layout.
 *
 * @throws {RangeError} for unsupported bits, `in`/`out` not multiples of 32/bits·32, a zero point of 0,
 *   or scales that are not f16-representable (the layout stores f16; quantize with f16 scales)
 */
export function encodeGptq(name: string, q: IntQuantized): GptqTensors {
  const fn = "encodeGptq";
  const bits = q.codes.bits;
  const [out, inn] = q.shape;
  const G = q.scale.shape[1] as number;
  if (!GPTQ_BITS.includes(bits)) {
    throw new RangeError(`${fn}: Cannot store "${name}" with ${bits} bits: the GPTQ layout has 2, 3, 4, 8`);
  }
  if ((inn * bits) % 32 !== 0 || (out * bits) % 32 !== 0) {
    throw new RangeError(
      `${fn}: Cannot pack "${name}" of shape [${out}, ${inn}] at ${bits} bits: in·bits and out·bits must be multiples of 32`,
    );
  }
  if ("colScale" in q && q.colScale !== undefined) {
    throw new RangeError(`${fn}: Cannot store "${name}": it has per-column scales (SINQ), which the GPTQ layout lacks`);
  }
  const codes = unpack(q.codes).data; // [out, in]
  const rowsIn = (inn * bits) / 32;
  const qweight = new Int32Array(rowsIn * out); // [in·bits/32, out]
  for (let o = 0; o < out; o++) {
    const col = packBitstream(inn, bits, (i) => codes[o * inn + i] as number);
    for (let r = 0; r < rowsIn; r++) qweight[r * out + o] = col[r] as number;
  }
  const maxq = (1 << bits) - 1;
  const zw = (out * bits) / 32;
  const qzeros = new Int32Array(G * zw); // [G, out·bits/32]
  const scales = new Uint16Array(G * out); // [G, out]
  for (let g = 0; g < G; g++) {
    const words = packBitstream(out, bits, (o) => {
      const z = q.zero.data[o * G + g] as number;
      if (!Number.isInteger(z)) {
        throw new RangeError(
          `${fn}: Cannot store zero point ${z} of "${name}" (row ${o}, group ${g}): the GPTQ layout needs integer zero points`,
        );
      }
      if (!(z >= 1 && z <= maxq)) {
        throw new RangeError(
          `${fn}: Cannot store zero point ${z} of "${name}" (row ${o}, group ${g}): the v1 layout stores zero − 1, so zero must be in 1..${maxq}`,
        );
      }
      return z - 1;
    });
    qzeros.set(words, g * zw);
    for (let o = 0; o < out; o++) {
      const s = q.scale.data[o * G + g] as number;
      const h = f32ToF16Bits(s);
      if (f16BitsToF32(h) !== s) {
        throw new RangeError(
          `${fn}: Cannot store scale ${s} of "${name}" (row ${o}, group ${g}) exactly in f16: quantize with f16 scales`,
        );
      }
      scales[g * out + o] = h;
    }
  }
  const gIdx = q.groupIndex
    ? Int32Array.from(q.groupIndex)
    : Int32Array.from({ length: inn }, (_, i) => Math.floor(i / (inn / G)));
  return {
    qweight: new Tensor("i32", [rowsIn, out], qweight),
    qzeros: new Tensor("i32", [G, zw], qzeros),
    scales: new Tensor("f16", [G, out], scales),
    gIdx: new Tensor("i32", [inn], gIdx),
  };
}

/**
 * Decodes the GPTQ tensors of one linear back into an {@link IntQuantized} `[out, in]`.
 *
 * @param spec format id and whether zeros are implied (symmetric)
 */
export function decodeGptq(t: GptqTensors, bits: number, spec: { formatId: string; symmetric: boolean }): IntQuantized {
  const [rowsIn, out] = t.qweight.shape as [number, number];
  const inn = (rowsIn * 32) / bits;
  const G = t.scales.shape[0] as number;
  const codes = new Uint8Array(out * inn); // [out, in]
  for (let o = 0; o < out; o++) {
    const word = (r: number) => t.qweight.data[r * out + o] as number;
    for (let i = 0; i < inn; i++) codes[o * inn + i] = readBitstream(word, i, bits);
  }
  const zw = t.qzeros.shape[1] as number;
  const scale = new Float32Array(out * G), zero = new Float32Array(out * G); // [out, G]
  for (let g = 0; g < G; g++) {
    const word = (w: number) => t.qzeros.data[g * zw + w] as number;
    for (let o = 0; o < out; o++) {
      zero[o * G + g] = readBitstream(word, o, bits) + 1;
      scale[o * G + g] = f16BitsToF32(t.scales.data[g * out + o] as number);
    }
  }
  const gidx = Int32Array.from(t.gIdx.data);
  const trivial = gidx.every((g, i) => g === Math.floor(i / (inn / G)));
  return intQuantized(spec.formatId, new Tensor("u8", [out, inn], codes), bits, {
    scale: new Tensor("f32", [out, G], scale),
    zero: new Tensor("f32", [out, G], zero),
    symmetric: spec.symmetric,
    ...(!trivial && { groupIndex: gidx }),
  });
}
