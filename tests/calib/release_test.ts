// SPDX-License-Identifier: MIT
/** Handing over n² statistics without a copy: `HessianAccumulator.release` and `results({ release })`. */
import assert from "node:assert/strict";
import { randnF32 } from "../../lib/tensor/create.ts";
import { HessianAccumulator } from "../../lib/calib/hessian.ts";
import { ActivationCapture } from "../../lib/calib/activation_capture.ts";
import { xtxAccumulator } from "../../lib/calib/accumulators/xtx.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";

Deno.test("HessianAccumulator.release hands over the same values without a copy, then refuses use", async () => {
  const acc = new HessianAccumulator(4, { ops: tsOps });
  await acc.addBatch(randnF32([6, 4], 1));
  const copy = acc.hessian;
  const H = acc.release();
  assert.deepEqual(Array.from(H.data), Array.from(copy.data));
  assert.throws(() => acc.hessian, /HessianAccumulator.hessian: Cannot read the Hessian: it was released/);
  assert.throws(() => acc.release(), /released/);
  await assert.rejects(() => acc.addBatch(randnF32([1, 4], 2)), /HessianAccumulator.addBatch: Cannot add a batch/);
  assert.throws(() => new HessianAccumulator(2).release(), /no tokens were added/);
});

Deno.test("results({ release }) gives shared inputs equal, independent Hessians", async () => {
  const names = ["q", "k", "v"];
  const capture = new ActivationCapture(names, { H: xtxAccumulator() }, { ops: tsOps });
  const X = randnF32([8, 3], 3);
  capture.beginPass();
  for (const n of names) await capture.add(n, X); // one input object: shared by q/k/v
  const r = capture.results({ release: true });
  const [q, k, v] = names.map((n) => r.get(n)!.H);
  assert.deepEqual(Array.from(q!.data), Array.from(v!.data));
  assert.notEqual(q!.data, v!.data);
  assert.notEqual(k!.data, v!.data);
  v!.data.fill(0); // the released buffer belongs to its reader now
  assert.ok(q!.data.some((x) => x !== 0) && k!.data.some((x) => x !== 0));
});
