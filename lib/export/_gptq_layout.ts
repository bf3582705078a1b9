// SPDX-License-Identifier: MIT
/**
 * The packed GPTQ checkpoint layout (AutoGPTQ / GPTQModel / Hugging Face `quant_method: "gptq"`),
 * per linear `name` with weight `[out, in]`, G groups:
 *
 * | tensor | dtype | shape | content |
 * |---|---|---|---|
 * | `name.qweight` | I32 | `[in·bits/32, out]` | codes of column `o` packed along `in` |
 * | `name.qzeros` | I32 | `[G, out·bits/32]` | zero points (v1: zero − 1), packed along `out` |
 * | `name.scales` | F16 | `[G, out]` | group scales |
 * | `name.g_idx` | I32 | `[in]` | group of each input column |
 *
 * Packing is a little-endian bitstream over 32-bit words: value k of a run occupies bits
 * `[k·bits, (k+1)·bits)` of the stream, so 2/4/8-bit values never straddle words (value k of a
 * word sits at shift `bits·k`, AutoGPTQ's `wf`) and 3-bit values do (AutoGPTQ `QuantLinear.pack`:
 * 32 values in 3 words). Dequantization: `w[o, i] = scales[g, o] · (q[o, i] − zero[g, o])` with
 * `g = g_idx[i]`, where the stored zero is read per `checkpoint_format`:
 * - `"gptq"` (v1, AutoGPTQ and every runtime): `zero = stored + 1`. The historic "− 1" means a
 *   zero point of 0 cannot be stored (it would read back as 2^bits); it is refused with a hint.
 * - `"gptq_v2"` (GPTQModel's fix): `zero = stored`, any zero in 0..2^bits − 1.
 *
 * Symmetric quantization (`sym: true`) uses the fixed zero 2^(bits−1) (8 for int4), stored like
 * any other zero (v1: 7, words `0x77777777`); vLLM's Marlin kernels ignore qzeros and assume it,
 * so a symmetric tensor whose zeros differ is refused.
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

/** `checkpoint_format` values: `gptq` (v1, stores zero − 1) and `gptq_v2` (stores zero). */
export type GptqCheckpointFormat = "gptq" | "gptq_v2";

/** What is subtracted from a zero point before it is stored, by checkpoint format. */
export const GPTQ_ZERO_OFFSET: Readonly<Record<GptqCheckpointFormat, number>> = { "gptq": 1, "gptq_v2": 0 };

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
  /** I32 `[in·bits/32, out]`. */
  qweight: Tensor<"i32">;
  /** I32 `[G, out·bits/32]`. */
  qzeros: Tensor<"i32">;
  /** F16 `[G, out]`. */
  scales: Tensor<"f16">;
  /** I32 `[in]`. */
  gIdx: Tensor<"i32">;
}

/** The zero point a symmetric tensor of `bits` bits must have (GPTQ's `(maxq + 1)/2`). */
export function symmetricZero(bits: number): number {
  return 2 ** (bits - 1);
}

function checkZero(fn: string, name: string, q: IntQuantized, z: number, o: number, g: number, offset: number): void {
  const bits = q.codes.bits, maxq = (1 << bits) - 1;
  const where = `zero point ${z} of "${name}" (row ${o}, group ${g})`;
  if (!Number.isInteger(z)) {
    throw new RangeError(`${fn}: Cannot store ${where}: the GPTQ layout needs integer zero points`);
  }
  if (q.symmetric && z !== symmetricZero(bits)) {
    throw new RangeError(
      `${fn}: Cannot store ${where} as symmetric: sym=true implies zero ${
        symmetricZero(bits)
      } (runtimes ignore qzeros)`,
    );
  }
  if (!(z >= offset && z <= maxq)) {
    const hint = offset === 1 && z === 0
      ? ': the v1 layout (checkpoint_format "gptq") stores zero − 1, so a zero of 0 needs checkpointFormat "gptq_v2"'
      : `: zero must be in ${offset}..${maxq}`;
    throw new RangeError(`${fn}: Cannot store ${where}${hint}`);
  }
}

/**
 * Encodes an integer {@link IntQuantized} `[out, in]` in the GPTQ layout.
 *
 * @param name linear name for messages (e.g. `model.layers.0.self_attn.q_proj`)
 * @param q the packed weight, one scale and zero per row and group (`scale [out, G]`)
 * @param checkpointFormat `gptq` (v1, default) or `gptq_v2` (see the module doc)
 * @returns the four tensors
 * @throws {RangeError} for unsupported bits, `in`/`out` not multiples of 32/bits·32, per-tensor or
 *   per-column scales, a zero the format cannot hold, a symmetric zero other than 2^(bits−1), or
 *   scales that are not f16-representable (the layout stores f16; quantize with f16 scales)
 */
export function encodeGptq(
  name: string,
  q: IntQuantized,
  checkpointFormat: GptqCheckpointFormat = "gptq",
): GptqTensors {
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
  if (q.scale.shape[0] !== out) {
    throw new RangeError(
      `${fn}: Cannot store "${name}" with scales of shape [${q.scale.shape}]: the GPTQ layout has one scale per row and group ([${out}, G])`,
    );
  }
  if (q.colScale !== undefined) {
    throw new RangeError(`${fn}: Cannot store "${name}": it has per-column scales (SINQ), which the GPTQ layout lacks`);
  }
  const offset = GPTQ_ZERO_OFFSET[checkpointFormat];
  const codes = unpack(q.codes).data; // [out, in]
  const rowsIn = (inn * bits) / 32;
  const qweight = new Int32Array(rowsIn * out); // [in·bits/32, out]
  for (let o = 0; o < out; o++) {
    const col = packBitstream(inn, bits, (i) => codes[o * inn + i] as number);
    for (let r = 0; r < rowsIn; r++) qweight[r * out + o] = col[r] as number;
  }
  const zw = (out * bits) / 32;
  const qzeros = new Int32Array(G * zw); // [G, out·bits/32]
  const scales = new Uint16Array(G * out); // [G, out]
  for (let g = 0; g < G; g++) {
    const words = packBitstream(out, bits, (o) => {
      const z = q.zero.data[o * G + g] as number;
      checkZero(fn, name, q, z, o, g, offset);
      return z - offset;
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

/** How {@link decodeGptq} reads a linear. */
export interface GptqDecodeSpec {
  /** quantlab format id of the result (e.g. `int4-g128-asym`). */
  formatId: string;
  /** Whether zeros are implied (sym). */
  symmetric: boolean;
  /** `gptq` (v1, default) or `gptq_v2`. */
  checkpointFormat?: GptqCheckpointFormat;
}

/**
 * Decodes the GPTQ tensors of one linear back into an {@link IntQuantized} `[out, in]`.
 *
 * @param t the four tensors (shapes as in the module doc)
 * @param bits code width (2, 3, 4, 8)
 * @param spec format id, symmetry and checkpoint format
 * @returns codes, f32 scales and zeros `[out, G]`, and the group index when it is not `i / (in / G)`
 */
export function decodeGptq(t: GptqTensors, bits: number, spec: GptqDecodeSpec): IntQuantized {
  const offset = GPTQ_ZERO_OFFSET[spec.checkpointFormat ?? "gptq"];
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
      zero[o * G + g] = readBitstream(word, o, bits) + offset;
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
