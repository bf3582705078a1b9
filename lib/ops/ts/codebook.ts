// SPDX-License-Identifier: MIT
/**
 * Codebook (non-uniform) quantization, as for NF4 / FP4 levels: each element is scaled,
 * snapped to the nearest entry of a sorted level table, and scaled back:
 *
 *     invScale = fround(1 / scale);  t = fround(x · invScale)
 *     code = argmin_i |t − levels[i]|   (ties to the lower index)
 *     value = fround(levels[code] · scale)
 *
 * The nearest level is found by binary search for the last level ≤ t, then comparing the
 * two neighbours; distances are exact in f64 for f32 operands.
 *
 * @module
 */
import { Tensor } from "../../tensor/tensor.ts";
import { matrix, nonFinite, paramShape } from "./_check.ts";

/**
 * Snaps `x / scale` to the nearest level.
 *
 * @param x f32 `[rows, cols]`, finite
 * @param levels f32 `[L]`, 1 ≤ L ≤ 256, finite, strictly ascending
 * @param scale f32 `[R, G]` (> 0), R ∈ {1, rows}, G dividing cols
 * @returns `values` f32 `[rows, cols]` and `codes` u8 `[rows, cols]` (level indices)
 *
 * @example Snap to {-1, 0, 1}
 * ```ts
 * import { codebookQuantize } from "./codebook.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const x = new Tensor("f32", [1, 4], new Float32Array([-3, 0.5, 0.6, 7]));
 * const scale = new Tensor("f32", [1, 1], new Float32Array([2]));
 * const { values, codes } = codebookQuantize(x, new Float32Array([-1, 0, 1]), scale);
 * assert.deepEqual(Array.from(codes.data), [0, 1, 1, 2]);
 * assert.deepEqual(Array.from(values.data), [-2, 0, 0, 2]);
 * ```
 */
export function codebookQuantize(
  x: Tensor<"f32">,
  levels: Float32Array,
  scale: Tensor<"f32">,
): { values: Tensor<"f32">; codes: Tensor<"u8"> } {
  const fn = "codebookQuantize";
  const [rows, cols] = matrix(fn, "x", x, "f32");
  checkLevels(fn, levels);
  const { R, G } = paramShape(fn, "scale", scale, rows, cols);
  const groupSize = cols / G;
  const s32 = scale.data;
  for (let i = 0; i < s32.length; i++) {
    const s = s32[i] as number;
    if (!(s > 0) || s === Infinity) {
      throw new RangeError(`${fn}: Cannot quantize with scale ${s} at index ${i}: scale must be finite and > 0`);
    }
  }
  const L = levels.length;
  const d = x.data;
  const values = new Float32Array(d.length); // [rows, cols]
  const codes = new Uint8Array(d.length); // [rows, cols]
  for (let r = 0; r < rows; r++) {
    const pr = R === 1 ? 0 : r * G;
    for (let g = 0; g < G; g++) {
      const s = s32[pr + g] as number;
      const inv = Math.fround(1 / s);
      const start = r * cols + g * groupSize;
      const end = start + groupSize;
      for (let i = start; i < end; i++) {
        const v = d[i] as number;
        if (v - v !== 0) throw nonFinite(fn, "x", x, i);
        const t = Math.fround(v * inv);
        // lo = last index with levels[lo] <= t, or -1 when t is below every level.
        let lo = -1;
        let hi = L;
        while (hi - lo > 1) {
          const mid = (lo + hi) >> 1;
          if ((levels[mid] as number) <= t) lo = mid;
          else hi = mid;
        }
        let code: number;
        if (lo < 0) code = 0;
        else if (lo === L - 1) code = lo;
        else code = t - (levels[lo] as number) <= (levels[lo + 1] as number) - t ? lo : lo + 1;
        codes[i] = code;
        values[i] = (levels[code] as number) * s; // Float32Array store = fround
      }
    }
  }
  return { values: new Tensor("f32", x.shape, values), codes: new Tensor("u8", x.shape, codes) };
}

/** Throws unless `levels` is a Float32Array of 1..256 finite, strictly ascending values. */
export function checkLevels(fn: string, levels: Float32Array): void {
  if (!(levels instanceof Float32Array)) {
    throw new TypeError(
      `${fn}: Cannot use 'levels' of type ${Object.prototype.toString.call(levels)}: expected a Float32Array`,
    );
  }
  if (levels.length < 1 || levels.length > 256) {
    throw new RangeError(`${fn}: Cannot use ${levels.length} levels: expected 1 to 256`);
  }
  for (let i = 0; i < levels.length; i++) {
    const v = levels[i] as number;
    if (!Number.isFinite(v)) throw new RangeError(`${fn}: Cannot use level ${i} = ${v}: levels must be finite`);
    if (i > 0 && v <= (levels[i - 1] as number)) {
      throw new RangeError(
        `${fn}: Cannot use levels: not strictly ascending at index ${i} (${levels[i - 1]} >= ${v})`,
      );
    }
  }
}
