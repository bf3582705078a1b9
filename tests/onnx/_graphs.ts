// SPDX-License-Identifier: MIT
/** Small ONNX graphs built in memory for the ONNX tests (seeded random weights). */
import { Tensor } from "../../lib/tensor/tensor.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { type OnnxModel, parseOnnx, serializeOnnx } from "../../lib/onnx/load.ts";
import {
  DataType,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "../../lib/onnx/proto.ts";
import { attr, floatTensorProto } from "../../lib/onnx/tensor_proto.ts";

/** Seeded f32 values with a few larger outliers (so ranges differ per row). */
export function randomValues(n: number, seed: number, std = 0.5): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, (_, i) => rng.normal() * std * (i % 13 === 0 ? 3 : 1));
}

function valueInfo(name: string, dims: (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function model(
  nodes: NodeProto[],
  inits: TensorProto[],
  inputs: ValueInfoProto[],
  outputs: ValueInfoProto[],
  opset: number,
): OnnxModel {
  const proto: ModelProto = {
    irVersion: opset >= 21 ? 10 : 8,
    opsetImport: [{ domain: "", version: opset }],
    producerName: "quantlab-tests",
    graph: { name: "g", node: nodes, initializer: inits, input: inputs, output: outputs },
  };
  // Round trip through bytes so the model looks exactly like a parsed file.
  return parseOnnx(serializeOnnx(proto), { source: "test-graph" });
}

/**
 * An MLP over `[T, 24]`: `MatMul(x, W1 [24, 48])` (initializer) → Relu →
 * `MatMul(·, W2 [48, 40])` (Constant node) → `Gemm(·, W3 [16, 40], bias, transB = 1)` → y `[T, 16]`.
 */
export function mlpModel(seed = 1): OnnxModel {
  const w1 = floatTensorProto("W1", [24, 48], randomValues(24 * 48, seed));
  const w2 = floatTensorProto("W2", [48, 40], randomValues(48 * 40, seed + 1, 0.2));
  const w3 = floatTensorProto("W3", [16, 40], randomValues(16 * 40, seed + 2, 0.3));
  const b3 = floatTensorProto("b3", [16], randomValues(16, seed + 3, 0.1));
  const nodes: NodeProto[] = [
    { opType: "MatMul", name: "mm1", input: ["x", "W1"], output: ["h1"] },
    { opType: "Relu", name: "relu", input: ["h1"], output: ["a1"] },
    { opType: "Constant", name: "c2", input: [], output: ["W2"], attribute: [attr.tensor("value", w2)] },
    { opType: "MatMul", name: "mm2", input: ["a1", "W2"], output: ["h2"] },
    { opType: "Gemm", name: "gemm", input: ["h2", "W3", "b3"], output: ["y"], attribute: [attr.int("transB", 1)] },
  ];
  return model(nodes, [w1, w3, b3], [valueInfo("x", ["T", 24])], [valueInfo("y", ["T", 16])], 17);
}

/**
 * A conv net over `[N, 4, 6, 6]`: `Conv(W1 [8, 4, 3, 3], pad 1)` → Relu →
 * depthwise `Conv(W2 [8, 1, 3, 3], group 8, stride 2, pad 1, bias)` → y `[N, 8, 3, 3]`.
 */
export function convModel(seed = 5): OnnxModel {
  const w1 = floatTensorProto("C1", [8, 4, 3, 3], randomValues(8 * 36, seed, 0.3));
  const w2 = floatTensorProto("C2", [8, 1, 3, 3], randomValues(8 * 9, seed + 1, 0.3));
  const b2 = floatTensorProto("c2b", [8], randomValues(8, seed + 2, 0.1));
  const nodes: NodeProto[] = [
    {
      opType: "Conv",
      name: "conv1",
      input: ["x", "C1"],
      output: ["h1"],
      attribute: [attr.ints("kernel_shape", [3, 3]), attr.ints("pads", [1, 1, 1, 1])],
    },
    { opType: "Relu", name: "relu", input: ["h1"], output: ["a1"] },
    {
      opType: "Conv",
      name: "conv2",
      input: ["a1", "C2", "c2b"],
      output: ["y"],
      attribute: [
        attr.ints("kernel_shape", [3, 3]),
        attr.ints("pads", [1, 1, 1, 1]),
        attr.ints("strides", [2, 2]),
        attr.int("group", 8),
      ],
    },
  ];
  return model(nodes, [w1, w2, b2], [valueInfo("x", ["N", 4, 6, 6])], [valueInfo("y", ["N", 8, 3, 3])], 17);
}

/**
 * An opset-9 graph using the ops whose signatures changed later: Clip (attributes), Slice
 * (attributes), Unsqueeze/Squeeze (axes attribute), ReduceMean (axes attribute), Softmax
 * (axis = 1 on a rank-3 tensor: old flatten semantics), plus a MatMul weight.
 * x `[2, 3, 8]` → y `[2, 3, 6]`, z `[2, 3, 1]`.
 */
export function oldOpsetModel(seed = 9): OnnxModel {
  const w = floatTensorProto("W", [8, 6], randomValues(48, seed));
  const nodes: NodeProto[] = [
    {
      opType: "Clip",
      name: "clip",
      input: ["x"],
      output: ["c"],
      attribute: [attr.float("min", -0.5), attr.float("max", 0.7)],
    },
    { opType: "MatMul", name: "mm", input: ["c", "W"], output: ["m"] },
    { opType: "Softmax", name: "sm", input: ["m"], output: ["s"], attribute: [attr.int("axis", 1)] },
    { opType: "Unsqueeze", name: "unsq", input: ["s"], output: ["u"], attribute: [attr.ints("axes", [0])] },
    { opType: "Squeeze", name: "sq", input: ["u"], output: ["y"], attribute: [attr.ints("axes", [0])] },
    {
      opType: "Slice",
      name: "slice",
      input: ["x"],
      output: ["sl"],
      attribute: [attr.ints("starts", [1]), attr.ints("ends", [5]), attr.ints("axes", [2])],
    },
    {
      opType: "ReduceMean",
      name: "rm",
      input: ["sl"],
      output: ["z"],
      attribute: [attr.ints("axes", [-1]), attr.int("keepdims", 1)],
    },
  ];
  return model(nodes, [w], [valueInfo("x", [2, 3, 8])], [valueInfo("y", [2, 3, 6]), valueInfo("z", [2, 3, 1])], 9);
}

/** A model with one weight stored as external data in `location` (no data embedded). */
export function externalDataModel(location: string): { model: ModelProto; data: Uint8Array } {
  const m = mlpModel();
  const w1 = m.graph.initializer.find((t) => t.name === "W1")!;
  const data = w1.rawData!.slice();
  const ext: TensorProto = {
    name: "W1",
    dims: [24, 48],
    dataType: DataType.FLOAT,
    dataLocation: 1,
    externalData: [{ key: "location", value: location }, { key: "offset", value: "0" }, {
      key: "length",
      value: String(data.length),
    }],
  };
  const graph = { ...m.graph, initializer: m.graph.initializer.map((t) => (t.name === "W1" ? ext : t)) };
  return { model: { ...m.proto, graph }, data };
}

/** An input tensor for the models above. */
export function randomInput(shape: number[], seed: number): Tensor<"f32"> {
  return new Tensor("f32", shape, randomValues(shape.reduce((a, b) => a * b, 1), seed, 1));
}

/** C = A·Bᵀ for A f32 `[M, K]`, B f32 `[N, K]` (the TypeScript reference of a linear layer). */
export function linearRef(A: Tensor<"f32">, B: Tensor<"f32">, bias?: ArrayLike<number>): Tensor<"f32"> {
  const [M, K] = A.shape as [number, number], N = B.shape[0] as number;
  const out = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (A.data[m * K + k] as number) * (B.data[n * K + k] as number);
      out[m * N + n] = s + (bias ? (bias[n] as number) : 0);
    }
  }
  return new Tensor("f32", [M, N], out);
}

/** Elementwise max(x, 0). */
export function reluRef(x: Tensor<"f32">): Tensor<"f32"> {
  return new Tensor("f32", x.shape, x.data.map((v) => Math.max(v, 0)));
}
