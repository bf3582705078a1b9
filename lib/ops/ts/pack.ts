// SPDX-License-Identifier: MIT
/**
 * Bit packing of integer codes into u32 words.
 *
 * Layout (shared by every backend and by exported files): each row is packed separately
 * into `wordsPerRow = ceil(cols / codesPerWord)` words; code i of a row goes to word
 * `floor(i / codesPerWord)` at bit offset `(i % codesPerWord) · bits` (little end first).
 * `codesPerWord = floor(32 / bits)`: 16 for 2 bits, 10 for 3 bits (top 2 bits unused, so no
 * code straddles a word), 8 for 4 bits, 4 for 8 bits. Padding codes are zero.
 *
 * @module
 */
import { formatShape, Tensor } from "../../tensor/tensor.ts";
import type { PackedCodes } from "../ops.ts";
import { matrix } from "./_check.ts";

/** Supported code widths. */
export const PACK_BITS: readonly number[] = [2, 3, 4, 8];

/** Codes stored per u32 word for `bits` (2 → 16, 3 → 10, 4 → 8, 8 → 4). */
export function codesPerWord(bits: number): number {
  return Math.floor(32 / bits);
}

/** u32 words needed for one row of `cols` codes. */
export function wordsPerRow(cols: number, bits: number): number {
  return Math.ceil(cols / codesPerWord(bits));
}

/**
 * Packs u8 codes into u32 words.
 *
 * @param codes u8 `[rows, cols]`, each < 2^bits
 * @param bits one of 2, 3, 4, 8
 * @returns `{ words: u32 [rows, wordsPerRow], bits, cols }`
 * @throws {RangeError} on unsupported bits or a code ≥ 2^bits
 *
 * @example Pack 4-bit codes
 * ```ts
 * import { pack } from "./pack.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const p = pack(new Tensor("u8", [1, 3], new Uint8Array([1, 2, 15])), 4);
 * assert.deepEqual(Array.from(p.words.data), [0xf21]);
 * ```
 */
export function pack(codes: Tensor<"u8">, bits: number): PackedCodes {
  const fn = "pack";
  const [rows, cols] = matrix(fn, "codes", codes, "u8");
  checkBits(fn, bits);
  const per = codesPerWord(bits);
  const wpr = wordsPerRow(cols, bits);
  const limit = 1 << bits;
  const c = codes.data;
  const words = new Uint32Array(rows * wpr); // [rows, wordsPerRow]
  for (let r = 0; r < rows; r++) {
    const rc = r * cols;
    const rw = r * wpr;
    for (let w = 0; w < wpr; w++) {
      const i0 = w * per;
      const i1 = Math.min(cols, i0 + per);
      let word = 0;
      for (let i = i0; i < i1; i++) {
        const q = c[rc + i] as number;
        if (q >= limit) {
          throw new RangeError(
            `${fn}: Cannot pack code ${q} at [${r}, ${i}] of codes of shape ${
              formatShape(codes.shape)
            } into ${bits} bits: codes must be < ${limit}`,
          );
        }
        word |= q << ((i - i0) * bits);
      }
      words[rw + w] = word >>> 0;
    }
  }
  return { words: new Tensor("u32", [rows, wpr], words), bits, cols };
}

/**
 * Unpacks u32 words into u8 codes (inverse of {@link pack}).
 *
 * @param packed `{ words: u32 [rows, wordsPerRow], bits, cols }`
 * @returns u8 `[rows, cols]`
 *
 * @example Round trip
 * ```ts
 * import { pack, unpack } from "./pack.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const codes = new Tensor("u8", [2, 11], new Uint8Array(22).map((_, i) => i % 8));
 * assert.deepEqual(unpack(pack(codes, 3)).data, codes.data);
 * ```
 */
export function unpack(packed: PackedCodes): Tensor<"u8"> {
  const [rows, cols] = checkPacked("unpack", packed);
  const { bits } = packed;
  const per = codesPerWord(bits);
  const wpr = wordsPerRow(cols, bits);
  const mask = (1 << bits) - 1;
  const words = packed.words.data;
  const out = new Uint8Array(rows * cols); // [rows, cols]
  for (let r = 0; r < rows; r++) {
    const rc = r * cols;
    const rw = r * wpr;
    for (let i = 0; i < cols; i++) {
      const w = Math.floor(i / per);
      out[rc + i] = ((words[rw + w] as number) >>> ((i - w * per) * bits)) & mask;
    }
  }
  return new Tensor("u8", [rows, cols], out);
}

/** Validates a {@link PackedCodes}; returns `[rows, cols]`. */
export function checkPacked(fn: string, packed: PackedCodes): [number, number] {
  const { bits, cols } = packed;
  checkBits(fn, bits);
  if (!Number.isInteger(cols) || cols < 0) {
    throw new RangeError(`${fn}: Cannot use packed codes with cols ${cols}: cols must be a non-negative integer`);
  }
  const [rows, wpr] = matrix(fn, "packed.words", packed.words, "u32");
  const expected = wordsPerRow(cols, bits);
  if (wpr !== expected) {
    throw new TypeError(
      `${fn}: Cannot unpack words of shape ${
        formatShape(packed.words.shape)
      } as ${cols} codes of ${bits} bits: expected ${expected} words per row`,
    );
  }
  return [rows, cols];
}

function checkBits(fn: string, bits: number): void {
  if (!PACK_BITS.includes(bits)) {
    throw new RangeError(`${fn}: Cannot pack to ${bits} bits: bits must be one of ${PACK_BITS.join(", ")}`);
  }
}
