// SPDX-License-Identifier: MIT
/** Observers: MSE ≤ min-max, KL = brute force, running ranges, percentile, NeUQI optimality, SINQ imbalance. */
import assert from "node:assert/strict";
import { clipErrorCurve, mseSearch } from "../../lib/quant/mse.ts";
import { klCalibrate, klDivergenceCurve, klThreshold } from "../../lib/quant/kl_calibration.ts";
import { MovingAverageMinMax, RunningMinMax } from "../../lib/quant/running.ts";
import { percentile, percentileParams, percentileThreshold } from "../../lib/quant/percentile.ts";
import { neuqiParams, neuqiQuantize } from "../../lib/quant/neuqi.ts";
import { matrixImbalance, sinkhornNormalize, sinqQuantize } from "../../lib/quant/sinq.ts";
import { quantize } from "../../lib/quant/quantize.ts";
import { dequantize } from "../../lib/quant/quantized_tensor.ts";
import type { QuantSpec } from "../../lib/quant/spec.ts";
import { weightedError } from "../../lib/calib/metrics.ts";
import { HessianAccumulator } from "../../lib/calib/hessian.ts";
import { roundHalfEven } from "../../lib/tensor/numeric.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose } from "../_assert.ts";

/** Loss comparisons in f64 of identical candidates: exact up to summation order. */
const LOSS_RTOL = 1e-12;
/** KL of the same counts computed two ways (f64). */
const KL_ATOL = 1e-12;
/** NeUQI exact sweep vs a dense z grid of step 1e-4: the grid can only be slightly worse. */
const DENSE_GRID_SLACK = 1e-3;

function hessianOf(X: Tensor<"f32">): Promise<Tensor<"f64">> {
  const acc = new HessianAccumulator(X.shape[1]!);
  return acc.addBatch(X).then(() => acc.hessian);
}

Deno.test("MSE search is never worse than min-max on its own objective (weight and output space)", async () => {
  const W = randnF32([12, 64], 1), X = randnF32([200, 64], 2);
  for (let i = 0; i < 200; i++) X.data[i * 64 + 5]! *= 20; // an outlier channel makes H anisotropic
  const H = await hessianOf(X);
  const specs: QuantSpec[] = [
    { format: "int", bits: 3, groupSize: 16, symmetric: false },
    { format: "int", bits: 4, groupSize: 0, symmetric: true },
    { format: "fp", element: "e2m1", groupSize: 32 },
    { format: "codebook", name: "nf4", groupSize: 0 },
    { format: "int", bits: 2, groupSize: 0, symmetric: false, perTensor: true },
  ];
  for (const spec of specs) {
    for (const opts of [{}, { norm: 2.4 }, { H }]) {
      const r = await mseSearch(W, spec, { grid: 40, ...opts });
      for (let k = 0; k < r.loss.length; k++) assert.ok(r.loss[k]! <= r.minmaxLoss[k]! * (1 + LOSS_RTOL));
      assert.ok(r.loss.some((l, k) => l < r.minmaxLoss[k]!), "some group should improve");
    }
  }
  // The chosen parameters really achieve the reported output-space loss (G = 1: exact Tr(ΔW H ΔWᵀ)).
  const spec = { format: "int", bits: 3, groupSize: 0, symmetric: false } as const;
  const r = await mseSearch(W, spec, { H });
  const q = await quantize(W, spec, { observer: "mse-output", H });
  const total = r.loss.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(weightedError(W, q.weight, H) - total) <= 1e-4 * total);
  const curve = await clipErrorCurve(W, spec, [1, 0.9, 0.8], { H });
  assert.equal(curve.length, 3);
  assert.ok(Math.abs(curve[0]! - r.minmaxLoss.reduce((a, b) => a + b, 0)) <= 1e-4 * curve[0]!);
});

