// SPDX-License-Identifier: MIT
/**
 * Exact mapping of quantlab's packed integer weights onto ggml blocks, so that llama.cpp runs the
 * very weights quantlab evaluated. A quantized linear `ŵ = scale·(q − zero)` `[rows, cols]` with
 * groups along the row maps when every 32-element ggml block lies inside one group and:
 *
 * | ggml type | quantlab tensor | block fields |
 * |---|---|---|
 * | Q4_0 | int4, symmetric (zero = 8) | `d = scale`, nibble = q |
 * | Q4_1 | int4, any integer zero (`int4-g32-asym-f16min`) | `d = scale`, `m = −scale·zero`, nibble = q |
 * | Q8_0 | int8, symmetric (zero = 128) | `d = scale`, `qs = q − 128` |
 *
 * with `d` (and `m`) exactly representable in f16. Group sizes that are multiples of 32 (and
 * per-channel rows of a multiple of 32) map too: their blocks repeat the group's scale.
 *
 * Nothing is rounded on the way: after packing, the blocks are decoded with ggml's formulas and
 * compared with the evaluated weight element by element, and any difference is refused with a
 * {@link GgufExportError} naming the layer and the first differing element. Refused as well:
 * codebook formats (NF4, FP4, ...), per-column scales (SINQ), act-order groups (`g_idx`), and
 * weights that differ from their packed codes (LoRC's low-rank term).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { f16BitsToF32, f32ToF16Bits } from "../tensor/numeric.ts";
import { unpack } from "../ops/ts/pack.ts";
import { dequantize, type QuantizedTensor } from "../quant/quantized_tensor.ts";
import { encodeQ4_0, encodeQ4_1, encodeQ8_0, QK4_0 } from "./ggml_blocks.ts";
import { dequantizeGgml } from "./ggml_decode.ts";
import { GgufExportError } from "./gguf_llama.ts";

/** The ggml block types quantlab's integer weights map onto. */
export type GgufQuantType = "Q4_0" | "Q4_1" | "Q8_0";

function f16Exact(x: number): number | undefined {
  const b = f32ToF16Bits(x);
  return f16BitsToF32(b) === x ? b : undefined;
}

/**
 * The ggml type a packed tensor maps onto, or a reason why none does.
 *
 * @param q a quantized weight
 * @returns `{ type }` or `{ reason }`
 */
export function ggufTypeOf(q: QuantizedTensor): { type: GgufQuantType } | { reason: string } {
  if (q.kind !== "int") {
    return { reason: `format ${q.formatId} is a codebook format; ggml has no such block type here` };
  }
  const bits = q.codeBits ?? q.codes.bits;
  if (bits === 8 && q.symmetric) return { type: "Q8_0" };
  if (bits === 4) return { type: q.symmetric ? "Q4_0" : "Q4_1" };
  return { reason: `format ${q.formatId}: only int4 (Q4_0, Q4_1) and symmetric int8 (Q8_0) have ggml block types` };
}

/**
 * Packs a quantized linear as ggml blocks of `type`, exactly (see the module doc).
 *
 * @param name the linear's name, for messages
 * @param q the packed weight `[rows, cols]`
 * @param type the target block type
 * @param evaluated the weight quantlab evaluated (default: `dequantize(q)`); the blocks must decode to it
 * @returns row-major blocks, `rows · cols/32` of them
 * @throws {GgufExportError} naming the layer and why, when the mapping would not be exact
 */
export function packGgufBlocks(
  name: string,
  q: QuantizedTensor,
  type: GgufQuantType,
  evaluated?: Tensor<"f32">,
): Uint8Array {
  const fail = (why: string) => new GgufExportError(`packGgufBlocks: Cannot store "${name}" as ${type}: ${why}`);
  const [rows, cols] = q.shape;
  if (q.kind !== "int") throw fail(`${q.formatId} is a codebook format, not scale·(q − zero)`);
  if (q.colScale) throw fail(`it has a per-column scale (SINQ), which ggml blocks cannot hold`);
  const bits = q.codeBits ?? q.codes.bits;
  if (bits !== (type === "Q8_0" ? 8 : 4)) throw fail(`its codes have ${bits} bits (${q.formatId})`);
  const G = q.scale.shape[1] as number, gs = cols / G;
  if (gs % QK4_0 !== 0) {
    throw fail(
      `its groups of ${gs} columns do not hold whole 32-element blocks; quantize with groupSize 32 (or a multiple)`,
    );
  }
  if (q.groupIndex) {
    for (let j = 0; j < cols; j++) {
      if (q.groupIndex[j] !== Math.floor(j / gs)) {
        throw fail(`its act-order group index puts column ${j} in group ${q.groupIndex[j]}; use static groups`);
      }
    }
  }
  const codes = unpack(q.codes).data; // u8 [rows·cols]
  const nb = cols / QK4_0, shared = q.scale.shape[0] === 1;
  const d = new Uint16Array(rows * nb), m = new Uint16Array(type === "Q4_1" ? rows * nb : 0);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) {
      const g = (shared ? 0 : r * G) + Math.floor((b * QK4_0) / gs);
      const s = q.scale.data[g] as number, z = q.zero.data[g] as number;
      const where = `row ${r}, block ${b}`;
      const db = f16Exact(s);
      if (db === undefined) throw fail(`scale ${s} at ${where} is not an f16 value; quantize with f16 scales`);
      d[r * nb + b] = db;
      const center = type === "Q8_0" ? 128 : 8;
      if (type !== "Q4_1" && z !== center) {
        throw fail(`zero ${z} at ${where} is not ${center} (asymmetric); ${type} holds symmetric weights only`);
      }
      if (type === "Q4_1") {
        const mb = f16Exact(-s * z);
        if (mb === undefined) {
          throw fail(
            `the offset −scale·zero = ${
              -s * z
            } at ${where} is not an f16 value; quantize with format int4-g32-asym-f16min`,
          );
        }
        m[r * nb + b] = mb;
      }
    }
  }
  let bytes: Uint8Array;
  if (type === "Q8_0") bytes = encodeQ8_0(Int8Array.from(codes, (c) => c - 128), d);
  else if (type === "Q4_0") bytes = encodeQ4_0(codes, d);
  else bytes = encodeQ4_1(codes, d, m);
  const decoded = dequantizeGgml(type, bytes), want = (evaluated ?? dequantize(q)).data;
  for (let i = 0; i < decoded.length; i++) {
    if (decoded[i] !== want[i]) {
      const r = Math.floor(i / cols), c = i % cols;
      throw fail(
        `ggml decodes [${r}, ${c}] to ${decoded[i]} but quantlab evaluated ${
          want[i]
        } (the weight carries more than its codes, e.g. LoRC)`,
      );
    }
  }
  return bytes;
}
