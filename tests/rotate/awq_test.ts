// SPDX-License-Identifier: MIT
/** AWQ: the loss from XᵀX equals the token-wise output error, the search never loses to no scaling, folding keeps logits. */
import assert from "node:assert/strict";
import { awqClipSearch, awqScales, awqScaleSearch, rtnFakeQuantizer } from "../../lib/rotate/awq.ts";
import { awqModel } from "../../lib/rotate/awq_model.ts";
import { scaleColumns } from "../../lib/rotate/fuse.ts";
import { checkInvariance } from "../../lib/rotate/invariance.ts";
import { accumulateHessian, matmul } from "../../lib/ops/ts/mod.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import type { IntSpec } from "../../lib/quant/spec.ts";
import { assertAllClose } from "../_assert.ts";
import { cpuBackends } from "../_backends.ts";
import { randomIds, randomLlama } from "./_model.ts";

const LOGIT_ATOL = 1e-4;
/** Loss via XᵀX (f32 products) vs the direct token-wise sum (f64). */
const LOSS_RTOL = 1e-4;
const T = 16;
const SPEC: IntSpec = { format: "int", bits: 3, groupSize: 16, symmetric: false };

function randn(rows: number, cols: number, seed: number, outliers: number[] = []): Tensor<"f32"> {
  const rng = new Rng(seed);
  const t = new Tensor("f32", [rows, cols], Float32Array.from({ length: rows * cols }, () => rng.normal()));
  for (let r = 0; r < rows; r++) for (const j of outliers) t.data[r * cols + j]! *= 15;
  return t;
}

function statsOf(X: Tensor<"f32">) {
  const [tokens, n] = X.shape as [number, number];
  const xtx = new Tensor("f64", [n, n]);
  accumulateHessian(xtx, X, 1);
  const meanAbs = new Float64Array(n);
  for (let i = 0; i < X.size; i++) meanAbs[i % n]! += Math.abs(X.data[i]!) / tokens;
  return { xtx, meanAbs, tokens };
}

/** Direct objective: Σ_i ‖(Q(W_i·s)/s − W_i)·Xᵀ‖² / tokens in f64. */
async function directLoss(X: Tensor<"f32">, Ws: Tensor<"f32">[], s: Float32Array): Promise<number> {
  const q = rtnFakeQuantizer(SPEC, cpuBackends()[0]!);
  let loss = 0;
  for (const W of Ws) {
    const What = scaleColumns(await q(scaleColumns(W, s)), s.map((v) => 1 / v));
    const D = new Tensor("f32", W.shape, What.data.map((v, i) => v - W.data[i]!));
    const Y = matmul(X, D, { transB: true }); // [tokens, out]
    for (const v of Y.data) loss += v * v;
  }
  return loss / X.shape[0]!;
}

for (const ops of cpuBackends()) {
  Deno.test(`awqScaleSearch: loss matches the token-wise objective and never exceeds no scaling on ${ops.name}`, async () => {
    for (const seed of [1, 2, 3]) {
      const X = randn(256, 64, seed, seed === 3 ? [] : [5, 40]);
      const Ws = [randn(32, 64, seed + 10), randn(48, 64, seed + 20)];
      const r = await awqScaleSearch(statsOf(X), Ws, { quantize: rtnFakeQuantizer(SPEC, ops), ops });
      assert.equal(r.grid.length, 20);
      assert.equal(r.baseLoss, r.losses[0]);
      assert.ok(r.loss <= r.baseLoss, `seed ${seed}: ${r.loss} > ${r.baseLoss}`);
      assert.equal(r.loss, Math.min(...r.losses));
      assertAllClose([r.baseLoss], [await directLoss(X, Ws, new Float32Array(64).fill(1))], {
        rtol: LOSS_RTOL,
        atol: 0,
      });
      assertAllClose([r.loss], [await directLoss(X, Ws, r.scale)], { rtol: LOSS_RTOL, atol: 0 });
      if (seed !== 3) assert.ok(r.alpha > 0 && r.loss < r.baseLoss, `seed ${seed}: outliers should pull α > 0`);
    }
    assertAllClose(awqScales([4, 1, 16], 0), [1, 1, 1], { atol: 0, rtol: 0 });
    assertAllClose(awqScales([4, 1, 16], 0.5), [1, 0.5, 2], { atol: 0, rtol: 1e-7 }); // /√(4·1)
  });

  Deno.test(`awqClipSearch: clamps, never increases its per-group error on ${ops.name}`, async () => {
    const X = randn(256, 64, 4), W = randn(24, 64, 5, [7]);
    const r = await awqClipSearch(W, statsOf(X), SPEC, { ops });
    assert.deepEqual(r.maxVal.shape, [24, 4]);
    assert.ok(r.lossAfter <= r.lossBefore);
    for (let i = 0; i < W.size; i++) {
      const m = r.maxVal.data[Math.floor(i / 64) * 4 + Math.floor((i % 64) / 16)]!;
      assert.ok(Math.abs(r.weight.data[i]!) <= m + 1e-7);
      if (Math.abs(W.data[i]!) <= m) assert.equal(r.weight.data[i], W.data[i]);
    }
  });

  Deno.test(`awqModel: scale folding keeps logits; clipping changes weights; search ≤ no scaling on ${ops.name}`, async () => {
    const model = randomLlama(ops);
    const calib = randomIds(4 * T, 48, 12);
    const scaled = await awqModel(model, calib, { spec: SPEC, seqLen: T, clip: false });
    assert.equal(scaled.groups.length, 4 * model.config.numLayers); // ln→qkv, v→o, ln→gate/up, up→down
    for (const g of scaled.groups) assert.ok(g.loss <= g.baseLoss, `${g.prev}: ${g.loss} > ${g.baseLoss}`);
    const r = await checkInvariance(model, scaled.model, randomIds(2 * T, 48), T, { atol: LOGIT_ATOL });
    assert.ok(r.maxAbsDiff < LOGIT_ATOL, String(r.maxAbsDiff));
    const clipped = await awqModel(model, calib, { spec: SPEC, seqLen: T });
    assert.equal(clipped.clips.length, 5 * model.config.numLayers); // all but q/k
    for (const c of clipped.clips) assert.ok(c.lossAfter <= c.lossBefore, c.name);
    const name = "model.layers.0.mlp.down_proj.weight";
    assert.ok(clipped.model.weight(name).data.some((v, i) => v !== scaled.model.weight(name).data[i]));
  });
}

Deno.test("awqModel on grouped-query attention skips v→o", async () => {
  const model = randomLlama(cpuBackends()[0]!, { kvHeads: 2 });
  const r = await awqModel(model, randomIds(2 * T, 48), { spec: SPEC, seqLen: T, clip: false, nGrid: 4 });
  assert.ok(r.groups.every((g) => !g.prev.endsWith("v_proj")));
  const inv = await checkInvariance(model, r.model, randomIds(T, 48), T, { atol: LOGIT_ATOL });
  assert.ok(inv.maxAbsDiff < LOGIT_ATOL);
});
