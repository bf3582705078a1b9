// SPDX-License-Identifier: MIT
/**
 * The forward pass's fast exponentials against `Math.exp`: the scalar `fastExp` and the 4-lane
 * WebAssembly SIMD exp, swept densely over the ranges softmax (x − max ≤ 0) and SiLU (−g) feed
 * them, plus the out-of-range behaviour each documents.
 */
import assert from "node:assert/strict";
import { FAST_EXP_MAX_REL_ERROR, fastExp } from "../../lib/model/_fast_math.ts";
import { SIMD_EXP_MAX_REL_ERROR, simdKernels } from "../../lib/model/_simd_kernels.ts";
import { Rng } from "../../lib/tensor/random.ts";

/** Dense grid over [lo, hi] (step about 3.7e−4, not commensurate with ln 2/64) and 100k seeded random points. */
function sweep(lo: number, hi: number): Float64Array {
  const step = 3.7e-4, n = Math.floor((hi - lo) / step) + 1, rng = new Rng(7);
  const xs = new Float64Array(n + 100_000);
  for (let i = 0; i < n; i++) xs[i] = lo + i * step;
  for (let i = 0; i < 100_000; i++) xs[n + i] = lo + (hi - lo) * rng.uniform();
  xs[xs.length - 1] = hi;
  return xs;
}

Deno.test("fastExp: relative error within its documented bound on [-104, 88.7]", () => {
  let worst = 0, at = 0;
  for (const x of sweep(-104, 88.7)) {
    const e = Math.exp(x), rel = Math.abs(fastExp(x) - e) / e;
    if (rel > worst) [worst, at] = [rel, x];
  }
  assert.ok(worst <= FAST_EXP_MAX_REL_ERROR, `max relative error ${worst.toExponential(3)} at x = ${at}`);
  // the truncated series' own bound: a much looser implementation would not get here
  assert.ok(worst > 1e-9, `suspiciously exact (${worst}): is fastExp calling Math.exp?`);
});

Deno.test("fastExp: 0 below -104, Infinity above 88.8, NaN stays NaN — what f32 rounding gives", () => {
  for (const x of [-104.01, -200, -1e30, -Infinity]) assert.equal(fastExp(x), 0);
  for (const x of [88.81, 100, Infinity]) assert.equal(fastExp(x), Infinity);
  assert.ok(Number.isNaN(fastExp(NaN)));
  // where it cuts off, f32 agrees: e^x rounds to 0 resp. overflows
  assert.equal(Math.fround(Math.exp(-104.01)), 0);
  assert.equal(Math.fround(Math.exp(88.81)), Infinity);
  assert.equal(fastExp(0), 1);
});

Deno.test("SIMD exp: relative error within its documented bound on [-87.3, 88.3]", () => {
  const simd = simdKernels();
  assert.ok(simd, "WebAssembly SIMD is unavailable in this runtime");
  const xs = Float32Array.from(sweep(-87.3, 88.3));
  const n = xs.length & ~3;
  simd.reserve(n);
  simd.f32.set(xs.subarray(0, n));
  simd.exp(0, n);
  let worst = 0, at = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(xs[i]!), rel = Math.abs(simd.f32[i]! - e) / e;
    if (rel > worst) [worst, at] = [rel, xs[i]!];
  }
  assert.ok(worst <= SIMD_EXP_MAX_REL_ERROR, `max relative error ${worst.toExponential(3)} at x = ${at}`);
});

Deno.test("SIMD exp: clamped outside [-87.3, 88.3], so softmax and SiLU stay finite and non-negative", () => {
  const simd = simdKernels()!;
  simd.f32.set([-1000, -Infinity, 1000, 0], 0);
  simd.exp(0, 4);
  const [lo, minusInf, hi, one] = simd.f32;
  assert.ok(lo! >= 0 && lo! < 1.3e-38 && minusInf! >= 0 && minusInf! < 1.3e-38, `${lo}, ${minusInf}`);
  assert.ok(Number.isFinite(hi!) && hi! > 1e38, `${hi}`);
  assert.ok(Math.abs(one! - 1) <= SIMD_EXP_MAX_REL_ERROR);
});
