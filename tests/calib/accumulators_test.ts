// SPDX-License-Identifier: MIT
/** Each accumulator of the activation capture against a direct computation on seeded batches. */
import assert from "node:assert/strict";
import {
  absmaxAccumulator,
  type Accumulator,
  type AccumulatorFactory,
  histogramAccumulator,
  meanAbsAccumulator,
  momentsAccumulator,
  momentsFromSums,
  rowsAccumulator,
  xtxAccumulator,
} from "../../lib/calib/accumulators/mod.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import type { Ops } from "../../lib/ops/ops.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { cpuBackends } from "../_backends.ts";

/** f64 sums in another order than the accumulator's (column-major oracle): rounding only. */
const SUM_RTOL = 1e-12;
/** Running mean (rescaled per batch) vs one f64 sum; blas dsyrk vs a double loop. */
const HESSIAN_RTOL = 1e-9;
const HESSIAN_ATOL = 1e-12;
/** One-pass raw power sums vs a two-pass central computation (data with mean 0.5, std ~1). */
const MOMENT_RTOL = 1e-9;

const COLS = 9;

/** Seeded batches of unequal sizes (one empty), mean 0.5, channel 2 with 8× outliers every 7th row. */
function batches(seed: number): Tensor<"f32">[] {
  return [5, 0, 23, 1, 11].map((rows, b) => {
    const X = randnF32([rows, COLS], seed * 10 + b);
    for (let i = 0; i < X.size; i++) X.data[i] = X.data[i]! + 0.5;
    for (let r = 0; r < rows; r += 7) X.data[r * COLS + 2]! *= 8;
    return X;
  });
}

/** Feeds `Xs` into a fresh accumulator and returns its result. */
async function run<R>(factory: AccumulatorFactory<R>, Xs: Tensor<"f32">[], ops: Ops = tsOps): Promise<R> {
  const acc: Accumulator<R> = factory.create({ name: "test.linear", cols: COLS, ops });
  for (const X of Xs) await acc.add(X);
  return acc.result();
}

/** Column j of all batches, in order. */
function column(Xs: Tensor<"f32">[], j: number): number[] {
  const out: number[] = [];
  for (const X of Xs) for (let r = 0; r < X.shape[0]!; r++) out.push(X.data[r * COLS + j]!);
  return out;
}

Deno.test("absmaxAccumulator equals max |x| per column, exactly; results are copies", () => {
  const Xs = batches(1);
  const expected = Float32Array.from({ length: COLS }, (_, j) => Math.max(...column(Xs, j).map(Math.abs)));
  const acc = absmaxAccumulator().create({ name: "x", cols: COLS, ops: tsOps });
  for (const X of Xs) acc.add(X);
  const r = acc.result();
  assertAllClose(r, expected, { atol: 0, rtol: 0 });
  r.fill(-1);
  assertAllClose(acc.result(), expected, { atol: 0, rtol: 0 });
});

Deno.test("meanAbsAccumulator equals Σ|x|/N per column; no tokens is an error", async () => {
  const Xs = batches(2);
  const N = Xs.reduce((s, X) => s + X.shape[0]!, 0);
  const expected = Array.from({ length: COLS }, (_, j) => column(Xs, j).reduce((s, v) => s + Math.abs(v), 0) / N);
  assertAllClose(await run(meanAbsAccumulator(), Xs), expected, { atol: 0, rtol: SUM_RTOL });
  await assertThrowsMessage(() => run(meanAbsAccumulator(), []), RangeError, "no tokens");
});

