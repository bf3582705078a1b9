// SPDX-License-Identifier: MIT
/**
 * Logarithmic (power-of-two) quantizer for non-negative values such as post-softmax or
 * post-ReLU activations (FQ-ViT/RepQ-ViT's log2 quantizer):
 *
 *     q = clamp(roundHalfEven(−log2(x / s)), 0, 2^b − 1),   x̂ = s · 2^(−q)
 *
 * with `s` the group maximum (times a clipping ratio). Zero maps to the smallest level
 * `s·2^(−(2^b−1))` as the formula implies. Rounding is in the log domain, so the decision
 * boundary between 2^−q and 2^−(q+1) is their geometric mean.
 *
 * @module
 */
import { formatShape, Tensor } from "../tensor/tensor.ts";
import { roundHalfEven } from "../tensor/numeric.ts";

/**
 * Levels of a b-bit log2 quantizer relative to the scale, ascending: `2^−(2^b−1) … 2^−1, 1`.
 * Code i of the ascending table corresponds to exponent `q = 2^b − 1 − i`.
 */
export function log2Levels(bits: number): Float32Array {
  const maxq = 2 ** bits - 1;
  return Float32Array.from({ length: maxq + 1 }, (_, i) => 2 ** -(maxq - i));
}

/**
 * Quantizes non-negative x `[rows, cols]` with per-group scales `[R, G]`.
 *
 * @param x f32 `[rows, cols]`, finite and ≥ 0
 * @param scale f32 `[R, G]` (> 0), R ∈ {1, rows}, G dividing cols
 * @param bits 2..8
 * @returns `values` f32 `[rows, cols]` and ascending-table `codes` u8 `[rows, cols]` (see {@link log2Levels})
 * @throws {RangeError} on a negative or non-finite x, bad bits or scale
 *
 * @example
 * ```ts
 * import { log2Quantize } from "./log2.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const x = new Tensor("f32", [1, 4], new Float32Array([1, 0.3, 0.2, 0]));
 * const s = new Tensor("f32", [1, 1], new Float32Array([1]));
 * assert.deepEqual(Array.from(log2Quantize(x, s, 2).values.data), [1, 0.25, 0.25, 0.125]);
 * ```
 */
export function log2Quantize(
  x: Tensor<"f32">,
  scale: Tensor<"f32">,
  bits: number,
): { values: Tensor<"f32">; codes: Tensor<"u8"> } {
  const fn = "log2Quantize";
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) {
    throw new RangeError(`${fn}: Cannot quantize to ${bits} bits: bits must be an integer in 2..8`);
  }
  if (x.rank !== 2 || scale.rank !== 2) {
    throw new TypeError(
      `${fn}: Cannot use x ${formatShape(x.shape)} with scale ${formatShape(scale.shape)}: expected 2-D tensors`,
    );
  }
  const [rows, cols] = x.shape as [number, number];
  const [R, G] = scale.shape as [number, number];
  if ((R !== 1 && R !== rows) || G < 1 || cols % G !== 0) {
    throw new TypeError(
      `${fn}: Cannot use scale of shape ${formatShape(scale.shape)} for x of shape ${
        formatShape(x.shape)
      }: expected [1 or ${rows}, a divisor of ${cols}]`,
    );
  }
  const maxq = 2 ** bits - 1, gs = cols / G;
  const values = new Float32Array(rows * cols), codes = new Uint8Array(rows * cols); // [rows, cols]
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const i = r * cols + j;
      const v = x.data[i] as number;
      if (!(v >= 0) || v === Infinity) {
        throw new RangeError(
          `${fn}: Cannot quantize element [${r}, ${j}] = ${v}: the log2 quantizer needs finite values ≥ 0`,
        );
      }
      const s = scale.data[(R === 1 ? 0 : r * G) + Math.floor(j / gs)] as number;
      if (!(s > 0) || s === Infinity) {
        throw new RangeError(`${fn}: Cannot quantize with scale ${s}: scale must be finite and > 0`);
      }
      let q = v === 0 ? maxq : roundHalfEven(-Math.log2(v / s));
      q = q < 0 ? 0 : q > maxq ? maxq : q;
      values[i] = s * 2 ** -q;
      codes[i] = maxq - q;
    }
  }
  return { values: new Tensor("f32", x.shape, values), codes: new Tensor("u8", x.shape, codes) };
}
