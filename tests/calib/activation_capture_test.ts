// SPDX-License-Identifier: MIT
/** The activation capture: pluggable accumulators, input sharing, early stop, hooked models, errors. */
import assert from "node:assert/strict";
import { ActivationCapture, captureActivations, captureLinearInputs } from "../../lib/calib/capture.ts";
import {
  absmaxAccumulator,
  type AccumulatorFactory,
  meanAbsAccumulator,
  momentsAccumulator,
  xtxAccumulator,
} from "../../lib/calib/accumulators/mod.ts";
import { withOnlineHooks } from "../../lib/rotate/hooked_model.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { tinyIds, tinyModel } from "./_tiny_model.ts";

const SEQ = 16;
/** Streamed statistics vs the same statistic of the stacked inputs (one batch): f64 rounding only. */
const STAT_RTOL = 1e-12;

/** A plug-in accumulator that counts its creations and batches (the capture's contract, seen from inside). */
function countingAccumulator(log: { created: string[]; adds: number }): AccumulatorFactory<number> {
  return {
    kind: "count",
    create: ({ name }) => {
      log.created.push(name);
      let rows = 0;
      return { add: (X) => void (log.adds++, rows += X.shape[0]!), result: () => rows };
    },
  };
}

Deno.test("captureActivations equals each statistic of the captured inputs, over batches", async () => {
  const model = tinyModel(7);
  const ids = tinyIds(5, SEQ, 8);
  const names = ["model.layers.0.self_attn.k_proj", "model.layers.1.mlp.down_proj"];
  const X = await captureLinearInputs(model, ids, SEQ, { names });
  const stats = await captureActivations(model, ids, SEQ, {
    names,
    batchSize: 2,
    accumulators: { absmax: absmaxAccumulator(), meanAbs: meanAbsAccumulator(), H: xtxAccumulator() },
  });
  assert.deepEqual([...stats.keys()], names);
  for (const name of names) {
    const x = X.get(name)!, s = stats.get(name)!;
    const one = async <R>(f: AccumulatorFactory<R>) => {
      const a = f.create({ name, cols: x.shape[1]!, ops: tsOps });
      await a.add(x);
      return a.result();
    };
    assert.equal(s.tokens, 5 * SEQ);
    assertAllClose(s.absmax, await one(absmaxAccumulator()), { atol: 0, rtol: 0, msg: `${name} absmax: ` });
    assertAllClose(s.meanAbs, await one(meanAbsAccumulator()), { atol: 0, rtol: STAT_RTOL, msg: `${name} mean: ` });
    assertAllClose(s.H, await one(xtxAccumulator()), { atol: 1e-12, rtol: 1e-9, msg: `${name} H: ` });
  }
});

Deno.test("linears reading one input share one set of accumulators; results are independent", async () => {
  const model = tinyModel(8);
  const log = { created: [] as string[], adds: 0 };
  const names = ["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj", "model.layers.0.mlp.up_proj"];
  const stats = await captureActivations(model, tinyIds(4, SEQ, 9), SEQ, {
    names,
    batchSize: 3,
    accumulators: { rows: countingAccumulator(log), absmax: absmaxAccumulator() },
  });
  // q and k read the same normed residual: created once (by q), added once per batch; up_proj has its own.
  assert.deepEqual(log.created, ["model.layers.0.self_attn.q_proj", "model.layers.0.mlp.up_proj"]);
  assert.equal(log.adds, 2 * 2);
  const q = stats.get(names[0]!)!, k = stats.get(names[1]!)!;
  assert.equal(q.rows, 4 * SEQ);
  assert.notEqual(q.absmax, k.absmax);
  assert.deepEqual(q.absmax, k.absmax);
});

Deno.test("a replaced input un-shares it; the capture sees what the caller's hook returns", async () => {
  const model = tinyModel(9);
  const ids = tinyIds(2, SEQ, 10);
  const q = "model.layers.0.self_attn.q_proj", k = "model.layers.0.self_attn.k_proj";
  const double = (X: Tensor<"f32">) => new Tensor("f32", X.shape, X.data.map((v) => 2 * v));
  const accumulators = { absmax: absmaxAccumulator() };
  const plain = await captureActivations(model, ids, SEQ, { names: [q, k], accumulators });
  const hooked = await captureActivations(model, ids, SEQ, {
    names: [q, k],
    accumulators,
    hooks: { linearInput: (name, X) => (name === k ? double(X) : undefined) },
  });
  assertAllClose(hooked.get(q)!.absmax, plain.get(q)!.absmax, { atol: 0, rtol: 0 });
  assertAllClose(hooked.get(k)!.absmax, plain.get(k)!.absmax.map((v) => 2 * v), { atol: 0, rtol: 0 });
});

Deno.test("a HookedLlamaModel's online steps run before the capture", async () => {
  const model = tinyModel(10);
  const ids = tinyIds(2, SEQ, 11);
  const name = "model.layers.1.mlp.down_proj";
  const half = withOnlineHooks(model, {
    linearInput: (n, X) => (n === name ? new Tensor("f32", X.shape, X.data.map((v) => v / 2)) : undefined),
  });
  const accumulators = { moments: momentsAccumulator() };
  const a = (await captureActivations(model, ids, SEQ, { names: [name], accumulators })).get(name)!;
  const b = (await captureActivations(half, ids, SEQ, { names: [name], accumulators })).get(name)!;
  assertAllClose(b.moments.mean, a.moments.mean.map((v) => v / 2), { atol: 0, rtol: STAT_RTOL });
  assertAllClose(b.moments.kurtosis, a.moments.kurtosis, { atol: 0, rtol: 1e-9 }); // scale-free
});

Deno.test("a pass stops once every wanted linear was seen", async () => {
  const model = tinyModel(11);
  const blocks: number[] = [];
  const stats = await captureActivations(model, tinyIds(2, SEQ, 12), SEQ, {
    names: ["model.layers.0.self_attn.o_proj"],
    accumulators: { absmax: absmaxAccumulator() },
    hooks: { blockOutput: (l) => void blocks.push(l) },
  });
  assert.equal(stats.size, 1);
  assert.deepEqual(blocks, []); // block 0 never finished: the pass ended at its o_proj
});

Deno.test("ActivationCapture reports misuse with clear errors", async () => {
  const acc = { absmax: absmaxAccumulator() };
  await assertThrowsMessage(() => new ActivationCapture(["a"], {}), RangeError, "at least one");
  await assertThrowsMessage(
    () => new ActivationCapture(["a"], { tokens: absmaxAccumulator() } as never),
    RangeError,
    '"tokens"',
  );
  const c = new ActivationCapture(["a", "b"], acc);
  const X = new Tensor("f32", [2, 3], new Float32Array([1, 2, 3, 4, 5, 6]));
  await assertThrowsMessage(() => c.add("z", X), RangeError, '"z"', "not among");
  await c.add("a", X);
  await assertThrowsMessage(() => c.add("a", new Tensor("f32", [2, 2])), TypeError, "[2, 2]", "[tokens, 3]");
  await assertThrowsMessage(() => c.results(), RangeError, '"b"', "never reached");
  await c.add("b", X); // same tensor in the same pass: b shares a's statistics
  c.beginPass();
  await c.add("a", X);
  await assertThrowsMessage(() => c.add("b", new Tensor("f32", [1, 3])), RangeError, '"b"', "earlier pass");
  assert.deepEqual(Array.from(c.results().get("b")!.absmax), [4, 5, 6]);
  assert.equal(c.results().get("b")!.tokens, 4);
});
