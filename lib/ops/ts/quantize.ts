// SPDX-License-Identifier: MIT
/**
 * Integer round-to-nearest quantization in GPTQ's asymmetric form with unsigned codes:
 *
 *     invScale = fround(1 / scale)                         (once per group)
 *     q = clamp(roundHalfEven(fround(w · invScale)) + zero, 0, maxq)
 *     ŵ = fround(scale · (q − zero))
 *
 * Every product is rounded to f32 exactly as an f32 multiply on a GPU would be (the f64
 * product of two f32 values is exact, so `fround` of it is the correctly rounded f32
 * product); rounding is ties-to-even like WGSL `round()` and `torch.round`.
 * Parameters `scale`/`zero` are `[R, G]` with R ∈ {1, rows} and G dividing cols.
 *
 * Symbols: `w` weight, `scale`, `zero`, `maxq` (= 2^bits − 1), `q` integer code, `ŵ` dequantized.
 *
 * @module
 */
import { roundHalfEven } from "../../tensor/numeric.ts";
import { Tensor } from "../../tensor/tensor.ts";
import type { IntQuantParams } from "../ops.ts";
import { matrix, nonFinite, resolveIntParams } from "./_check.ts";

/**
 * Quantize then dequantize (ŵ) a 2-D f32 tensor.
 *
 * @param w f32 `[rows, cols]`, finite
 * @param params `scale`, `zero` f32 `[R, G]`; `maxq` integer in 1..255
 * @returns f32 `[rows, cols]` ŵ
 * @throws {TypeError} on shape mismatch; {RangeError} on NaN/Inf, scale ≤ 0, bad zero or maxq
 *
 * @example 4-bit, ties to even
 * ```ts
 * import { fakeQuantize } from "./quantize.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const w = new Tensor("f32", [1, 3], new Float32Array([0.25, 0.75, 9]));
 * const one = (v: number) => new Tensor("f32", [1, 1], new Float32Array([v]));
 * const y = fakeQuantize(w, { scale: one(0.5), zero: one(0), maxq: 15 });
 * assert.deepEqual(Array.from(y.data), [0, 1, 7.5]); // 0.5 → 0, 1.5 → 2, 18 → clamp 15
 * ```
 */
export function fakeQuantize(w: Tensor<"f32">, params: IntQuantParams): Tensor<"f32"> {
  const out = new Float32Array(w.data.length); // [rows, cols]
  quantizeInto("fakeQuantize", w, params, out, null);
  return new Tensor("f32", w.shape, out);
}

/**
 * Integer codes q of a 2-D f32 tensor (same formula as {@link fakeQuantize}).
 *
 * @param w f32 `[rows, cols]`, finite
 * @param params `scale`, `zero` f32 `[R, G]`; `maxq` integer in 1..255
 * @returns u8 `[rows, cols]` codes in [0, maxq]
 *
 * @example Codes with a zero point
 * ```ts
 * import { quantizeCodes } from "./quantize.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const w = new Tensor("f32", [1, 2], new Float32Array([-1, 1]));
 * const one = (v: number) => new Tensor("f32", [1, 1], new Float32Array([v]));
 * assert.deepEqual(Array.from(quantizeCodes(w, { scale: one(0.5), zero: one(8), maxq: 15 }).data), [6, 10]);
 * ```
 */
export function quantizeCodes(w: Tensor<"f32">, params: IntQuantParams): Tensor<"u8"> {
  const codes = new Uint8Array(w.data.length); // [rows, cols]
  quantizeInto("quantizeCodes", w, params, null, codes);
  return new Tensor("u8", w.shape, codes);
}

/** Shared loop: writes ŵ into `out` and/or codes into `codes` (either may be null). */
function quantizeInto(
  fn: string,
  w: Tensor<"f32">,
  params: IntQuantParams,
  out: Float32Array | null,
  codes: Uint8Array | null,
): void {
  const [rows, cols] = matrix(fn, "w", w, "f32");
  const p = resolveIntParams(fn, rows, cols, params);
  const { G, groupSize, maxq } = p;
  const x = w.data;
  for (let r = 0; r < rows; r++) {
    const pr = p.R === 1 ? 0 : r * G;
    for (let g = 0; g < G; g++) {
      const s = p.scale[pr + g] as number;
      const z = p.zero[pr + g] as number;
      const inv = p.invScale[pr + g] as number;
      const start = r * cols + g * groupSize;
      const end = start + groupSize;
      for (let i = start; i < end; i++) {
        const v = x[i] as number;
        if (v - v !== 0) throw nonFinite(fn, "w", w, i);
        let q = roundHalfEven(Math.fround(v * inv)) + z;
        q = q < 0 ? 0 : q > maxq ? maxq : q;
        if (out !== null) out[i] = s * (q - z); // Float32Array store = fround
        if (codes !== null) codes[i] = q;
      }
    }
  }
}
