// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { gptq } from "../../lib/reconstruct/gptq.ts";
import { babaiNearestPlane } from "../../lib/reconstruct/babai.ts";
import { prepareHessian } from "../../lib/reconstruct/_hinv.ts";
import { quantizeRtn } from "../../lib/quant/rtn.ts";
import { minmaxParams } from "../../lib/quant/minmax.ts";
import type { IntSpec } from "../../lib/quant/spec.ts";
import { dequantize } from "../../lib/quant/quantized_tensor.ts";
import { unpack } from "../../lib/ops/ts/pack.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { weightedError } from "../../lib/calib/metrics.ts";
import { NotPositiveDefiniteError } from "../../lib/linalg/errors.ts";
import { eye } from "../../lib/tensor/create.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { blasTest } from "../_backends.ts";
import { randomHessian, randomWeights } from "./_data.ts";

/** GPTQ's summed column losses vs ½·Tr(ΔW(H + damp·I)ΔWᵀ): f32 sweep against an f64 trace. */
const LOSS_IDENTITY_RTOL = 2e-3;
/**
 * Share of codes allowed to differ between runs that are equal in exact arithmetic but round
 * differently (blas sgemm vs ts matmul, different block sizes). A flip at a rounding tie
 * changes the feedback to the rest of that row, so flips come in short runs.
 */
const MAX_CODE_MISMATCH_RATE = 0.01;
/** Proxy losses of such runs agree to this relative tolerance. */
const LOSS_AGREEMENT_RTOL = 0.02;

const spec = (bits: number, groupSize: number, symmetric = false): IntSpec => ({
  format: "int",
  bits,
  groupSize,
  symmetric,
});

function codesOf(r: Awaited<ReturnType<typeof gptq>>): Uint8Array {
  return unpack(r.quantized.codes).data;
}

function mismatchRate(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d / a.length;
}

Deno.test("gptq: with H = I it equals RTN exactly (same codes), per-channel and grouped", async () => {
  const W = randomWeights(12, 64, 1);
  for (const s of [spec(4, 0), spec(3, 16), spec(2, 32, true), spec(8, 64)]) {
    const g = await gptq(W, eye(64, "f64"), { spec: s, blockSize: 24 });
    const rtn = await quantizeRtn(W, s, { ops: tsOps });
    assert.deepEqual(codesOf(g), rtn.codes.data, `codes for bits ${s.bits} g${s.groupSize}`);
    assert.deepEqual(g.weight.data, rtn.weight.data);
    assert.deepEqual(g.quantized.scale.data, rtn.params.scale.data);
  }
});

Deno.test("gptq: run back-to-front it equals Babai's nearest plane bit for bit", async () => {
  for (const [seed, s] of [[3, spec(4, 0)], [4, spec(3, 0)], [5, spec(3, 16)]] as const) {
    const W = randomWeights(16, 48, seed);
    const H = randomHessian(48, seed + 100);
    const params = minmaxParams(W, s);
    const reversed = Int32Array.from({ length: 48 }, (_, i) => 47 - i);
    const g = await gptq(W, H, { spec: s, params, order: reversed, dampRatio: 0, blockSize: 16 });
    const b = babaiNearestPlane(W, H, params);
    assert.deepEqual(codesOf(g), b.codes.data, `seed ${seed}`);
    assert.deepEqual(g.weight.data, b.weight.data);
  }
});

Deno.test("gptq: proxy loss Tr(ΔW H ΔWᵀ) is below RTN's on seeded random SPD Hessians", async () => {
  for (const seed of [10, 11, 12, 13]) {
    const W = randomWeights(32, 64, seed);
    const H = randomHessian(64, seed + 50);
    for (const s of [spec(4, 0), spec(3, 16), spec(2, 32)]) {
      const g = await gptq(W, H, { spec: s, blockSize: 32 });
      const rtn = await quantizeRtn(W, s, { ops: tsOps });
      const lg = weightedError(W, g.weight, H), lr = weightedError(W, rtn.weight, H);
      assert.ok(lg < lr, `seed ${seed} bits ${s.bits}: GPTQ ${lg} >= RTN ${lr}`);
    }
  }
});

