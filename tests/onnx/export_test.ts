// SPDX-License-Identifier: MIT
/**
 * Quantized exports (fake-quant f32, QDQ, MatMulNBits) run in onnxruntime-web and match a
 * TypeScript forward pass with the dequantized weights.
 */
import assert from "node:assert/strict";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import type { IntSpec } from "../../lib/quant/spec.ts";
import { calibrateOnnx, layerInputs } from "../../lib/onnx/capture.ts";
import { type OnnxModel, opsetVersion, parseOnnx } from "../../lib/onnx/load.ts";
import { type OnnxQuantized, type OnnxRecipe, quantizeOnnxWeights } from "../../lib/onnx/quantize.ts";
import { exportFakeQuant, exportQdq } from "../../lib/export/onnx_qdq.ts";
import { exportMatMulNBits } from "../../lib/export/onnx_matmulnbits.ts";
import { openSession } from "../../lib/onnx/session.ts";
import { findWeights, type OnnxWeight, readWeight } from "../../lib/onnx/weights.ts";
import { floatTensorFromProto } from "../../lib/onnx/tensor_proto.ts";
import { packNibbles } from "../../lib/export/_onnx_export_util.ts";
import { unpack } from "../../lib/ops/ts/pack.ts";
import { convModel, linearRef, mlpModel, randomInput, reluRef } from "./_graphs.ts";

/** Runtime (f32, dequantize-then-matmul) vs the TypeScript reference with dequantized weights. */
const ATOL = 1e-5;
const RTOL = 1e-5;

const spec = (bits: number, groupSize: number, symmetric = false): IntSpec => ({
  format: "int",
  bits,
  groupSize,
  symmetric,
});

async function quantize(m: OnnxModel, recipe: OnnxRecipe, s: IntSpec): Promise<Map<string, OnnxQuantized>> {
  const ws = findWeights(m);
  const feeds = m.graph.input[0]!.name === "x" && ws[0]!.op === "Conv"
    ? [{ x: randomInput([2, 4, 6, 6], 40) }]
    : [{ x: randomInput([16, 24], 40) }, { x: randomInput([16, 24], 41) }];
  const stats = recipe === "rtn" ? undefined : await calibrateOnnx(m, ws, feeds);
  return await quantizeOnnxWeights(ws.map((w) => ({ weight: w, W: readWeight(m, w) })), stats, { recipe, spec: s });
}

/** TypeScript forward of the MLP with the given weights `[out, in]`. */
function mlpRef(m: OnnxModel, W: (name: string) => Tensor<"f32">, x: Tensor<"f32">): Tensor<"f32"> {
  const bias = floatTensorFromProto(m.graph.initializer.find((t) => t.name === "b3")!).data;
  return linearRef(linearRef(reluRef(linearRef(x, W("W1"))), W("W2")), W("W3"), bias);
}

/** TypeScript forward of the conv net (im2col) with the given weights. */
function convRef(m: OnnxModel, W: (name: string) => Tensor<"f32">, x: Tensor<"f32">): Tensor<"f32"> {
  const [w1, w2] = findWeights(m) as [OnnxWeight, OnnxWeight];
  const N = x.shape[0]!;
  const y1 = linearRef(layerInputs(w1, x)[0]!, W("C1")); // [(n, p), o]
  const a1 = new Tensor("f32", [N, 8, 6, 6]);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < 8; o++) {
      for (let p = 0; p < 36; p++) a1.data[(n * 8 + o) * 36 + p] = Math.max(0, y1.data[(n * 36 + p) * 8 + o]!);
    }
  }
  const bias = floatTensorFromProto(m.graph.initializer.find((t) => t.name === "c2b")!).data;
  const W2 = W("C2"), Xs = layerInputs(w2, a1), y = new Tensor("f32", [N, 8, 3, 3]);
  for (let g = 0; g < 8; g++) {
    const Yg = linearRef(Xs[g]!, new Tensor("f32", [1, 9], W2.data.slice(g * 9, g * 9 + 9)), [bias[g]!]);
    for (let i = 0; i < N * 9; i++) y.data[(Math.floor(i / 9) * 8 + g) * 9 + (i % 9)] = Yg.data[i]!;
  }
  return y;
}

async function runBytes(bytes: Uint8Array, x: Tensor<"f32">): Promise<Tensor<"f32">> {
  const s = await openSession(bytes);
  try {
    return (await s.run({ x })).get("y")!;
  } finally {
    await s.release();
  }
}

const CASES: [string, OnnxRecipe, IntSpec][] = [
  ["RTN int8 per-channel sym", "rtn", spec(8, 0, true)],
  ["RTN int4 g16 asym (partial blocks)", "rtn", spec(4, 16)],
  ["RTN int4 per-channel asym", "rtn", spec(4, 0)],
  ["RTN int3 g16 asym", "rtn", spec(3, 16)],
  ["GPTQ int4 g16 asym", "gptq", spec(4, 16)],
  ["AWQ int4 g16 asym (column scales)", "awq", spec(4, 16)],
];

