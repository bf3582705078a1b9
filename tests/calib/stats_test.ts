// SPDX-License-Identifier: MIT
/** Activation statistics tables and error/quantizability metrics. */
import assert from "node:assert/strict";
import { activationStats } from "../../lib/calib/act_stats.ts";
import { captureLinearInputs } from "../../lib/calib/capture.ts";
import { incoherence, mse, quantizationKernelFraction, sqnr, weightedError } from "../../lib/calib/metrics.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { tinyIds, tinyModel } from "./_tiny_model.ts";

/** Streamed f64 moments vs a two-pass computation on the captured inputs. */
const STATS_RTOL = 1e-6;

Deno.test("activationStats per channel equals statistics of the captured inputs", async () => {
  const model = tinyModel(5);
  const ids = tinyIds(3, 16, 6);
  const name = "model.layers.1.mlp.down_proj";
  const stats = await activationStats(model, ids, 16, { batchSize: 2, histogramBins: 16 });
  const X = (await captureLinearInputs(model, ids, 16, { names: [name] })).get(name)!;
  const [T, C] = X.shape as [number, number];
  const rows = stats.channels.toArray().map((r) => r.toJSON()).filter((r) => r.name === name);
  assert.equal(rows.length, C);
  for (const c of [0, 7, C - 1]) {
    let m = 0, amax = 0;
    for (let t = 0; t < T; t++) m += X.data[t * C + c]! / T;
    let v = 0, m4 = 0;
    for (let t = 0; t < T; t++) {
      const d = X.data[t * C + c]! - m;
      v += d * d / T;
      m4 += d ** 4 / T;
      amax = Math.max(amax, Math.abs(X.data[t * C + c]!));
    }
    const r = rows[c]!;
    assert.equal(r.absmax, amax);
    assert.ok(Math.abs(r.mean - m) <= STATS_RTOL * (Math.abs(m) + 1e-3));
    assert.ok(Math.abs(r.std - Math.sqrt(v)) <= STATS_RTOL * Math.sqrt(v));
    assert.ok(Math.abs(r.kurtosis - m4 / (v * v)) <= 1e-4 * (m4 / (v * v)));
  }
  const layers = stats.layers.toArray().map((r) => r.toJSON());
  assert.equal(layers.length, 14);
  const l = layers.find((r) => r.name === name)!;
  assert.equal(l.tokens, 48);
  assert.ok(l.mmr >= 1);
  const hist = stats.histograms.toArray().map((r) => r.toJSON()).filter((r) => r.name === name);
  assert.equal(hist.length, 16);
  assert.equal(hist.reduce((s, r) => s + r.count, 0), T * C);
});

Deno.test("metrics: SQNR, MSE, weighted error, incoherence, kernel fraction", () => {
  const W = randnF32([4, 8], 1), Q = new Tensor("f32", [4, 8], W.data.map((v) => v * 0.9));
  assert.ok(Math.abs(sqnr(W, Q) - 20) < 1e-4); // error is 10% of the signal: 20 dB
  assert.ok(Math.abs(mse(W, Q) - W.data.reduce((s, v) => s + (0.1 * v) ** 2, 0) / 32) < 1e-9);
  assert.equal(sqnr(W, W), Infinity);
  const I = new Tensor("f64", [8, 8], Float64Array.from({ length: 64 }, (_, i) => (i % 9 === 0 ? 2 : 0)));
  assert.ok(Math.abs(weightedError(W, Q, I) - 2 * 32 * mse(W, Q)) < 1e-9);
  assert.equal(incoherence(new Tensor("f32", [1, 4], new Float32Array([0, 0, 0, 5]))), 2);
  const big = randnF32([64, 64], 2);
  assert.ok(incoherence(big) > 2 && incoherence(big) < 6); // Gaussian: ~√(2 ln mn)
  assert.equal(quantizationKernelFraction(W, new Tensor("f32", [4, 8])), 1);
});