Deno.test("gptq: summed column losses equal ½·Tr(ΔW (H + damp·I) ΔWᵀ)", async () => {
  const W = randomWeights(8, 40, 20);
  const H = randomHessian(40, 21);
  const g = await gptq(W, H, { spec: spec(3, 0), blockSize: 16 });
  const Hd = new Tensor("f64", [40, 40], H.data.slice());
  for (let j = 0; j < 40; j++) Hd.data[j * 41] = (Hd.data[j * 41] as number) + g.damp;
  assertAllClose([g.totalLoss], [weightedError(W, g.weight, Hd) / 2], { rtol: LOSS_IDENTITY_RTOL, atol: 0 });
  assert.equal(g.dampRatio, 0.01);
});

Deno.test("gptq: act-order sweeps by diag(H) descending and records g_idx; dequantize matches", async () => {
  const W = randomWeights(10, 64, 30);
  const H = randomHessian(64, 31);
  const g = await gptq(W, H, { spec: spec(4, 16), actOrder: true, blockSize: 32 });
  assert.ok(g.perm);
  for (let a = 1; a < 64; a++) {
    assert.ok(H.get(g.perm[a - 1]!, g.perm[a - 1]!) >= H.get(g.perm[a]!, g.perm[a]!));
  }
  const gidx = g.quantized.groupIndex;
  assert.ok(gidx);
  for (let a = 0; a < 64; a++) assert.equal(gidx[g.perm[a]!], Math.floor(a / 16));
  assert.deepEqual(dequantize(g.quantized).data, g.weight.data);
  const rtn = await quantizeRtn(W, spec(4, 16), { ops: tsOps });
  assert.ok(weightedError(W, g.weight, H) < weightedError(W, rtn.weight, H));
});

Deno.test("gptq: static groups keep original-order groups (no g_idx) under act-order", async () => {
  const W = randomWeights(10, 64, 40);
  const H = randomHessian(64, 41);
  const s = spec(3, 16);
  const g = await gptq(W, H, { spec: s, actOrder: true, staticGroups: true, blockSize: 32 });
  assert.equal(g.quantized.groupIndex, undefined);
  assert.deepEqual(g.quantized.scale.data, minmaxParams(W, s).scale.data);
  assert.deepEqual(dequantize(g.quantized).data, g.weight.data);
});

Deno.test("gptq: block size changes only rounding (codes agree within the tie rate)", async () => {
  const W = randomWeights(24, 96, 50);
  const H = randomHessian(96, 51);
  const s = spec(3, 32);
  const ref = await gptq(W, H, { spec: s, blockSize: 96 });
  for (const blockSize of [1, 7, 32]) {
    const g = await gptq(W, H, { spec: s, blockSize });
    assert.ok(mismatchRate(codesOf(g), codesOf(ref)) <= MAX_CODE_MISMATCH_RATE, `blockSize ${blockSize}`);
    assertAllClose([g.totalLoss], [ref.totalLoss], { rtol: LOSS_AGREEMENT_RTOL, atol: 0 });
  }
});

Deno.test("gptq: dead columns (H_jj = 0) are quantized to exact zeros", async () => {
  const W = randomWeights(6, 32, 60);
  const H = randomHessian(32, 61);
  for (const j of [3, 17]) {
    for (let k = 0; k < 32; k++) {
      H.data[j * 32 + k] = 0;
      H.data[k * 32 + j] = 0;
    }
  }
  const g = await gptq(W, H, { spec: spec(4, 16) });
  assert.deepEqual(Array.from(g.dead), [3, 17]);
  for (let r = 0; r < 6; r++) {
    assert.equal(g.weight.get(r, 3), 0);
    assert.equal(g.weight.get(r, 17), 0);
  }
});

