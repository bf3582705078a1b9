// SPDX-License-Identifier: MIT
/** Capture through hooks: inputs, streamed Hessians, sharing, sequential quantization on the quantized prefix. */
import assert from "node:assert/strict";
import { captureLinearInputs, collectHessians, decoderLinearNames } from "../../lib/calib/capture.ts";
import { sequentialQuantize } from "../../lib/pipeline/sequential.ts";
import { HessianAccumulator } from "../../lib/calib/hessian.ts";
import { quantizeRtn } from "../../lib/quant/rtn.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { tinyIds, tinyModel } from "./_tiny_model.ts";

/** Same f32 inputs, different batching of the f64 running mean. */
const H_RTOL = 1e-9;
const H_ATOL = 1e-9;
const SEQ = 16;

Deno.test("captureLinearInputs returns [tokens, in] per linear; q/k/v read the same input", async () => {
  const model = tinyModel(0);
  const ids = tinyIds(3, SEQ);
  const X = await captureLinearInputs(model, ids, SEQ);
  assert.equal(X.size, 14);
  assert.deepEqual(X.get("model.layers.1.mlp.down_proj")!.shape, [48, 64]);
  assert.deepEqual(X.get("model.layers.0.self_attn.q_proj")!.shape, [48, 32]);
  assertAllClose(X.get("model.layers.0.self_attn.k_proj")!, X.get("model.layers.0.self_attn.q_proj")!, { atol: 0 });
  assert.notEqual(X.get("model.layers.0.self_attn.k_proj"), X.get("model.layers.0.self_attn.q_proj"));
});

Deno.test("collectHessians equals 2/N·XᵀX of the captured inputs, whatever the batch size", async () => {
  const model = tinyModel(1);
  const ids = tinyIds(5, SEQ, 2);
  const X = await captureLinearInputs(model, ids, SEQ);
  const H1 = await collectHessians(model, ids, SEQ, { batchSize: 2 });
  const H2 = await collectHessians(model, ids, SEQ, { batchSize: 5 });
  assert.deepEqual([...H1.keys()], decoderLinearNames(model));
  for (const [name, Xn] of X) {
    const ref = new HessianAccumulator(Xn.shape[1]!);
    await ref.addBatch(Xn);
    assertAllClose(H1.get(name)!, ref.hessian, { atol: H_ATOL, rtol: H_RTOL, msg: `${name}: ` });
    assertAllClose(H2.get(name)!, ref.hessian, { atol: H_ATOL, rtol: H_RTOL, msg: `${name}: ` });
  }
  // Shared inputs give equal but independent tensors (GPTQ damps H in place).
  const q = H1.get("model.layers.0.self_attn.q_proj")!, v = H1.get("model.layers.0.self_attn.v_proj")!;
  assert.notEqual(q, v);
  assert.deepEqual(q.data, v.data);
});

Deno.test("collectHessians with a subset of names and progress", async () => {
  const model = tinyModel(2);
  const ids = tinyIds(4, SEQ, 3);
  const seen: number[] = [];
  const H = await collectHessians(model, ids, SEQ, {
    names: ["model.layers.0.mlp.up_proj", "lm_head"],
    batchSize: 3,
    onProgress: (d) => seen.push(d),
  });
  assert.deepEqual([...H.keys()], ["model.layers.0.mlp.up_proj", "lm_head"]);
  assert.deepEqual(H.get("lm_head")!.shape, [32, 32]);
  assert.deepEqual(seen, [3, 4]);
});

Deno.test("capture rejects an empty calibration set, a bad seqLen and unknown names", async () => {
  const model = tinyModel(0);
  await assertThrowsMessage(() => collectHessians(model, new Int32Array(0), SEQ), RangeError, "empty");
  await assertThrowsMessage(() => collectHessians(model, tinyIds(1, 10), SEQ), RangeError, "multiple of seqLen");
  await assertThrowsMessage(
    () => captureLinearInputs(model, tinyIds(1, SEQ), SEQ, { names: ["model.layers.0.mlp.up_proj.weight"] }),
    RangeError,
    "unknown linear",
  );
  await assertThrowsMessage(
    () => sequentialQuantize(model, new Int32Array(0), SEQ, (_n, W) => Promise.resolve({ weight: W })),
    RangeError,
    "empty",
  );
});

Deno.test("sequentialQuantize: identity keeps the model; each H equals the quantized model's Hessian", async () => {
  const model = tinyModel(3);
  const ids = tinyIds(4, SEQ, 4);
  const same = await sequentialQuantize(model, ids, SEQ, (_n, W) => Promise.resolve({ weight: W }), { batchSize: 3 });
  const a = await model.forward(ids, SEQ), b = await same.model.forward(ids, SEQ);
  assertAllClose(b, a, { atol: 0, rtol: 0 });
  assert.equal(same.layers.length, 14);
  assert.equal(same.layers[0]!.weightedError, 0);

  // RTN 3-bit: the H each linear saw comes from the model quantized up to (not including) its group,
  // which equals the final model's H since later groups do not feed earlier inputs.
  const seenH = new Map<string, Tensor<"f64">>();
  const order: string[] = [];
  const spec = { format: "int", bits: 3, groupSize: 0, symmetric: false } as const;
  const q = await sequentialQuantize(model, ids, SEQ, async (name, W, H, ctx) => {
    seenH.set(name, H);
    order.push(`${ctx.layer}:${ctx.groupIndex}`);
    return await quantizeRtn(W, spec, { ops: tsOps });
  }, { batchSize: 2 });
  assert.deepEqual(order.slice(0, 7), ["0:0", "0:0", "0:0", "0:1", "0:2", "0:2", "0:3"]);
  const Hq = await collectHessians(q.model, ids, SEQ);
  const Hfp = await collectHessians(model, ids, SEQ);
  for (const [name, H] of seenH) assertAllClose(H, Hq.get(name)!, { atol: H_ATOL, rtol: 1e-6, msg: `${name}: ` });
  // ... and differs from the full-precision H after the first group.
  const o = "model.layers.0.self_attn.o_proj";
  assert.ok(Math.abs(seenH.get(o)!.data[0]! - Hfp.get(o)!.data[0]!) > 1e-6);
  assert.ok(q.layers.every((r) => r.weightedError > 0 && r.sqnr > 0));
});
