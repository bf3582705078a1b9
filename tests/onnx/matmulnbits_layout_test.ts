// SPDX-License-Identifier: MIT
/** MatMulNBits byte layout against hand-computed bytes, and the runtime's reading of it. */
import assert from "node:assert/strict";
import { assertAllClose } from "../_assert.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { dequantize, intQuantized } from "../../lib/quant/quantized_tensor.ts";
import { exportMatMulNBits, matMulNBitsTensors } from "../../lib/export/onnx_matmulnbits.ts";
import { packNibbles } from "../../lib/export/_onnx_export_util.ts";
import type { OnnxQuantized } from "../../lib/onnx/quantize.ts";
import { parseOnnx, serializeOnnx } from "../../lib/onnx/load.ts";
import { findWeights } from "../../lib/onnx/weights.ts";
import { openSession } from "../../lib/onnx/session.ts";
import { DataType } from "../../lib/onnx/proto.ts";
import { floatTensorProto } from "../../lib/onnx/tensor_proto.ts";

/** The runtime dequantizes exactly what we dequantize (one multiply per weight). */
const TOL = 1e-6;

/** A graph `y = x · B`, B `[K, N]` f32 (the weight to be replaced). */
function matmulModel(K: number, N: number) {
  return parseOnnx(serializeOnnx({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "mm",
      node: [{ opType: "MatMul", name: "mm", input: ["x", "B"], output: ["y"] }],
      initializer: [floatTensorProto("B", [K, N], new Float32Array(K * N))],
      input: [{
        name: "x",
        type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: "M" }, { dimValue: K }] } } },
      }],
      output: [{ name: "y", type: { tensorType: { elemType: DataType.FLOAT } } }],
    },
  }));
}

/** A hand-made quantized weight W `[N, K]` with 4-bit codes, block 16. */
function handMade(K: number, N: number, zeros: number[]): OnnxQuantized {
  const nb = Math.ceil(K / 16), cp = nb * 16;
  const codes = new Tensor(
    "u8",
    [N, cp],
    Uint8Array.from({ length: N * cp }, (_, i) => {
      const n = Math.floor(i / cp), k = i % cp;
      return k >= K ? 0 : n % 2 === 0 ? k % 16 : 15 - (k % 16);
    }),
  );
  const scale = new Tensor("f32", [N, nb], Float32Array.from({ length: N * nb }, (_, i) => 0.125 * (i + 1)));
  const zero = new Tensor("f32", [N, nb], Float32Array.from(zeros));
  const q = intQuantized("int4-g16-asym", codes, 4, { scale, zero, symmetric: false });
  const m = matmulModel(K, N);
  const deq = dequantize(q);
  const dequantized = new Tensor(
    "f32",
    [N, K],
    Float32Array.from({ length: N * K }, (_, i) => deq.data[Math.floor(i / K) * cp + (i % K)]!),
  );
  return {
    weight: findWeights(m)[0]!,
    recipe: "rtn",
    spec: { format: "int", bits: 4, groupSize: 16, symmetric: false },
    q,
    dequantized,
  };
}

Deno.test("packNibbles: element i in byte i >> 1, even i in the low nibble", () => {
  assert.deepEqual([...packNibbles([1, 2, 3, 4, 15])], [0x21, 0x43, 0x0f]);
});

Deno.test("MatMulNBits tensors: B [N, n_blocks, 8] bytes, scales n·n_blocks + b, packed zero points", () => {
  const t = matMulNBitsTensors(handMade(32, 2, [1, 2, 3, 4]));
  assert.equal(t.blockSize, 16);
  assert.equal(t.B.length, 2 * 2 * 8);
  // Row 0 codes 0..15 per block: bytes 0x10, 0x32, …, 0xfe; row 1 codes 15..0: 0xef, 0xcd, …
  assert.deepEqual([...t.B.subarray(0, 8)], [0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]);
  assert.deepEqual([...t.B.subarray(8, 16)], [0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]);
  assert.deepEqual([...t.B.subarray(16, 24)], [0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01]);
  assert.deepEqual([...t.scales], [0.125, 0.25, 0.375, 0.5]);
  assert.deepEqual([...t.zeroPoints!], [0x21, 0x43]);
  // Odd block count (K = 40 → 3 blocks, the last partial): 2 zero-point bytes per row.
  const odd = matMulNBitsTensors(handMade(40, 2, [1, 2, 3, 4, 5, 6]));
  assert.equal(odd.B.length, 2 * 3 * 8);
  assert.deepEqual([...odd.zeroPoints!], [0x21, 0x03, 0x54, 0x06]);
  // Symmetric (all zeros 8): no zero points.
  assert.equal(matMulNBitsTensors(handMade(32, 2, [8, 8, 8, 8])).zeroPoints, undefined);
});

Deno.test("onnxruntime-web reads the layout: x = I gives y = dequantized Wᵀ (even and odd block counts)", async () => {
  for (const [K, zeros] of [[32, [1, 2, 3, 4]], [40, [1, 2, 3, 4, 5, 6]], [32, [8, 8, 8, 8]]] as const) {
    const q = handMade(K, 2, [...zeros]);
    const r = exportMatMulNBits(parseOnnx(serializeOnnx(matmulModel(K, 2))), new Map([["B", q]]), {
      fallback: "error",
    });
    const eye = new Tensor("f32", [K, K], Float32Array.from({ length: K * K }, (_, i) => (i % (K + 1) === 0 ? 1 : 0)));
    const s = await openSession(r.bytes);
    const y = (await s.run({ x: eye })).get("y")!; // [K, N] = B̂
    await s.release();
    const expected = Float32Array.from(
      { length: K * 2 },
      (_, i) => q.dequantized.data[(i % 2) * K + Math.floor(i / 2)]!,
    );
    assertAllClose(y.data, expected, { atol: TOL, rtol: TOL, msg: `K=${K}: ` });
  }
});
