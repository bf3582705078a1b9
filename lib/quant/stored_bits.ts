// SPDX-License-Identifier: MIT
/**
 * The one definition of "stored bits" of a quantized `[rows, cols]` weight, shared by
 * `bitsPerWeight(spec, cols, rows)` (spec.ts, from the format alone) and
 * `storageBits(q)` (quantized_tensor.ts, from a packed tensor): both describe the weight as a
 * {@link StoredLayout} and count it with {@link storedBits}, so they agree by construction.
 *
 * "Stored" means the bits a minimal packed export writes, with no container padding:
 * - codes as a dense bitstream of their width (GPTQ packs 32 3-bit codes into 3 u32 words;
 *   FP6/int6 codes are 6 bits, not their 8-bit in-memory container);
 * - one scale per group as f16 (16 bits; MX: an E8M0 shared exponent, 8 bits);
 * - asymmetric integer zeros at the code width (GPTQ's `qzeros`; NeUQI's real zeros: 16);
 * - GPTQ's `g_idx` as int32 per column, but only when it carries information (act-order with
 *   dynamic groups); the identity grouping `j / groupSize` is implied and not counted, although
 *   a Hugging Face GPTQ checkpoint writes it anyway;
 * - a per-column scale (SINQ) as f16 per column;
 * - a custom codebook's levels as f16 each (NF4/NF3, FP and log2 levels are fixed by the format).
 *
 * The size of an exported file (ONNX QDQ, MatMulNBits) is a different quantity: it includes
 * the container's byte alignment and dtype choices, and is reported as such by the exporters.
 *
 * @module
 */

/** Bits per stored scale by default (f16). */
export const SCALE_BITS = 16;
/** Bits per MX shared exponent (E8M0). */
export const MX_SCALE_BITS = 8;
/** Bits per stored group-index entry (GPTQ's `g_idx` is int32). */
export const GROUP_INDEX_BITS = 32;
/** Bits per per-column scale (f16). */
export const COL_SCALE_BITS = 16;
/** Bits per stored codebook level (f16). */
export const LEVEL_BITS = 16;

/** What a quantized weight stores, as counts and widths (see the module doc). */
export interface StoredLayout {
  /** Number of weights (codes), rows·cols. */
  weights: number;
  /** Bits per code in the dense bitstream. */
  codeBits: number;
  /** Number of stored scales (R·G). */
  scales: number;
  /** Bits per scale (16 for f16, 8 for MX E8M0). */
  scaleBits: number;
  /** Number of stored zero points (0 when zeros are implied: symmetric or non-integer formats). */
  zeros: number;
  /** Bits per zero point. */
  zeroBits: number;
  /** Stored group-index entries: cols for a non-trivial `g_idx`, else 0 ({@link GROUP_INDEX_BITS} each). */
  groupIndex: number;
  /** Stored per-column scales: cols with SINQ's dual scale, else 0 ({@link COL_SCALE_BITS} each). */
  colScales: number;
  /** Stored codebook levels: the table size for a custom codebook, else 0 ({@link LEVEL_BITS} each). */
  levels: number;
}

/**
 * Exact stored bits of a layout: `weights·codeBits + scales·scaleBits + zeros·zeroBits +
 * 32·groupIndex + 16·colScales + 16·levels`.
 *
 * @param layout counts and widths of the stored parts
 * @returns total bits (an integer for integer counts)
 *
 * @example int3, groups of 128, asymmetric: 3 + (16 + 3)/128 bits per weight
 * ```ts
 * import { storedBits } from "./stored_bits.ts";
 * import assert from "node:assert/strict";
 * const rows = 4, cols = 256, G = cols / 128;
 * const layout = {
 *   weights: rows * cols, codeBits: 3, scales: rows * G, scaleBits: 16, zeros: rows * G, zeroBits: 3,
 *   groupIndex: 0, colScales: 0, levels: 0,
 * };
 * assert.equal(storedBits(layout) / (rows * cols), 3 + 19 / 128);
 * ```
 */
export function storedBits(layout: StoredLayout): number {
  return layout.weights * layout.codeBits +
    layout.scales * layout.scaleBits +
    layout.zeros * layout.zeroBits +
    layout.groupIndex * GROUP_INDEX_BITS +
    layout.colScales * COL_SCALE_BITS +
    layout.levels * LEVEL_BITS;
}