for (const [label, recipe, s] of CASES) {
  Deno.test(`MLP ${label}: fake-quant, QDQ and MatMulNBits match the TypeScript reference`, async () => {
    const m = mlpModel();
    const q = await quantize(m, recipe, s);
    const x = randomInput([6, 24], 7);
    const ref = mlpRef(m, (n) => q.get(n)!.dequantized, x);
    const fake = exportFakeQuant(m, q), qdq = exportQdq(m, q), nbits = exportMatMulNBits(m, q);
    assertAllClose(await runBytes(fake.bytes, x), ref, { atol: ATOL, rtol: RTOL, msg: "fake-quant: " });
    assertAllClose(await runBytes(qdq.bytes, x), ref, { atol: ATOL, rtol: RTOL, msg: "QDQ: " });
    assertAllClose(await runBytes(nbits.bytes, x), ref, { atol: ATOL, rtol: RTOL, msg: "MatMulNBits: " });
    const qm = parseOnnx(qdq.bytes);
    assert.equal(opsetVersion(qm), 21);
    assert.equal(qm.graph.node.filter((n) => n.opType === "DequantizeLinear").length, 3);
    const nm = parseOnnx(nbits.bytes);
    const expectNbits = s.bits === 4 && s.groupSize >= 16 ? 2 : 0; // the two MatMuls; Gemm stays f32
    assert.equal(nm.graph.node.filter((n) => n.opType === "MatMulNBits").length, expectNbits);
    assert.equal(fake.bitsPerWeight, 32);
    assert.ok(qdq.bitsPerWeight < (s.bits <= 4 ? 8 : 10), `QDQ bits/weight ${qdq.bitsPerWeight}`);
  });
}

Deno.test("conv net: QDQ (dense and depthwise, reshaped) matches the TypeScript reference", async () => {
  const m = convModel();
  const x = randomInput([2, 4, 6, 6], 8);
  for (const [recipe, s] of [["rtn", spec(8, 0, true)], ["gptq", spec(4, 16)], ["awq", spec(3, 16)]] as const) {
    const q = await quantize(m, recipe, s);
    const ref = convRef(m, (n) => q.get(n)!.dequantized, x);
    assertAllClose(await runBytes(exportFakeQuant(m, q).bytes, x), ref, {
      atol: ATOL,
      rtol: RTOL,
      msg: `${recipe} fake: `,
    });
    assertAllClose(await runBytes(exportQdq(m, q).bytes, x), ref, { atol: ATOL, rtol: RTOL, msg: `${recipe} QDQ: ` });
  }
});

Deno.test("size report: MatMulNBits b16 sym stores 4 + 32/16 bits per weight", async () => {
  const m = mlpModel();
  const q = await quantize(m, "rtn", spec(4, 16, true));
  const r = exportMatMulNBits(m, q);
  const mm = r.layers.filter((l) => l.storage.startsWith("MatMulNBits"));
  assert.deepEqual(mm.map((l) => l.name), ["W1", "W2"]);
  // W1: N = 48, K = 24 → 2 blocks of 16 (8 bytes of codes each) + 2 f32 scales per row; no zero points.
  assert.equal(mm[0]!.bytes, 48 * 2 * 8 + 48 * 2 * 4);
  assert.equal(mm[1]!.bytes, 40 * 3 * 8 + 40 * 3 * 4);
  assert.equal(r.layers.find((l) => l.name === "W3")!.storage, "f32 (fake-quantized)");
  assert.equal(r.weightCount, 24 * 48 + 48 * 40 + 16 * 40);
  assert.equal(r.fileBytes, r.bytes.length);
  await assertThrowsMessage(() => exportMatMulNBits(m, q, { fallback: "error" }), RangeError, "W3", "Gemm");
});

Deno.test("round trips: re-imported exports hold exactly the quantized weights", async () => {
  const m = mlpModel();
  const q = await quantize(m, "gptq", spec(4, 16));
  // Fake-quant f32: readWeight of the exported file gives the dequantized weights bit for bit.
  const fake = parseOnnx(exportFakeQuant(m, q).bytes);
  for (const w of findWeights(fake)) assert.deepEqual(readWeight(fake, w).data, q.get(w.name)!.dequantized.data);
  // QDQ: the UINT4 codes of W1 ([K, N] = codesᵀ, nibble-packed) and its [⌈K/16⌉, N] scales.
  const qdq = parseOnnx(exportQdq(m, q).bytes);
  const init = (name: string) => qdq.graph.initializer.find((t) => t.name === name)!;
  const w1 = q.get("W1")!, codes = unpack(w1.q.codes).data; // [48, 32] padded
  const kn = Array.from({ length: 24 * 48 }, (_, i) => codes[(i % 48) * 32 + Math.floor(i / 48)]!);
  assert.deepEqual(new Uint8Array(init("W1__q").rawData!), packNibbles(kn));
  assert.deepEqual(init("W1__scale").dims!.map(Number), [2, 48]);
  assert.equal(floatTensorFromProto(init("W1__scale")).get(1, 5), w1.q.scale.get(5, 1));
  // MatMulNBits: B bytes are the per-row nibble-packed padded codes.
  const nb = parseOnnx(exportMatMulNBits(m, q).bytes);
  const B = nb.graph.initializer.find((t) => t.name === "W1__B")!;
  assert.deepEqual(B.dims!.map(Number), [48, 2, 8]);
  assert.deepEqual(new Uint8Array(B.rawData!), packNibbles(codes));
});
