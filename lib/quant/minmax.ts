// SPDX-License-Identifier: MIT
/**
 * Min-max range setting (GPTQ's `Quantizer.find_params`): per group, the range is
 * [min(x, 0), max(x, 0)]; asymmetric `scale = (max − min)/maxq`, `zero = round(−min/scale)`;
 * symmetric uses ±absmax with `zero = (maxq + 1)/2`. An all-zero group gets the range [−1, 1].
 * An optional clipping ratio shrinks the range (the MSE search scans it).
 *
 * Overflow: the dequantized extremes are `scale·(0 − zero)` and `scale·(maxq − zero)`, which can
 * exceed the range itself (symmetric reaches `(maxq + 1)/maxq · absmax`). Near ±FLT_MAX they
 * would be ±Inf in f32, so the step is then shrunk to the largest f32 with
 * `scale · max(zero, maxq − zero) ≤ FLT_MAX`: every output stays finite, at most one step from
 * its input.
 *
 * @module
 */
import { assertFinite, dims2, Tensor } from "../tensor/tensor.ts";
import { f16BitsToF32, f32ToF16Bits, roundHalfEven } from "../tensor/numeric.ts";
import type { IntQuantParams } from "../ops/ops.ts";
import { groupsPerRow, type IntSpec } from "./spec.ts";

/**
 * Min-max quantization parameters of W `[rows, cols]` for `spec`.
 * @param clip shrink factor of the range in (0, 1] (default 1)
 * @returns scale and zero f32 `[rows, G]` (`[1, 1]` when `spec.perTensor`) and maxq
 */
export function minmaxParams(W: Tensor<"f32">, spec: IntSpec, clip = 1): IntQuantParams {
  const [rows, cols] = dims2("minmaxParams", "W", W);
  const G = groupsPerRow("minmaxParams", spec, cols);
  assertFinite("minmaxParams", "W", W);
  if (!(clip > 0 && clip <= 1)) throw new RangeError(`minmaxParams: Cannot clip with ratio ${clip}: expected (0, 1]`);
  if (spec.perTensor) {
    // One range for the whole tensor: params [1, 1] broadcast to every row and column.
    let lo = 0, hi = 0;
    for (let i = 0; i < W.size; i++) {
      const v = W.data[i] as number;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const p = groupParams(lo * clip, hi * clip, 2 ** spec.bits - 1, spec.symmetric, spec.f16Min);
    const one = (v: number) => new Tensor("f32", [1, 1], new Float32Array([v]));
    return { scale: one(p.scale), zero: one(p.zero), maxq: 2 ** spec.bits - 1 };
  }
  const gs = cols / G, maxq = 2 ** spec.bits - 1;
  const scale = new Float32Array(rows * G), zero = new Float32Array(rows * G);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < G; g++) {
      let lo = 0, hi = 0;
      const o = r * cols + g * gs;
      for (let j = 0; j < gs; j++) {
        const v = W.data[o + j] as number;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const p = groupParams(lo * clip, hi * clip, maxq, spec.symmetric, spec.f16Min);
      scale[r * G + g] = p.scale;
      zero[r * G + g] = p.zero;
    }
  }
  return { scale: new Tensor("f32", [rows, G], scale), zero: new Tensor("f32", [rows, G], zero), maxq };
}

/** Ranges narrower than this quantize to exact zeros (their 1/scale would overflow f32). */
export const MIN_RANGE = 1e-30;

/** The largest finite f32 (FLT_MAX). */
export const F32_MAX = 3.4028234663852886e38;

/** The largest f32 ≤ x, for finite x > 0 in the normal range. */
function f32AtMost(x: number): number {
  const f = Math.fround(x);
  if (f <= x) return f;
  const bits = new Uint32Array(Float32Array.of(f).buffer);
  bits[0] = (bits[0] as number) - 1; // the next f32 toward zero
  return new Float32Array(bits.buffer)[0] as number;
}

/**
 * Scale and zero for one range [lo ≤ 0, hi ≥ 0]; the dequantized grid stays within ±FLT_MAX.
 * With `f16Min` (asymmetric), see {@link f16MinParams}.
 */
export function groupParams(
  lo: number,
  hi: number,
  maxq: number,
  symmetric: boolean,
  f16Min = false,
): { scale: number; zero: number } {
  if (symmetric) {
    const m = Math.max(-lo, hi);
    lo = -m;
    hi = m;
  }
  // An all-zero group, or one so small that 1/scale would overflow f32 (subnormal weights,
  // seen in real checkpoints): every weight then rounds to the zero point, i.e. to 0.
  if (hi - lo < MIN_RANGE) {
    lo = -1;
    hi = 1;
  }
  let scale = Math.fround((hi - lo) / maxq);
  const zero = symmetric ? (maxq + 1) / 2 : roundHalfEven(-lo / scale);
  // f32 scale × small integer is exact in f64, so this test is exact.
  const reach = Math.max(zero, maxq - zero);
  if (scale * reach > F32_MAX) scale = f32AtMost(F32_MAX / reach);
  return f16Min && !symmetric ? f16MinParams(lo, scale, maxq) : { scale, zero };
}

/**
 * ggml Q4_1-exact parameters: `scale` and the offset `scale·zero` both exactly f16, so that
 * ggml's `q·d + m` (d = scale, m = −scale·zero) equals `scale·(q − zero)` in f32 for every code.
 * The scale is the f16 value nearest to `scale` (searched outward, larger first) whose product
 * with the integer zero `round(−lo/scale)` is an f16; for 4-bit zeros it lies within 8 f16 steps
 * (≤ 0.4%). Falls back to the plain f16 scale when no such value is in range.
 *
 * @param lo range minimum (≤ 0)
 * @param scale the f32 scale of the range
 * @param maxq largest code
 * @returns scale and integer zero
 */
export function f16MinParams(lo: number, scale: number, maxq: number): { scale: number; zero: number } {
  const bits0 = f32ToF16Bits(scale);
  const exactF16 = (x: number) => Number.isFinite(x) && f16BitsToF32(f32ToF16Bits(x)) === x;
  let fallback: { scale: number; zero: number } | undefined;
  for (let k = 0; k <= 2 * (maxq + 1); k++) {
    const step = k % 2 === 1 ? (k + 1) / 2 : -k / 2; // 0, +1, −1, +2, −2, …
    const b = bits0 + step;
    if (b <= 0 || b >= 0x7c00) continue; // positive finite f16 only
    const s = f16BitsToF32(b);
    const zero = Math.min(maxq, Math.max(0, roundHalfEven(-lo / s)));
    fallback ??= { scale: s, zero };
    if (exactF16(s * zero)) return { scale: s, zero };
  }
  return fallback ?? { scale, zero: Math.min(maxq, Math.max(0, roundHalfEven(-lo / scale))) };
}
