// SPDX-License-Identifier: MIT
/**
 * ONNX in and out: read a model (protobufjs, the `onnx.proto` schema in proto.ts), find the
 * weights of its MatMul, Gemm and Conv nodes, calibrate them by running onnxruntime-web with
 * the layers' inputs exposed, quantize them with the project's recipes (RTN, AWQ, GPTQ), and
 * evaluate an exported causal LM in onnxruntime-web ({@link openOnnxLm}). The writers of the
 * quantized results (fake-quantized f32, QDQ, `MatMulNBits`, the transformers.js decoder) live
 * in `lib/export/` (`exportFakeQuant`, `exportQdq`, `exportMatMulNBits`); this module never
 * imports them.
 *
 * This is the `@quantlab/quantlab/onnx` entry point: the root `mod.ts` does not re-export it, so
 * that importing quantlab does not load onnxruntime.
 *
 * Convention: quantlab weights are `[out, in]`; ONNX MatMul weights are `[K, N]` = `[in, out]`
 * and are transposed on the way in and out (weights.ts).
 *
 * @module
 */
export { AttrType, DataType, type Int64, ModelProtoType, toNum } from "./proto.ts";
export type {
  AttributeProto,
  DimensionProto,
  GraphProto,
  ModelProto,
  NodeProto,
  OpsetProto,
  StringEntry,
  TensorProto,
  TypeProto,
  ValueInfoProto,
} from "./proto.ts";
export * from "./load.ts";
export * from "./tensor_proto.ts";
export * from "./weights.ts";
export * from "./opset.ts";
export * from "./session.ts";
export * from "./capture.ts";
export * from "./quantize.ts";
export * from "./match.ts";
export * from "./llama.ts";
export * from "../eval/onnx_lm.ts";
