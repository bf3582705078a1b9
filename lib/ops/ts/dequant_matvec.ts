// SPDX-License-Identifier: MIT
/**
 * Matrix–vector (or matrix–matrix) product with packed integer weights: `y = dequant(W)·x`,
 * the decode step of a weight-only quantized linear layer. Each weight is dequantized
 * exactly as in `fakeQuantize` (`ŵ = fround(scale · (q − zero))`) and the dot products
 * accumulate in f64, rounded to f32 once.
 *
 * @module
 */
import { formatShape, Tensor } from "../../tensor/tensor.ts";
import type { IntQuantParams, PackedCodes } from "../ops.ts";
import { checkDType, resolveIntParams } from "./_check.ts";
import { checkPacked, codesPerWord, wordsPerRow } from "./pack.ts";

/**
 * y = dequant(W)·x for packed W.
 *
 * @param packed W's codes, `[rows, cols]` logical (see `pack`)
 * @param params `scale`, `zero` f32 `[R, G]` (R ∈ {1, rows}, G dividing cols), `maxq`
 * @param x f32 `[cols]` or `[cols, n]`
 * @returns f32 `[rows]` or `[rows, n]`
 *
 * @example 2×2 weights of 4 bits
 * ```ts
 * import { dequantMatvec } from "./dequant_matvec.ts";
 * import { pack } from "./pack.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const packed = pack(new Tensor("u8", [2, 2], new Uint8Array([9, 8, 8, 7])), 4);
 * const p = (v: number) => new Tensor("f32", [1, 1], new Float32Array([v]));
 * const y = dequantMatvec(packed, { scale: p(0.5), zero: p(8), maxq: 15 }, new Tensor("f32", [2], new Float32Array([2, 4])));
 * assert.deepEqual(Array.from(y.data), [1, -2]);
 * ```
 */
export function dequantMatvec(packed: PackedCodes, params: IntQuantParams, x: Tensor<"f32">): Tensor<"f32"> {
  const fn = "dequantMatvec";
  const [rows, cols] = checkPacked(fn, packed);
  const p = resolveIntParams(fn, rows, cols, params);
  checkDType(fn, "x", x, "f32");
  if ((x.rank !== 1 && x.rank !== 2) || x.shape[0] !== cols) {
    throw new TypeError(
      `${fn}: Cannot multiply W of shape [${rows}, ${cols}] by x of shape ${
        formatShape(x.shape)
      }: expected x of shape [${cols}] or [${cols}, n]`,
    );
  }
  const n = x.rank === 2 ? (x.shape[1] as number) : 1;
  const { bits } = packed;
  const per = codesPerWord(bits);
  const wpr = wordsPerRow(cols, bits);
  const mask = (1 << bits) - 1;
  // An Int32 view keeps the words in integer registers (Uint32 values ≥ 2³¹ would be doubles).
  const words = new Int32Array(packed.words.data.buffer, packed.words.data.byteOffset, packed.words.data.length);
  const xs = x.data;
  const y = new Float32Array(rows * n); // [rows, n]
  const acc = new Float64Array(n);
  const q = new Uint8Array(cols); // one row of codes, unpacked word by word
  for (let r = 0; r < rows; r++) {
    const rw = r * wpr;
    for (let w = 0, c = 0; w < wpr; w++) {
      let word = words[rw + w] as number;
      const end = Math.min(cols, c + per);
      for (; c < end; c++, word >>>= bits) q[c] = word & mask;
    }
    acc.fill(0);
    const pr = p.R === 1 ? 0 : r * p.G;
    for (let g = 0; g < p.G; g++) {
      const s = p.scale[pr + g] as number;
      const z = p.zero[pr + g] as number;
      const c1 = (g + 1) * p.groupSize;
      if (n === 1) {
        let sum = 0;
        for (let c = g * p.groupSize; c < c1; c++) {
          sum += Math.fround(s * ((q[c] as number) - z)) * (xs[c] as number); // ŵ exactly as fakeQuantize
        }
        acc[0] = (acc[0] as number) + sum;
      } else {
        for (let c = g * p.groupSize; c < c1; c++) {
          const w = Math.fround(s * ((q[c] as number) - z));
          const xc = c * n;
          for (let j = 0; j < n; j++) acc[j] = (acc[j] as number) + w * (xs[xc + j] as number);
        }
      }
    }
    y.set(acc, r * n);
  }
  return new Tensor("f32", x.rank === 2 ? [rows, n] : [rows], y);
}
