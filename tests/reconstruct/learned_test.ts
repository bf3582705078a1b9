// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { adaround, adaroundInit, adaroundSoftWeight } from "../../lib/reconstruct/adaround.ts";
import { learnedClip } from "../../lib/reconstruct/learned_clip.ts";
import { quantizeRtn } from "../../lib/quant/rtn.ts";
import { minmaxParams } from "../../lib/quant/minmax.ts";
import type { IntSpec } from "../../lib/quant/spec.ts";
import { dequantize } from "../../lib/quant/quantized_tensor.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { weightedError } from "../../lib/calib/metrics.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { randomHessian, randomWeights } from "./_data.ts";

/** The soft weight at AdaRound's initialisation equals W up to f32 rounding of W/s and back. */
const INIT_RTOL = 1e-6;
const INIT_ATOL = 1e-7;
/** Reported loss vs an independent f64 trace (the optimiser uses f32 GEMMs). */
const LOSS_RTOL = 1e-4;

const spec = (bits: number, groupSize: number, symmetric = false): IntSpec => ({
  format: "int",
  bits,
  groupSize,
  symmetric,
});

Deno.test("adaround: h(V) initialisation reproduces W exactly (inside the grid)", () => {
  const W = randomWeights(8, 32, 1);
  const params = minmaxParams(W, spec(4, 16));
  const soft = adaroundSoftWeight(W, adaroundInit(W, params), params);
  // Min-max rounds the zero point, so the extreme weights may sit up to half a step outside the grid.
  const inside: number[] = [], expected: number[] = [];
  for (let i = 0; i < W.size; i++) {
    const p = Math.floor(i / 32) * 2 + Math.floor((i % 32) / 16);
    const q = W.data[i]! / params.scale.data[p]! + params.zero.data[p]!;
    if (q < 0 || q > params.maxq) continue;
    inside.push(soft.data[i]!);
    expected.push(W.data[i]!);
  }
  assert.ok(inside.length >= 256 - 2 * 16); // at most the min and max of each of the 16 groups
  assertAllClose(inside, expected, { rtol: INIT_RTOL, atol: INIT_ATOL });
});

Deno.test("adaround: learned rounding beats round-to-nearest on the layer loss", async () => {
  for (const seed of [2, 3]) {
    const W = randomWeights(16, 48, seed);
    const H = randomHessian(48, seed + 10);
    const s = spec(3, 16);
    const r = await adaround(W, H, { spec: s, iterations: 300 });
    const rtn = await quantizeRtn(W, s, { ops: tsOps });
    assert.ok(r.loss < weightedError(W, rtn.weight, H) / 2, `seed ${seed}`);
    assertAllClose([r.loss], [weightedError(W, r.weight, H) / 2], { rtol: LOSS_RTOL, atol: 0 });
    assert.ok(r.flipped > 0 && r.flipped < 0.5);
    assert.deepEqual(dequantize(r.quantized).data, r.weight.data);
    // Every code is ⌊W/s⌋ or ⌊W/s⌋ + 1: AdaRound only chooses the rounding direction.
    const rtnDiff = r.weight.data.map((v, i) => Math.abs(v - rtn.weight.data[i]!));
    const p = minmaxParams(W, s);
    for (let i = 0; i < rtnDiff.length; i++) {
      const sc = p.scale.data[Math.floor(i / 48) * 3 + Math.floor((i % 48) / 16)]!;
      assert.ok(rtnDiff[i]! <= sc * 1.0001);
    }
  }
});

Deno.test("adaround: deterministic (same inputs, same result)", async () => {
  const W = randomWeights(8, 32, 4);
  const H = randomHessian(32, 5);
  const a = await adaround(W, H, { spec: spec(2, 16), iterations: 60 });
  const b = await adaround(W, H, { spec: spec(2, 16), iterations: 60 });
  assert.deepEqual(a.weight.data, b.weight.data);
});

Deno.test("learnedClip: learned ranges are no worse than min-max RTN and keep the best step", async () => {
  for (const [seed, s] of [[6, spec(3, 16)], [7, spec(2, 0)], [8, spec(4, 16, true)]] as const) {
    const W = randomWeights(16, 48, seed);
    const H = randomHessian(48, seed + 20);
    const r = await learnedClip(W, H, { spec: s, iterations: 150 });
    const rtn = await quantizeRtn(W, s, { ops: tsOps });
    assert.ok(r.loss <= weightedError(W, rtn.weight, H) / 2, `seed ${seed}`);
    assertAllClose([r.loss], [weightedError(W, r.weight, H) / 2], { rtol: LOSS_RTOL, atol: 0 });
    assert.ok(r.loss <= Math.min(...r.history) * (1 + LOSS_RTOL));
    for (const g of r.gamma) assert.ok(g > 0 && g < 1);
    assert.deepEqual(dequantize(r.quantized).data, r.weight.data);
  }
});

Deno.test("adaround / learnedClip: shape errors name the function", async () => {
  const W = randomWeights(4, 16, 9);
  const H = randomHessian(8, 9);
  await assertThrowsMessage(() => adaround(W, H, { spec: spec(4, 0) }), TypeError, "adaround", "[8, 8]");
  await assertThrowsMessage(() => learnedClip(W, H, { spec: spec(4, 0) }), TypeError, "learnedClip");
});
