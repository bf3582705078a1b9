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
import { SCALE_BITS, storedBits, type StoredLayout } from "./stored_bits.ts";

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
   * Logical bits per code when it differs from the packing width `codes.bits` (6 for FP6 or int6
   * codes held in 8-bit words). Storage always counts codes as a dense bitstream of this width
   * (default `codes.bits`), as an exporter writes it (GPTQ packs 32 3-bit codes into 3 words).
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
  if (formatId.endsWith("-f16min")) q.zeroBits = SCALE_BITS; // the offset scale·zero is stored as f16
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

/** True when `groupIndex` is absent or equals the default `floor(j / (cols / G))` (nothing to store). */
function trivialGroupIndex(q: QuantizedTensor): boolean {
  if (!q.groupIndex) return true;
  const G = q.scale.shape[1] as number;
  for (let j = 0; j < q.shape[1]; j++) {
    if (q.groupIndex[j] !== Math.floor(j / (q.shape[1] / G))) return false;
  }
  return true;
}

/**
 * The stored parts of a packed tensor (see stored_bits.ts): codes at their logical width
 * (`codeBits`, else the packing width) as a dense bitstream, scales (`scaleBits`, default 16),
 * zeros of asymmetric integer tensors (`zeroBits`, default the code width), a non-trivial group
 * index (int32 per column), a per-column scale (f16 per column), a stored codebook's levels.
 *
 * @param q the packed tensor
 * @returns counts and widths of what is stored
 */
export function quantizedLayout(q: QuantizedTensor): StoredLayout {
  const [rows, cols] = q.shape;
  const codeBits = q.codeBits ?? q.codes.bits;
  const asymInt = q.kind === "int" && !q.symmetric;
  return {
    weights: rows * cols,
    codeBits,
    scales: q.scale.size,
    scaleBits: q.scaleBits ?? SCALE_BITS,
    zeros: asymInt ? q.zero.size : 0,
    zeroBits: asymInt ? (q.zeroBits ?? codeBits) : 0,
    groupIndex: trivialGroupIndex(q) ? 0 : cols,
    colScales: q.colScale ? cols : 0,
    levels: q.kind === "codebook" && !q.implicitLevels ? q.levels.length : 0,
  };
}

/**
 * Exact stored bits of a packed tensor: {@link storedBits} of {@link quantizedLayout}, the one
 * definition also behind `bitsPerWeight(spec, cols, rows)` (no 32-bit word rounding: GPTQ's 3-bit
 * codes, held 10 per u32 in memory, count as 3 bits each).
 *
 * @param q the packed tensor
 * @returns total stored bits
 *
 * @example int3 per channel: 3 + (16 + 3)/cols bits per weight
 * ```ts
 * import { intQuantized, storageBits } from "./quantized_tensor.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const codes = new Tensor("u8", [2, 64], new Uint8Array(128).fill(5));
 * const scale = new Tensor("f32", [2, 1], new Float32Array([0.1, 0.2]));
 * const zero = new Tensor("f32", [2, 1], new Float32Array([3, 4]));
 * const q = intQuantized("int3-ch-asym", codes, 3, { scale, zero, symmetric: false });
 * assert.equal(storageBits(q), 2 * 64 * 3 + 2 * (16 + 3));
 * ```
 */
export function storageBits(q: QuantizedTensor): number {
  return storedBits(quantizedLayout(q));
}

/**
 * Bits per weight: {@link storageBits} over the number of weights.
 *
 * @param q the packed tensor
 * @returns stored bits per weight
 */
export function quantizedBitsPerWeight(q: QuantizedTensor): number {
  return storageBits(q) / (q.shape[0] * q.shape[1]);
}