/** Literal transcription of the TensorRT/MXNet loop for one candidate i. */
function bruteKl(hist: number[], i: number, target: number): number {
  const P = hist.slice(0, i);
  P[i - 1]! += hist.slice(i).reduce((a, b) => a + b, 0);
  const merged = Math.floor(i / target);
  const Q = new Array<number>(i).fill(0);
  for (let j = 0; j < target; j++) {
    const idx = [];
    for (let k = j * merged; k < (j === target - 1 ? i : (j + 1) * merged); k++) idx.push(k);
    const total = idx.reduce((a, k) => a + hist[k]!, 0);
    const nz = idx.filter((k) => P[k] !== 0);
    for (const k of nz) Q[k] = total / nz.length;
  }
  const smooth = (d: number[]) => {
    const zeros = d.filter((v) => v === 0).length, nonzeros = d.length - zeros;
    if (nonzeros === 0) return null;
    return d.map((v) => (v === 0 ? 1e-4 : v - (1e-4 * zeros) / nonzeros));
  };
  const p = smooth(P), q = smooth(Q);
  if (!p || !q) return Infinity;
  const sp = p.reduce((a, b) => a + b, 0), sq = q.reduce((a, b) => a + b, 0);
  return p.reduce((acc, v, k) => (v > 0 ? acc + (v / sp) * Math.log(v / sp / (q[k]! / sq)) : acc), 0);
}

Deno.test("KL calibration equals a brute-force computation on small histograms", () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 6; trial++) {
    const bins = 24 + trial * 7, target = 4 + trial;
    const hist = Array.from(
      { length: bins },
      (_, k) => (rng.uniform() < 0.2 ? 0 : Math.floor(1000 * Math.exp(-k / 6) * rng.uniform())),
    );
    hist[bins - 1] = trial; // a few outliers at the end
    const curve = klDivergenceCurve(hist, target);
    let best = target;
    for (let i = target; i <= bins; i++) {
      const b = bruteKl(hist, i, target);
      if (Number.isFinite(b)) assert.ok(Math.abs(curve[i]! - b) <= KL_ATOL, `bins ${bins} i ${i}: ${curve[i]} vs ${b}`);
      else assert.equal(curve[i], Infinity);
      if (b < bruteKl(hist, best, target)) best = i;
    }
    const r = klThreshold(hist, 0.5, target);
    assert.equal(r.keptBins, best);
    assert.equal(r.threshold, best * 0.5);
  }
});

Deno.test("KL calibration clips a heavy-tailed activation below its max; percentile thresholds", async () => {
  const X = randnF32([512, 32], 4);
  X.data[10] = 60;
  const r = await klCalibrate(X, { bins: 1024, targetBins: 64 });
  assert.ok(r.threshold > 2 && r.threshold < 20, `threshold ${r.threshold}`);
  assert.equal(percentile([1, 2, 3, 4, 5], 25), 2);
  const t = percentileThreshold(X, 99);
  assert.ok(t > 2 && t < 3.5);
  const W = randnF32([4, 64], 5);
  const p = percentileParams(W, { format: "int", bits: 4, groupSize: 32, symmetric: true }, 90);
  assert.ok(p.clip.every((c) => c > 0.3 && c < 1));
});

Deno.test("running min-max and the moving average track activation ranges", () => {
  const a = new RunningMinMax({ perChannel: true }), e = new MovingAverageMinMax({ averagingConstant: 0.25 });
  const batches = [
    new Tensor("f32", [2, 2], new Float32Array([1, -2, 3, 0])),
    new Tensor("f32", [1, 2], new Float32Array([-5, 7])),
  ];
  for (const b of batches) {
    a.observe(b);
    e.observe(b);
  }
  assert.deepEqual(Array.from(a.min), [-5, -2]);
  assert.deepEqual(Array.from(a.max), [3, 7]);
  // EMA per tensor: first batch [−2, 3], second [−5, 7]: −2 + 0.25·(−3), 3 + 0.25·4.
  assert.deepEqual([e.min[0], e.max[0]], [-2.75, 4]);
  assert.equal(a.count, 2);
});

/** Weighted loss Σ h (w − ŵ)² of a dequantized weight, per (row, group). */
function groupLoss(W: Tensor<"f32">, Q: Tensor<"f32">, h: Float64Array, G: number): Float64Array {
  const [rows, cols] = W.shape as [number, number];
  const out = new Float64Array(rows * G), gs = cols / G;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      out[r * G + Math.floor(j / gs)]! += h[j]! * (W.data[r * cols + j]! - Q.data[r * cols + j]!) ** 2;
    }
  }
  return out;
}

