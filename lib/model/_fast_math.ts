// SPDX-License-Identifier: MIT
/**
 * A fast exponential for the forward pass's softmax and SiLU, accurate to well under f32
 * rounding, written so that every step is a multiply, an add, a rounding or a table load (no
 * branches in the common range, no calls): the form a SIMD kernel would take.
 *
 * Range reduction: k = round(x · 64/ln 2), r = x − k · ln 2/64 (|r| ≤ ln 2/128 ≈ 0.0054), so
 * e^x = 2^⌊k/64⌋ · 2^((k mod 64)/64) · e^r with both powers of two from tables and
 * e^r ≈ 1 + r + r²/2 (truncation error ≤ |r|³/6 ≈ 2.65e-8, relative).
 *
 * Measured (tests/model/fast_math_test.ts, a dense sweep and random points): relative error
 * ≤ {@link FAST_EXP_MAX_REL_ERROR} against `Math.exp` on [−104, 88.7], the inputs softmax
 * (x − max ≤ 0) and SiLU (−g for any f32 gate g whose result is representable) produce. Beyond:
 * x < −104 gives 0 and x > 88.8 gives Infinity — where e^x already rounds to 0 or overflows in
 * f32, so the f32 results are the same.
 *
 * @module
 */

/** Measured maximum relative error of {@link fastExp} on [−104, 88.7] (see the module doc). */
export const FAST_EXP_MAX_REL_ERROR = 3e-8;

const K = 64 / Math.LN2;
const L = Math.LN2 / 64;
const M_BIAS = 160; // ⌊k/64⌋ ranges over [−151, 128] for x in [−104, 88.8]
/** 2^(j/64), j = 0..63. */
const FRACTION = Float64Array.from({ length: 64 }, (_, j) => Math.pow(2, j / 64));
/** 2^m, m = −M_BIAS..M_BIAS−1. */
const POWER = Float64Array.from({ length: 2 * M_BIAS }, (_, i) => Math.pow(2, i - M_BIAS));

/**
 * e^x with relative error ≤ {@link FAST_EXP_MAX_REL_ERROR} on [−104, 88.7] (0 below, Infinity
 * above 88.8; NaN stays NaN).
 *
 * @param x exponent
 * @returns e^x as an f64 (callers store it as f32)
 *
 * @example
 * ```ts
 * import { FAST_EXP_MAX_REL_ERROR, fastExp } from "./_fast_math.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(fastExp(-3.7) / Math.exp(-3.7) - 1) <= FAST_EXP_MAX_REL_ERROR);
 * ```
 */
export function fastExp(x: number): number {
  if (x < -104) return 0;
  if (x > 88.8) return Infinity;
  const k = Math.round(x * K);
  const r = x - k * L;
  // k >> 6 is ⌊k/64⌋ and k & 63 its non-negative remainder, also for negative k
  return (POWER[(k >> 6) + M_BIAS] as number) * (FRACTION[k & 63] as number) * (1 + r * (1 + r * 0.5));
}
