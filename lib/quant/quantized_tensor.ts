// SPDX-License-Identifier: MIT
/**
 * `QuantizedTensor`: the stored form of a quantized weight `[rows, cols]` — packed codes plus
 * per-group parameters — with exact size accounting and dequantization.
 *
 * Two kinds share the layout `codes [rows, cols]` (packed per row, see lib/ops/ts/pack.ts) and
 * per-group `scale [rows, G]`:
 * - `int`: `ŵ = scale · (q − zero)`, zero `[rows, G]` (GPTQ's asymmetric form);
 * - `codebook`: `ŵ = scale · levels[q]` for a sorted table of levels (FP4/FP8/NF4, ...).
 *
 * `groupIndex` (GPTQ's `g_idx`) maps each column to its group; absent means `j / groupSize`.
 * Act-order GPTQ without static groups needs it, since its groups follow the permuted order.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import type { PackedCodes } from "../ops/ops.ts";
import { pack, unpack } from "../ops/ts/pack.ts";

/** Fields common to every quantized tensor. */
export interface QuantizedBase {
  /** Canonical format id (e.g. `int4-g128-asym`, `nf4-g64`). */
  formatId: string;
  /** Logical shape `[rows, cols]`. */
  shape: readonly [number, number];
  /** Packed codes. */
  codes: PackedCodes;
  /** f32 `[rows, G]` group scales. */
  scale: Tensor<"f32">;
  /** Column → group, i32 `[cols]`; default `floor(j / (cols / G))`. */
  groupIndex?: Int32Array;
  /** Bits used to store each scale (16 for f16 storage, the accounting default; 8 for MX E8M0). */
  scaleBits?: number;
  /**
   * Logical bits per code when the in-memory packing wastes bits (6 for FP6 or int6 codes held
   * in 8-bit words; 3 for 3-bit codes packed 10 per u32): storage is then accounted as the
   * dense bitstream an exporter writes (GPTQ packs 32 3-bit codes into 3 words).
   */
  codeBits?: number;
  /** f32 `[cols]` per-column scale multiplying every dequantized column (SINQ's dual scale). */
  colScale?: Tensor<"f32">;
}

/** Integer quantized tensor: `ŵ = scale · (q − zero)`. */
export interface IntQuantized extends QuantizedBase {
  /** Discriminant. */
  kind: "int";
  /** f32 `[rows, G]` zero points (integers). */
  zero: Tensor<"f32">;
  /** Whether zeros are implied (symmetric: zero = 2^(bits−1)) and need no storage. */
  symmetric: boolean;
  /** Bits per stored zero when not the code width (16 for NeUQI's non-integer f16 zeros). */
  zeroBits?: number;
}

/** Codebook quantized tensor: `ŵ = scale · levels[q]`. */
export interface CodebookQuantized extends QuantizedBase {
  /** Discriminant. */
  kind: "codebook";
  /** Sorted levels (≤ 2^bits entries). */
  levels: Float32Array;
  /** Levels fixed by the format (FP8/FP4/NF4/MX/log2): not stored, not accounted. */
  implicitLevels?: boolean;
}

/** A quantized weight. */
export type QuantizedTensor = IntQuantized | CodebookQuantized;

/** Builds an integer {@link QuantizedTensor} from u8 codes `[rows, cols]`. */
export function intQuantized(
  formatId: string,
  codes: Tensor<"u8">,
  bits: number,
  params: { scale: Tensor<"f32">; zero: Tensor<"f32">; symmetric: boolean; groupIndex?: Int32Array },
): IntQuantized {
  const [rows, cols] = codes.shape as [number, number];
  const q: IntQuantized = {
    kind: "int",
    formatId,
    shape: [rows, cols],
    codes: pack(codes, bits),
    scale: params.scale,
    zero: params.zero,
    symmetric: params.symmetric,
  };
  if (params.groupIndex) q.groupIndex = params.groupIndex;
  return q;
}

/** Group of column j. */
function groupOf(q: QuantizedTensor, j: number, G: number): number {
  return q.groupIndex ? (q.groupIndex[j] as number) : Math.floor(j / (q.shape[1] / G));
}

/**
 * Dequantizes to f32 `[rows, cols]`.
 *
 * @example
 * ```ts
 * import { intQuantized, dequantize } from "./quantized_tensor.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const codes = new Tensor("u8", [1, 4], new Uint8Array([0, 1, 2, 3]));
 * const scale = new Tensor("f32", [1, 1], new Float32Array([0.5]));
 * const zero = new Tensor("f32", [1, 1], new Float32Array([1]));
 * const q = intQuantized("int2-ch-asym", codes, 2, { scale, zero, symmetric: false });
 * assert.deepEqual([...dequantize(q).data], [-0.5, 0, 0.5, 1]);
 * ```
 */
export function dequantize(q: QuantizedTensor): Tensor<"f32"> {
  const [rows, cols] = q.shape;
  const codes = unpack(q.codes).data;
  const G = q.scale.shape[1] as number;
  const perTensorRows = q.scale.shape[0] === 1; // [1, G] parameters broadcast to every row
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const g = (perTensorRows ? 0 : r * G) + groupOf(q, j, G);
      const c = codes[r * cols + j] as number;
      const s = q.scale.data[g] as number;
      const v = q.kind === "int"
        ? Math.fround(s * (c - (q.zero.data[g] as number)))
        : Math.fround(s * (q.levels[c] as number));
      out[r * cols + j] = q.colScale ? v * (q.colScale.data[j] as number) : v;
    }
  }
  return new Tensor("f32", [rows, cols], out);
}

/**
 * Exact storage in bits: packed code words (or a dense `codeBits` bitstream), scales
 * (`scaleBits`, default 16), zeros for asymmetric integer formats (`zeroBits`, default the
 * code width), the group index (32 bits per column) if any, a per-column scale (16 bits per
 * column) if any, and a stored codebook's levels (16 bits each).
 */
export function storageBits(q: QuantizedTensor): number {
  const [rows, cols] = q.shape;
  const params = q.scale.size;
  const codeBits = q.codeBits !== undefined ? Math.ceil((rows * cols * q.codeBits) / 32) * 32 : q.codes.words.size * 32;
  let bits = codeBits + params * (q.scaleBits ?? 16);
  if (q.kind === "int" && !q.symmetric) bits += params * (q.zeroBits ?? q.codeBits ?? q.codes.bits);
  if (q.groupIndex) bits += cols * 32;
  if (q.colScale) bits += cols * 16;
  if (q.kind === "codebook" && !q.implicitLevels) bits += q.levels.length * 16;
  return bits;
}

/** Bits per weight: {@link storageBits} over the number of weights. */
export function quantizedBitsPerWeight(q: QuantizedTensor): number {
  return storageBits(q) / (q.shape[0] * q.shape[1]);
}
