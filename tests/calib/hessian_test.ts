// SPDX-License-Identifier: MIT
/** HessianAccumulator: running mean equals 2/N·XᵀX, bad input errors, backends agree. */
import assert from "node:assert/strict";
import { HessianAccumulator } from "../../lib/calib/hessian.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { blasTest } from "../_backends.ts";

/** Running mean vs one-shot f64 sum: only f64 rounding differs. */
const HESSIAN_RTOL = 1e-12;
const HESSIAN_ATOL = 1e-12;
/** blas (f32 syrk or f64?) vs ts: allow f32-level differences. */
const BACKEND_RTOL = 1e-5;

function direct(Xs: Tensor<"f32">[], n: number): Float64Array {
  const H = new Float64Array(n * n);
  let N = 0;
  for (const X of Xs) {
    const t = X.shape[0] as number;
    N += t;
    for (let r = 0; r < t; r++) {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) H[i * n + j]! += X.data[r * n + i]! * X.data[r * n + j]!;
      }
    }
  }
  return H.map((v) => 2 * v / N);
}

Deno.test("HessianAccumulator running mean equals 2/N·ΣXᵀX over unequal batches", async () => {
  const n = 12;
  const Xs = [randnF32([5, n], 1), randnF32([17, n], 2), randnF32([1, n], 3), randnF32([0, n], 4)];
  const acc = new HessianAccumulator(n);
  for (const X of Xs) await acc.addBatch(X);
  assert.equal(acc.count, 23);
  assertAllClose(acc.hessian.data, direct(Xs, n), { atol: HESSIAN_ATOL, rtol: HESSIAN_RTOL });
  // The getter returns a copy: mutating it does not change the accumulator.
  const h = acc.hessian;
  h.data[0] = 1e9;
  assert.notEqual(acc.hessian.data[0], 1e9);
});

Deno.test("HessianAccumulator serializes un-awaited concurrent batches", async () => {
  const n = 6;
  const Xs = [randnF32([3, n], 5), randnF32([4, n], 6), randnF32([2, n], 7)];
  const acc = new HessianAccumulator(n);
  await Promise.all(Xs.map((X) => acc.addBatch(X)));
  assertAllClose(acc.hessian.data, direct(Xs, n), { atol: HESSIAN_ATOL, rtol: HESSIAN_RTOL });
});

Deno.test("HessianAccumulator rejects bad input with clear errors", async () => {
  await assertThrowsMessage(() => new HessianAccumulator(0), RangeError, "positive integer");
  const acc = new HessianAccumulator(4);
  await assertThrowsMessage(() => acc.hessian, RangeError, "empty calibration set");
  await assertThrowsMessage(() => acc.addBatch(randnF32([2, 3], 0)), TypeError, "[2, 3]", "[tokens, 4]");
  await acc.addBatch(randnF32([3, 4], 1));
  const before = acc.hessian;
  const bad = randnF32([2, 4], 2);
  bad.data[5] = NaN;
  await assertThrowsMessage(() => acc.addBatch(bad), RangeError, "NaN");
  assert.equal(acc.count, 3);
  assertAllClose(acc.hessian, before, { atol: 1e-12, rtol: 1e-12 });
});

blasTest("HessianAccumulator on blas matches ts", async (blas) => {
  const n = 40;
  const Xs = [randnF32([33, n], 8), randnF32([70, n], 9)];
  const a = new HessianAccumulator(n, { ops: tsOps }), b = new HessianAccumulator(n, { ops: blas });
  for (const X of Xs) {
    await a.addBatch(X);
    await b.addBatch(X);
  }
  assertAllClose(b.hessian, a.hessian, { atol: 1e-9, rtol: BACKEND_RTOL });
});