Deno.test("NeUQI is never worse than the best integer zero point or min-max; its zero is globally optimal", async () => {
  const W = randnF32([6, 64], 6), X = randnF32([100, 64], 7);
  for (let t = 0; t < 100; t++) X.data[t * 64 + 3]! *= 10;
  const H = await hessianOf(X);
  const h = Float64Array.from({ length: 64 }, (_, j) => H.data[j * 65]!);
  for (const bits of [2, 3, 4]) {
    const spec = { format: "int", bits, groupSize: 32, symmetric: false } as const;
    const cont = neuqiParams(W, spec, { H, scaleSteps: 20 });
    const grid = neuqiParams(W, spec, { H, scaleSteps: 20, integerZero: true });
    const mm = groupLoss(W, (await quantize(W, spec)).weight, h, 2);
    const real = groupLoss(W, neuqiQuantize(W, cont).weight, h, 2);
    for (let k = 0; k < 12; k++) {
      assert.ok(cont.loss[k]! <= grid.loss[k]! * (1 + LOSS_RTOL), `bits ${bits} group ${k}`);
      assert.ok(real[k]! <= mm[k]! * (1 + 1e-6), `bits ${bits} group ${k}: ${real[k]} vs min-max ${mm[k]}`);
      assert.ok(Math.abs(real[k]! - cont.loss[k]!) <= 1e-6 * cont.loss[k]! + 1e-12);
    }
  }
  // For a fixed scale the swept zero beats every z on a dense grid.
  const spec = { format: "int", bits: 3, groupSize: 0, symmetric: false } as const;
  const one = neuqiParams(W, spec, { H, scaleSteps: 1 });
  for (let r = 0; r < 3; r++) {
    const s = one.scale.data[r]!;
    let best = Infinity;
    for (let z = -4; z <= 11; z += 1e-4) {
      let f = 0;
      for (let j = 0; j < 64; j++) {
        const w = W.data[r * 64 + j]!, q = Math.min(7, Math.max(0, roundHalfEven(w / s + z)));
        f += h[j]! * (w - s * (q - z)) ** 2;
      }
      best = Math.min(best, f);
    }
    assert.ok(one.loss[r]! <= best * (1 + 1e-9) && best <= one.loss[r]! * (1 + DENSE_GRID_SLACK));
  }
});

Deno.test("SINQ: imbalance never increases; dequantization round-trips (q, s_row, s_col)", async () => {
  const W = randnF32([32, 128], 8);
  for (let i = 0; i < 32; i++) {
    for (let j = 0; j < 128; j++) W.data[i * 128 + j]! *= (1 + (i % 5)) * (j % 17 === 0 ? 6 : 1);
  }
  const s = sinkhornNormalize(W, 64, 16);
  for (const h of s.imbalance) {
    for (let t = 1; t < h.length; t++) assert.ok(h[t]! <= h[t - 1]!, `iteration ${t}: ${h[t]} > ${h[t - 1]}`);
    assert.ok(h[h.length - 1]! < h[0]! / 2);
  }
  // W = μ₂ · normalized · μ₁ exactly up to f32 rounding.
  const back = new Float32Array(W.size);
  for (let i = 0; i < 32; i++) {
    for (let j = 0; j < 128; j++) {
      back[i * 128 + j] = s.normalized.data[i * 128 + j]! * s.rowScale.data[i * 2 + (j >> 6)]! * s.colScale.data[j]!;
    }
  }
  assertAllClose(back, W, { atol: 1e-5, rtol: 1e-5 });
  assert.ok(matrixImbalance(W) > 1);
  for (
    const spec of [{ format: "int", bits: 4, groupSize: 64, symmetric: false }, {
      format: "codebook",
      name: "nf4",
      groupSize: 64,
    }] as QuantSpec[]
  ) {
    const q = await sinqQuantize(W, spec);
    assertAllClose(dequantize(q.quantized), q.weight, { atol: 0, rtol: 0 });
    const plain = (await quantize(W, spec)).weight;
    let eS = 0, eP = 0;
    for (let i = 0; i < W.size; i++) {
      eS += (W.data[i]! - q.weight.data[i]!) ** 2;
      eP += (W.data[i]! - plain.data[i]!) ** 2;
    }
    assert.ok(eS < eP, `SINQ ${eS} should beat plain RTN ${eP} on a badly scaled matrix`);
  }
});
