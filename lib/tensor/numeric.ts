// SPDX-License-Identifier: MIT
/**
 * Scalar numerics shared by every backend: ties-to-even rounding (as WGSL `round()` and
 * `torch.round`; JS `Math.round` rounds ties up) and IEEE-754 half / bfloat16 conversions.
 *
 * @module
 */

/**
 * Rounds to the nearest integer, ties to even.
 *
 * @example
 * ```ts
 * import { roundHalfEven } from "./numeric.ts";
 * import assert from "node:assert/strict";
 * assert.equal(roundHalfEven(2.5), 2);
 * assert.equal(roundHalfEven(3.5), 4);
 * assert.equal(roundHalfEven(-2.5), -2);
 * ```
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties toward +∞
  // A tie rounded up to an odd integer goes back down by one.
  return r - x === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Converts a number to IEEE-754 half-precision bits (round to nearest even; overflow → ±Inf; NaN kept). */
export function f32ToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    // subnormal half (or zero): shift the implicit bit in, round to nearest even
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1) !== 0)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1) !== 0)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** Converts IEEE-754 half-precision bits to a number (exact). */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Converts a number to bfloat16 bits (round to nearest even of the f32 value). */
export function f32ToBf16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff; // quiet NaN
  const lsb = (x >>> 16) & 1;
  return ((x + 0x7fff + lsb) >>> 16) & 0xffff;
}

/** Converts bfloat16 bits to a number (exact). */
export function bf16BitsToF32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0] as number;
}
