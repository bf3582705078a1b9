// SPDX-License-Identifier: MIT
/** Raising an opset-9 graph to opset 21 keeps its outputs. */
import assert from "node:assert/strict";
import { assertAllClose } from "../_assert.ts";
import { cloneModel, opsetVersion, parseOnnx, serializeOnnx } from "../../lib/onnx/load.ts";
import { upgradeOpset } from "../../lib/onnx/opset.ts";
import { openSession } from "../../lib/onnx/session.ts";
import { toNum } from "../../lib/onnx/proto.ts";
import { oldOpsetModel, randomInput } from "./_graphs.ts";

/** Same kernels before and after, only signatures change: outputs agree to f32 rounding. */
const TOL = 1e-6;

Deno.test("upgradeOpset 9 → 21: Clip, Slice, (Un)Squeeze, ReduceMean, Softmax(axis=1) keep their results", async () => {
  const m = oldOpsetModel();
  const up = cloneModel(m);
  assert.equal(upgradeOpset(up, 21), 6);
  assert.equal(opsetVersion(up), 21);
  assert.equal(toNum(up.proto.irVersion), 10);
  assert.equal(opsetVersion(m), 9); // the original is untouched
  const ops = up.graph.node.map((n) => n.opType);
  assert.ok(ops.includes("Flatten") && ops.includes("Reshape"), ops.join(","));
  assert.equal(up.graph.node.find((n) => n.opType === "ReduceMean")!.input.length, 2);
  const x = randomInput([2, 3, 8], 4);
  const s0 = await openSession(m), s1 = await openSession(parseOnnx(serializeOnnx(up)));
  try {
    const a = await s0.run({ x }), b = await s1.run({ x });
    for (const name of ["y", "z"]) {
      assertAllClose(b.get(name)!, a.get(name)!, { atol: TOL, rtol: TOL, msg: `${name}: ` });
    }
  } finally {
    await s0.release();
    await s1.release();
  }
  assert.equal(upgradeOpset(up, 21), 0); // already there
});

Deno.test("upgradeOpset names nodes it cannot convert", () => {
  const m = oldOpsetModel();
  m.graph.node.push({ opType: "Upsample", name: "up1", input: ["y", "y"], output: ["w"] });
  assert.throws(() => upgradeOpset(cloneModel(m), 21), /Cannot convert node "up1" \(Upsample\)/);
});
