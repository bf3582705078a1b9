// SPDX-License-Identifier: MIT
/** Weight discovery, layouts ([K, N] ↔ [out, in], conv flattening) and replacement. */
import assert from "node:assert/strict";
import { assertAllClose } from "../_assert.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { findWeights, readWeight, replaceWeights, toOnnxLayout } from "../../lib/onnx/weights.ts";
import { lookupTensor } from "../../lib/onnx/weights.ts";
import { floatTensorFromProto } from "../../lib/onnx/tensor_proto.ts";
import { openSession } from "../../lib/onnx/session.ts";
import { loadOnnx } from "../../lib/onnx/load.ts";
import { PPOCR_V4 } from "../../lib/ocr/recognize.ts";
import { convModel, linearRef, mlpModel, randomInput, reluRef } from "./_graphs.ts";

/** onnxruntime-web f32 vs the TypeScript reference. */
const ATOL = 1e-5;
const RTOL = 1e-5;

Deno.test("findWeights: MatMul (initializer and Constant), Gemm transB, Conv (grouped)", () => {
  const mlp = findWeights(mlpModel());
  assert.deepEqual(mlp.map((w) => [w.name, w.op, w.source, w.rows, w.cols, w.groups]), [
    ["W1", "MatMul", "initializer", 48, 24, 1],
    ["W2", "MatMul", "constant", 40, 48, 1],
    ["W3", "Gemm", "initializer", 16, 40, 1],
  ]);
  assert.deepEqual(mlp.map((w) => w.inputs[0]), ["x", "a1", "h2"]);
  const conv = findWeights(convModel());
  assert.deepEqual(conv.map((w) => [w.name, w.rows, w.cols, w.groups]), [["C1", 8, 36, 1], ["C2", 8, 9, 8]]);
  assert.deepEqual(conv[1]!.conv, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], group: 8 });
  assert.deepEqual(findWeights(mlpModel(), { ops: ["Gemm"] }).map((w) => w.name), ["W3"]);
});

Deno.test("readWeight transposes MatMul [K, N] to [N, K]; toOnnxLayout inverts it", () => {
  const m = mlpModel();
  for (const w of findWeights(m)) {
    const onnx = floatTensorFromProto(lookupTensor(m, w.name)!.proto);
    const W = readWeight(m, w);
    assert.deepEqual(W.shape, [w.rows, w.cols]);
    if (w.op === "MatMul") assert.equal(W.get(3, 5), onnx.get(5, 3)); // W[n, k] = B[k, n]
    else assert.equal(W.get(3, 5), onnx.get(3, 5)); // Gemm transB: already [N, K]
    assert.deepEqual(toOnnxLayout(w, W).data, onnx.data);
  }
  const c = convModel(), [c1] = findWeights(c);
  const W = readWeight(c, c1!), onnx = floatTensorFromProto(lookupTensor(c, "C1")!.proto);
  assert.equal(W.get(2, 1 * 9 + 2 * 3 + 1), onnx.get(2, 1, 2, 1)); // [o, c·kh·kw + i·kw + j]
});

Deno.test("the MLP in onnxruntime-web equals the TypeScript reference; replaceWeights changes it accordingly", async () => {
  const m = mlpModel();
  const [w1, w2, w3] = findWeights(m).map((w) => readWeight(m, w)) as Tensor<"f32">[];
  const bias = floatTensorFromProto(m.graph.initializer.find((t) => t.name === "b3")!).data;
  const x = randomInput([7, 24], 11);
  const ref = (a: Tensor<"f32">, b: Tensor<"f32">, c: Tensor<"f32">) =>
    linearRef(linearRef(reluRef(linearRef(x, a)), b), c, bias);
  const s = await openSession(m);
  assertAllClose((await s.run({ x })).get("y")!, ref(w1!, w2!, w3!), { atol: ATOL, rtol: RTOL });
  await s.release();
  const scaled = (W: Tensor<"f32">) => new Tensor("f32", W.shape, W.data.map((v) => Math.round(v * 8) / 8));
  const swapped = replaceWeights(m, new Map([["W1", scaled(w1!)], ["W2", scaled(w2!)], ["W3", scaled(w3!)]]));
  const s2 = await openSession(swapped);
  assertAllClose((await s2.run({ x })).get("y")!, ref(scaled(w1!), scaled(w2!), scaled(w3!)), {
    atol: ATOL,
    rtol: RTOL,
  });
  await s2.release();
  assert.throws(() => replaceWeights(m, new Map([["b3", w1!]])), /not a MatMul\/Gemm\/Conv weight/);
});

Deno.test("PP-OCRv4 recognizer: 47 weights (38 Conv, 9 MatMul), 2,669,672 parameters, all in Constant nodes", async () => {
  const m = await loadOnnx(PPOCR_V4.recognizer.pathname);
  const ws = findWeights(m);
  assert.equal(ws.length, 47);
  assert.equal(ws.filter((w) => w.op === "Conv").length, 38);
  assert.equal(ws.filter((w) => w.op === "MatMul").length, 9);
  assert.equal(ws.reduce((a, w) => a + w.rows * w.cols, 0), 2_669_672);
  assert.ok(ws.every((w) => w.source === "constant"));
  const head = ws.find((w) => w.name === "linear_85.w_0")!;
  assert.deepEqual([head.rows, head.cols], [6625, 120]); // ONNX [120, 6625] transposed
});
