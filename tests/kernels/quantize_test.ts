// SPDX-License-Identifier: MIT
/** fakeQuantize, quantizeCodes and codebookQuantize kernels against the CPU reference. */
import assert from "node:assert/strict";
import { codebookQuantize as codebookGpu } from "../../kernels/codebook_quantize.ts";
import { fakeQuantize as fakeGpu, quantizeCodes as codesGpu } from "../../kernels/quantize.ts";
import type { IntQuantParams } from "../../lib/ops/ops.ts";
import * as ref from "../../lib/ops/ts/mod.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertThrowsMessage } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";

/**
 * Integer quantization uses the host's fround(1/scale) and ties-to-even on both sides, so
 * codes and fake-quantized values must be bit-identical: no mismatch allowed.
 */
const MAX_INT_CODE_MISMATCH = 0;
/**
 * Codebook distances are f32 on the GPU and exact on the CPU: a value within an ulp of the
 * midpoint between two levels may pick the other one.
 */
const MAX_CODEBOOK_MISMATCH_RATE = 1e-3;

/** Min-max asymmetric parameters `[R, G]` for `w` (R = rows or 1). */
function minmaxParams(w: Tensor<"f32">, groups: number, perRow: boolean, bits: number): IntQuantParams {
  const [rows, cols] = w.shape as [number, number];
  const R = perRow ? rows : 1;
  const maxq = 2 ** bits - 1;
  const scale = new Float32Array(R * groups);
  const zero = new Float32Array(R * groups);
  const gs = cols / groups;
  for (let r = 0; r < R; r++) {
    for (let g = 0; g < groups; g++) {
      let lo = 0;
      let hi = 0;
      for (let rr = perRow ? r : 0; rr < (perRow ? r + 1 : rows); rr++) {
        for (let c = g * gs; c < (g + 1) * gs; c++) {
          const v = w.data[rr * cols + c] as number;
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
      const s = (hi - lo) / maxq || 1;
      scale[r * groups + g] = s;
      zero[r * groups + g] = Math.min(maxq, Math.max(0, Math.round(-lo / s)));
    }
  }
  return { scale: new Tensor("f32", [R, groups], scale), zero: new Tensor("f32", [R, groups], zero), maxq };
}

function countMismatches(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

gpuTest("fakeQuantize() and quantizeCodes() are bit-identical to the CPU", async (ctx) => {
  const cases: [number, number, number, boolean, number][] = [
    [33, 96, 3, true, 4],
    [33, 96, 1, false, 3],
    [1, 50, 2, true, 8],
    [50, 1, 1, true, 2],
    [7, 13, 13, true, 4],
  ];
  for (const [rows, cols, groups, perRow, bits] of cases) {
    const w = randnF32([rows, cols], rows * cols);
    const params = minmaxParams(w, groups, perRow, bits);
    const what = `[${rows}, ${cols}] G=${groups} perRow=${perRow} bits=${bits}`;
    const fq = await fakeGpu(ctx, w, params);
    assert.equal(countMismatches(fq.data, ref.fakeQuantize(w, params).data), MAX_INT_CODE_MISMATCH, what);
    const codes = await codesGpu(ctx, w, params);
    assert.deepEqual(codes.shape, [rows, cols]);
    assert.equal(countMismatches(codes.data, ref.quantizeCodes(w, params).data), MAX_INT_CODE_MISMATCH, what);
  }
});

gpuTest("quantizeCodes() rounds exact ties to even like the CPU", async (ctx) => {
  // w / scale = k + 0.5 exactly: ties must go to the even integer (WGSL round()).
  const w = new Tensor("f32", [1, 8], Float32Array.from([-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5]));
  const params = {
    scale: new Tensor("f32", [1, 1], new Float32Array([1])),
    zero: new Tensor("f32", [1, 1], new Float32Array([8])),
    maxq: 15,
  };
  const codes = await codesGpu(ctx, w, params);
  assert.deepEqual(Array.from(codes.data), [4, 6, 6, 8, 8, 10, 10, 12]);
  assert.deepEqual(Array.from(codes.data), Array.from(ref.quantizeCodes(w, params).data));
});

gpuTest("fakeQuantize() rejects bad parameters and NaN like the CPU backend", async (ctx) => {
  const w = randnF32([4, 6], 1);
  const ok = minmaxParams(w, 2, true, 4);
  await assertThrowsMessage(() => fakeGpu(ctx, w, { ...ok, maxq: 300 }), RangeError, "maxq");
  await assertThrowsMessage(() => fakeGpu(ctx, w, minmaxParams(randnF32([4, 5], 1), 5, true, 4)), TypeError, "groups");
  const bad = randnF32([4, 6], 2);
  bad.data[3] = NaN;
  await assertThrowsMessage(() => codesGpu(ctx, bad, ok), RangeError, "NaN");
});

gpuTest("codebookQuantize() matches the CPU (NF4-like grid, per-group scales)", async (ctx) => {
  const rng = new Rng(5);
  const levels = Float32Array.from({ length: 16 }, (_, i) => Math.tanh((i - 7.5) / 4)).sort();
  for (const [rows, cols, groups, R] of [[31, 64, 4, 31], [1, 40, 1, 1], [40, 1, 1, 40]] as const) {
    const x = randnF32([rows, cols], rows + cols);
    const scale = new Tensor("f32", [R, groups], Float32Array.from({ length: R * groups }, () => 1 + rng.uniform()));
    const got = await codebookGpu(ctx, x, levels, scale);
    const want = ref.codebookQuantize(x, levels, scale);
    const bad = countMismatches(got.codes.data, want.codes.data);
    assert.ok(bad <= MAX_CODEBOOK_MISMATCH_RATE * x.size, `${bad} of ${x.size} codes differ`);
    for (let i = 0; i < x.size; i++) {
      if (got.codes.data[i] === want.codes.data[i]) assert.equal(got.values.data[i], want.values.data[i]);
    }
  }
});

gpuTest("codebookQuantize() sends exact midpoints to the lower level and clamps the ends", async (ctx) => {
  const levels = new Float32Array([-1, 0, 0.5, 1]);
  const x = new Tensor("f32", [1, 6], new Float32Array([-0.5, 0.25, 0.75, -9, 9, 0.5]));
  const scale = new Tensor("f32", [1, 1], new Float32Array([1]));
  const got = await codebookGpu(ctx, x, levels, scale);
  assert.deepEqual(Array.from(got.codes.data), [0, 1, 2, 0, 3, 2]);
  assert.deepEqual(Array.from(got.codes.data), Array.from(ref.codebookQuantize(x, levels, scale).codes.data));
  await assertThrowsMessage(() => codebookGpu(ctx, x, new Float32Array([1, 0]), scale), RangeError, "ascending");
});