for (const ops of cpuBackends()) {
  Deno.test(`xtxAccumulator on ${ops.name}: hessian = 2/N·ΣXᵀX and sum = ΣXᵀX (f64 double loop)`, async () => {
    const Xs = batches(3);
    const N = Xs.reduce((s, X) => s + X.shape[0]!, 0);
    const S = new Float64Array(COLS * COLS);
    for (let i = 0; i < COLS; i++) {
      for (let j = 0; j < COLS; j++) {
        const a = column(Xs, i), b = column(Xs, j);
        for (let t = 0; t < N; t++) S[i * COLS + j]! += a[t]! * b[t]!;
      }
    }
    const H = await run(xtxAccumulator(), Xs, ops);
    assert.deepEqual(H.shape, [COLS, COLS]);
    assertAllClose(H, S.map((v) => 2 * v / N), { atol: HESSIAN_ATOL, rtol: HESSIAN_RTOL });
    assertAllClose(await run(xtxAccumulator({ form: "sum" }), Xs, ops), S, { atol: HESSIAN_ATOL, rtol: HESSIAN_RTOL });
  });

  Deno.test(`histogramAccumulator on ${ops.name}: counts equal a search over the bin edges`, async () => {
    const Xs = batches(4), bins = 12, lo = -2, hi = 3;
    const edges = Array.from({ length: bins + 1 }, (_, k) => lo + (k * (hi - lo)) / bins);
    const expected = new Uint32Array(bins);
    for (const X of Xs) {
      for (const v of X.data) {
        let k = 0;
        while (k < bins - 1 && v >= edges[k + 1]!) k++; // below lo → bin 0, at/above hi → last bin
        expected[k]!++;
      }
    }
    assert.ok(expected[0]! > 0 && expected[bins - 1]! > 0); // the clamped ends are exercised
    const h = await run(histogramAccumulator({ bins, range: [lo, hi] }), Xs, ops);
    assert.deepEqual([h.lo, h.hi], [lo, hi]);
    assert.deepEqual(Array.from(h.counts), Array.from(expected));
    // A per-input range sees the context.
    const seen: string[] = [];
    await run(histogramAccumulator({ bins, range: ({ name }) => (seen.push(name), [lo, hi]) }), Xs, ops);
    assert.deepEqual(seen, ["test.linear"]);
  });
}

Deno.test("momentsAccumulator equals a two-pass mean, std and kurtosis per column", async () => {
  const Xs = batches(5);
  const m = await run(momentsAccumulator(), Xs);
  const N = Xs.reduce((s, X) => s + X.shape[0]!, 0);
  assert.equal(m.tokens, N);
  for (let j = 0; j < COLS; j++) {
    const x = column(Xs, j);
    const mean = x.reduce((s, v) => s + v, 0) / N;
    const v2 = x.reduce((s, v) => s + (v - mean) ** 2, 0) / N;
    const v4 = x.reduce((s, v) => s + (v - mean) ** 4, 0) / N;
    assertAllClose([m.mean[j]!, m.std[j]!, m.kurtosis[j]!], [mean, Math.sqrt(v2), v4 / (v2 * v2)], {
      atol: 0,
      rtol: MOMENT_RTOL,
      msg: `column ${j}: `,
    });
    assertAllClose([m.sums[0][j]!, m.sums[1][j]!], [x.reduce((s, v) => s + v, 0), x.reduce((s, v) => s + v * v, 0)], {
      atol: 0,
      rtol: SUM_RTOL,
    });
  }
  assert.ok(m.kurtosis[2]! > 2 * m.kurtosis[0]!); // the outlier column is heavy-tailed
  // A constant channel: std 0, kurtosis undefined.
  const c = momentsFromSums(4, 8, 16, 32, 64);
  assert.deepEqual([c.mean, c.std], [2, 0]);
  assert.ok(Number.isNaN(c.kurtosis));
});

Deno.test("rowsAccumulator stacks copies of the batches", () => {
  const Xs = batches(6);
  const acc = rowsAccumulator().create({ name: "x", cols: COLS, ops: tsOps });
  for (const X of Xs) acc.add(X);
  Xs[0]!.data[0] = 1e6; // the accumulator copied the batch
  const a = acc.result(), b = acc.result();
  assert.deepEqual(a.shape, [40, COLS]);
  assert.notEqual(a.data, b.data);
  assertAllClose(a.data.subarray(COLS * 5), Float32Array.from(Xs.slice(1).flatMap((X) => [...X.data])), { atol: 0 });
  assert.notEqual(a.data[0], 1e6);
});

Deno.test("accumulator factories reject bad settings", async () => {
  await assertThrowsMessage(() => histogramAccumulator({ bins: 0, range: [0, 1] }), RangeError, "positive integer");
  const flat = histogramAccumulator({ bins: 4, range: [1, 1] });
  await assertThrowsMessage(() => flat.create({ name: "a.b", cols: 2, ops: tsOps }), RangeError, '"a.b"', "lo < hi");
  await assertThrowsMessage(
    () => xtxAccumulator({ form: "mean" as "sum" }),
    RangeError,
    'form "mean"',
  );
  await assertThrowsMessage(() => run(momentsAccumulator(), []), RangeError, "no tokens");
  await assertThrowsMessage(() => run(xtxAccumulator(), []), RangeError, "no tokens");
});