Deno.test("gptq: damping escalates ×10 until H factors, then throws NotPositiveDefiniteError with the hint", async () => {
  const W = randomWeights(3, 2, 70);
  const mild = new Tensor("f64", [2, 2], new Float64Array([1, 1.05, 1.05, 1])); // eigenvalues 2.05, −0.05
  const g = await gptq(W, mild, { spec: spec(4, 0) });
  assertAllClose([g.dampRatio], [0.1], { rtol: 1e-12 });
  const bad = new Tensor("f64", [2, 2], new Float64Array([1, 3, 3, 1])); // eigenvalue −2
  const e = await assertThrowsMessage(
    () => gptq(W, bad, { spec: spec(4, 0) }),
    NotPositiveDefiniteError,
    "gptq",
    "increase dampRatio (tried 0.01, 0.1, 1",
  );
  assert.ok((e as NotPositiveDefiniteError).hint.includes("dampRatio"));
  // More tries reach damping 10·mean(diag): enough here.
  assert.equal((await gptq(W, bad, { spec: spec(4, 0), dampTries: 4 })).dampRatio, 10);
  const negative = new Tensor("f64", [2, 2], new Float64Array([1, 0, 0, -1]));
  await assertThrowsMessage(() => gptq(W, negative, { spec: spec(4, 0) }), NotPositiveDefiniteError, "pivot 1");
});

Deno.test("gptq: bad input is a clear error", async () => {
  const W = randomWeights(4, 16, 80);
  await assertThrowsMessage(() => gptq(W, eye(8, "f64"), { spec: spec(4, 0) }), TypeError, "gptq", "[16, 16]");
  await assertThrowsMessage(() => gptq(W, eye(16, "f64"), { spec: spec(4, 5) }), RangeError, "groups of 5");
  const nan = new Tensor("f32", [4, 16], W.data.slice());
  nan.data[5] = NaN;
  await assertThrowsMessage(() => gptq(nan, eye(16, "f64"), { spec: spec(4, 0) }), RangeError, "NaN");
  await assertThrowsMessage(
    () => gptq(W, eye(16, "f64"), { spec: spec(4, 0), order: new Int32Array(16) }),
    RangeError,
    "permutation",
  );
});

Deno.test("prepareHessian: Hinv is the upper Cholesky factor of H⁻¹ (UᵀU·H = I)", async () => {
  const H = randomHessian(24, 90);
  const { Hinv } = await prepareHessian(H, { ops: tsOps, dampRatio: 0 });
  const U = Hinv.data, n = 24;
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) assert.equal(U[i * n + j], 0);
  // (UᵀU)·H = I
  const M = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k <= Math.min(i, j); k++) s += (U[k * n + i] as number) * (U[k * n + j] as number);
      M[i * n + j] = s;
    }
  }
  const P = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (M[i * n + k] as number) * (H.data[k * n + j] as number);
      P[i * n + j] = s;
    }
  }
  assertAllClose(P, eye(n, "f64").data, { atol: 1e-8, rtol: 0 });
});

blasTest("gptq gives the same codes on ts and blas (within the tie rate)", async (blas) => {
  const W = randomWeights(64, 128, 100);
  const H = randomHessian(128, 101);
  for (const s of [spec(4, 0), spec(3, 32)]) {
    for (const actOrder of [false, true]) {
      const a = await gptq(W, H, { spec: s, actOrder, blockSize: 32 });
      const b = await gptq(W, H, { spec: s, actOrder, blockSize: 32, ops: blas });
      assert.ok(mismatchRate(codesOf(a), codesOf(b)) <= MAX_CODE_MISMATCH_RATE);
      assertAllClose([b.totalLoss], [a.totalLoss], { rtol: LOSS_AGREEMENT_RTOL, atol: 0 });
    }
  }
});
