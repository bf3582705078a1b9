// SPDX-License-Identifier: MIT
/** Calibration capture: intermediate outputs from onnxruntime-web, im2col, Hessians. */
import assert from "node:assert/strict";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { calibrateOnnx, layerInputs } from "../../lib/onnx/capture.ts";
import { openSession } from "../../lib/onnx/session.ts";
import { findWeights, type OnnxWeight, readWeight } from "../../lib/onnx/weights.ts";
import { floatTensorFromProto } from "../../lib/onnx/tensor_proto.ts";
import { convModel, linearRef, mlpModel, randomInput, reluRef } from "./_graphs.ts";

/** f32 conv outputs (runtime) vs im2col·Wᵀ (TypeScript). */
const CONV_TOL = 1e-5;
/** f64 Hessians from the same f32 activations (W1's input is the feed itself). */
const H_TOL = 1e-9;
/** W2's input is recomputed in TypeScript: f32 rounding differs from the runtime's. */
const ACT_RTOL = 1e-4;

Deno.test("im2col·Wᵀ reproduces onnxruntime's Conv (dense and depthwise, stride 2, padding)", async () => {
  const m = convModel();
  const [w1, w2] = findWeights(m);
  const x = randomInput([2, 4, 6, 6], 21);
  const s = await openSession(m, { extraOutputs: ["h1", "a1"] });
  const out = await s.run({ x });
  await s.release();
  const h1 = out.get("h1")!, a1 = out.get("a1")!, y = out.get("y")!;
  // Dense conv: rows of X are (n, y, x), so Y[(n, p), o] = h1[n, o, p].
  const Y1 = linearRef(layerInputs(w1!, x)[0]!, readWeight(m, w1!));
  const h1rows = new Float32Array(2 * 36 * 8);
  for (let n = 0; n < 2; n++) {
    for (let o = 0; o < 8; o++) {
      for (let p = 0; p < 36; p++) h1rows[(n * 36 + p) * 8 + o] = h1.data[(n * 8 + o) * 36 + p]!;
    }
  }
  assertAllClose(Y1.data, h1rows, { atol: CONV_TOL, rtol: CONV_TOL });
  // Depthwise: one im2col matrix per conv group, each with its one output channel.
  const Xs = layerInputs(w2!, a1), W2 = readWeight(m, w2!);
  const bias = floatTensorFromProto(m.graph.initializer.find((t) => t.name === "c2b")!).data;
  assert.equal(Xs.length, 8);
  for (let g = 0; g < 8; g++) {
    assert.deepEqual(Xs[g]!.shape, [2 * 9, 9]);
    const Yg = linearRef(Xs[g]!, new Tensor("f32", [1, 9], W2.data.slice(g * 9, g * 9 + 9)), [bias[g]!]);
    const ref = Float32Array.from({ length: 18 }, (_, i) => y.data[(Math.floor(i / 9) * 8 + g) * 9 + (i % 9)]!);
    assertAllClose(Yg.data, ref, { atol: CONV_TOL, rtol: CONV_TOL });
  }
});

Deno.test("calibrateOnnx: H = 2XᵀX/N, mean |X| and token counts over several runs", async () => {
  const m = mlpModel();
  const ws = findWeights(m);
  const xs = [randomInput([5, 24], 1), randomInput([3, 24], 2)];
  const stats = await calibrateOnnx(m, ws, xs.map((x) => ({ x })));
  // The input of W2 is relu(x·W1ᵀ): rebuild it in TypeScript.
  const W1 = readWeight(m, ws[0]!);
  const a1 = xs.map((x) => reluRef(linearRef(x, W1)));
  for (const [name, acts] of [["W1", xs], ["W2", a1]] as const) {
    const st = stats.get(name)!.groups[0]!;
    const K = acts[0]!.shape[1]!, N = 8;
    assert.equal(st.tokens, N);
    const H = new Float64Array(K * K), mean = new Float64Array(K);
    for (const X of acts) {
      for (let t = 0; t < X.shape[0]!; t++) {
        for (let i = 0; i < K; i++) {
          mean[i]! += Math.abs(X.data[t * K + i]!) / N;
          for (let j = 0; j < K; j++) H[i * K + j]! += (2 / N) * X.data[t * K + i]! * X.data[t * K + j]!;
        }
      }
    }
    const rtol = name === "W1" ? 1e-6 : ACT_RTOL;
    assertAllClose(st.hessian.data, H, { atol: H_TOL, rtol, msg: `${name} H: ` });
    assertAllClose(st.meanAbs, mean, { atol: H_TOL, rtol, msg: `${name} mean|X|: ` });
  }
});

Deno.test("calibrateOnnx keeps one Hessian per conv group", async () => {
  const m = convModel();
  const stats = await calibrateOnnx(m, findWeights(m), [{ x: randomInput([1, 4, 6, 6], 3) }]);
  assert.equal(stats.get("C1")!.groups.length, 1);
  assert.deepEqual(stats.get("C1")!.groups[0]!.hessian.shape, [36, 36]);
  assert.equal(stats.get("C1")!.groups[0]!.tokens, 36);
  assert.equal(stats.get("C2")!.groups.length, 8);
  assert.deepEqual(stats.get("C2")!.groups[3]!.hessian.shape, [9, 9]);
  assert.equal(stats.get("C2")!.groups[3]!.tokens, 9);
});

Deno.test("calibrateOnnx and layerInputs reject bad input", async () => {
  const m = mlpModel();
  await assertThrowsMessage(() => calibrateOnnx(m, findWeights(m), []), RangeError, "0 inputs");
  assert.throws(() => layerInputs(findWeights(m)[0]!, randomInput([3, 23], 1)), /last dimension must be 24/);
});

Deno.test("layerInputs of a 1×1 conv (fast path): X[(n, p), c] = x[n, g·C/G + c, p]", () => {
  const x = randomInput([2, 4, 2, 3], 5);
  const w: OnnxWeight = {
    name: "w",
    source: "initializer",
    op: "Conv",
    nodes: ["c"],
    inputs: ["x"],
    onnxShape: [6, 2, 1, 1],
    rows: 6,
    cols: 2,
    groups: 2,
    conv: { kernel: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 2 },
  };
  const Xs = layerInputs(w, x);
  assert.equal(Xs.length, 2);
  for (let g = 0; g < 2; g++) {
    assert.deepEqual(Xs[g]!.shape, [12, 2]);
    for (let n = 0; n < 2; n++) {
      for (let c = 0; c < 2; c++) {
        for (let p = 0; p < 6; p++) assert.equal(Xs[g]!.get(n * 6 + p, c), x.data[(n * 4 + g * 2 + c) * 6 + p]);
      }
    }
  }
});
