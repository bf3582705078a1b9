// SPDX-License-Identifier: MIT
/** fakeQuantize and quantizeCodes (lib/ops/ts/quantize.ts); blas shares the code, checked identical. */
import assert from "node:assert/strict";
import type { IntQuantParams } from "../../lib/ops/ops.ts";
import { fakeQuantize, quantizeCodes } from "../../lib/ops/ts/quantize.ts";
import { roundHalfEven } from "../../lib/tensor/numeric.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertThrowsMessage } from "../_assert.ts";
import { blasTest } from "../_backends.ts";
import { randF32 } from "./_data.ts";

/** Relative slack on the |w − ŵ| ≤ scale/2 bound for the f32 roundings of w·invScale and ŵ. */
const HALF_STEP_SLACK = 1e-6;

function params(scale: number[][], zero: number[][], maxq: number): IntQuantParams {
  const t = (v: number[][]) => new Tensor("f32", [v.length, v[0]!.length], Float32Array.from(v.flat()));
  return { scale: t(scale), zero: t(zero), maxq };
}

/** Per-group asymmetric min-max parameters for w `[rows, cols]` with G groups. */
function minmaxParams(w: Tensor<"f32">, G: number, maxq: number): IntQuantParams {
  const [rows, cols] = w.shape as [number, number];
  const gs = cols / G;
  const scale: number[][] = [];
  const zero: number[][] = [];
  for (let r = 0; r < rows; r++) {
    scale.push([]);
    zero.push([]);
    for (let g = 0; g < G; g++) {
      const v = Array.from(w.data.subarray(r * cols + g * gs, r * cols + (g + 1) * gs));
      const lo = Math.min(0, ...v);
      const hi = Math.max(0, ...v);
      const s = Math.fround((hi - lo) / maxq || 1);
      scale[r]!.push(s);
      zero[r]!.push(roundHalfEven(-lo / s));
    }
  }
  return params(scale, zero, maxq);
}

Deno.test("fakeQuantize() rounds ties to even: w = 2.5·scale rounds to 2, 3.5·scale to 4 (before adding zero)", () => {
  const w = new Tensor("f32", [1, 6], new Float32Array([2.5, 3.5, -2.5, -3.5, 0.5, 1.5].map((v) => v * 0.25)));
  const p = params([[0.25]], [[8]], 15);
  assert.deepEqual(Array.from(quantizeCodes(w, p).data), [10, 12, 6, 4, 8, 10]);
  assert.deepEqual(Array.from(fakeQuantize(w, p).data), [0.5, 1, -0.5, -1, 0, 0.5]);
});

Deno.test("fakeQuantize() error is at most scale/2 inside the range and codes match ŵ", () => {
  const w = randF32([9, 64], 4);
  for (const bits of [2, 3, 4, 8]) {
    const maxq = 2 ** bits - 1;
    for (const G of [1, 4, 64]) {
      const p = minmaxParams(w, G, maxq);
      const q = fakeQuantize(w, p);
      const codes = quantizeCodes(w, p);
      const gs = 64 / G;
      for (let i = 0; i < w.size; i++) {
        const k = Math.floor(i / 64) * G + Math.floor((i % 64) / gs);
        const s = p.scale.data[k]!;
        const z = p.zero.data[k]!;
        assert.ok(Math.abs(w.data[i]! - q.data[i]!) <= (s / 2) * (1 + HALF_STEP_SLACK), `bits=${bits} G=${G} i=${i}`);
        assert.equal(q.data[i], Math.fround(s * (codes.data[i]! - z)));
        assert.ok(codes.data[i]! <= maxq);
      }
    }
  }
});

Deno.test("fakeQuantize() clamps outside the range and follows the exact f32 formula", () => {
  const w = new Tensor("f32", [1, 4], new Float32Array([-100, 100, 0.1, 0.7]));
  const s = 0.3;
  const p = params([[s]], [[1]], 3);
  const inv = Math.fround(1 / Math.fround(s));
  const expectCode = (v: number) => Math.min(3, Math.max(0, roundHalfEven(Math.fround(Math.fround(v) * inv)) + 1));
  assert.deepEqual(Array.from(quantizeCodes(w, p).data), Array.from(w.data, expectCode));
  assert.deepEqual(
    Array.from(fakeQuantize(w, p).data),
    Array.from(w.data, (v) => Math.fround(Math.fround(s) * (expectCode(v) - 1))),
  );
});

Deno.test("fakeQuantize() broadcasts [1, G] parameters over rows", () => {
  const w = randF32([5, 8], 2);
  const one = params([[0.1, 0.2]], [[3, 4]], 7);
  const full = params(Array(5).fill([0.1, 0.2]), Array(5).fill([3, 4]), 7);
  assert.deepEqual(fakeQuantize(w, one).data, fakeQuantize(w, full).data);
  assert.deepEqual(quantizeCodes(new Tensor("f32", [0, 8]), one).shape, [0, 8]);
});

Deno.test("fakeQuantize() rejects bad shapes, parameters and non-finite weights", async () => {
  const w = randF32([4, 6], 1);
  const ok = params([[0.1]], [[0]], 15);
  await assertThrowsMessage(
    () => fakeQuantize(w, params([[0.1], [0.1]], [[0], [0]], 15)),
    TypeError,
    "[2, 1]",
    "expected 1 or 4 rows",
  );
  await assertThrowsMessage(
    () => fakeQuantize(w, params([[0.1, 0.1, 0.1, 0.1]], [[0, 0, 0, 0]], 15)),
    TypeError,
    "6 columns into 4 groups",
  );
  await assertThrowsMessage(
    () => fakeQuantize(w, { ...ok, zero: params([[0, 0]], [[0, 0]], 1).zero }),
    TypeError,
    "shapes must match",
  );
  await assertThrowsMessage(() => fakeQuantize(w, params([[0]], [[0]], 15)), RangeError, "scale 0");
  await assertThrowsMessage(() => fakeQuantize(w, params([[-1]], [[0]], 15)), RangeError, "scale -1");
  await assertThrowsMessage(() => fakeQuantize(w, params([[NaN]], [[0]], 15)), RangeError, "scale NaN");
  await assertThrowsMessage(() => fakeQuantize(w, params([[0.1]], [[16]], 15)), RangeError, "zero 16");
  await assertThrowsMessage(() => fakeQuantize(w, params([[0.1]], [[0.5]], 15)), RangeError, "zero 0.5");
  await assertThrowsMessage(() => fakeQuantize(w, { ...ok, maxq: 256 }), RangeError, "maxq 256");
  await assertThrowsMessage(() => fakeQuantize(w, { ...ok, maxq: 0 }), RangeError, "maxq 0");
  const bad = randF32([2, 3], 1);
  bad.data[4] = -Infinity;
  await assertThrowsMessage(() => quantizeCodes(bad, ok), RangeError, "element [1, 1] is -Infinity");
  await assertThrowsMessage(() => fakeQuantize(randF32([6], 1), ok), TypeError, "2-D");
});

blasTest("fakeQuantize() and quantizeCodes() are identical to ts", async (blas) => {
  const w = randF32([12, 32], 8);
  const p = minmaxParams(w, 4, 15);
  assert.deepEqual((await blas.fakeQuantize(w, p)).data, fakeQuantize(w, p).data);
  assert.deepEqual((await blas.quantizeCodes(w, p)).data, quantizeCodes(w, p).data);
  await assertThrowsMessage(() => blas.fakeQuantize(w, { ...p, maxq: 300 }), RangeError, "maxq 300");
});
