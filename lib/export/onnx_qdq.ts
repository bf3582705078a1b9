// SPDX-License-Identifier: MIT
/**
 * Exports quantized weights as (a) a fake-quantized f32 model and (b) a QDQ model: each weight
 * becomes `DequantizeLinear(codes, scale, zero_point)` (ONNX opset 21) feeding the original
 * consumers.
 *
 * QDQ layout of a weight quantized as `[rows = out, cols = in]` (quantlab) with codes c,
 * scale s and zero z per (row, group):
 *
 * | weight | stored codes | per-channel | blocked (group size b) |
 * |---|---|---|---|
 * | MatMul / Gemm B `[K, N]` | `[K, N]` = codesᵀ | `axis=1`, s/z `[N]` | `axis=0, block_size=b`, s/z `[⌈K/b⌉, N]` |
 * | Gemm B `[N, K]` (transB) | `[N, K]` | `axis=0`, s/z `[N]` | `axis=1, block_size=b`, s/z `[N, ⌈K/b⌉]` |
 * | Conv W `[O, C/g, kh, kw]` | `[O, C/g·kh·kw]`, then `Reshape` | `axis=0` | `axis=1, block_size=b` |
 *
 * Codes are UINT4 (bits ≤ 4; two per byte, even element in the low nibble) or UINT8, zero
 * points the same type (symmetric formats store z = 2^(bits−1)); a partial last block is
 * allowed by ONNX. AWQ's column scales (`colScale`) become a `Mul` of the dequantized weight.
 * The graph's opset is raised to 21 first (see opset.ts), the IR version to 10.
 *
 * @module
 */
import { cloneModel, type OnnxModel } from "../onnx/load.ts";
import type { NodeProto, TensorProto } from "../onnx/proto.ts";
import { DataType } from "../onnx/proto.ts";
import { upgradeOpset } from "../onnx/opset.ts";
import { attr, bytesTensorProto, floatTensorProto, int64TensorProto } from "../onnx/tensor_proto.ts";
import type { OnnxQuantized } from "../onnx/quantize.ts";
import { findWeights, replaceWeights } from "../onnx/weights.ts";
import {
  codesOf,
  integerZeros,
  type OnnxExportReport,
  packNibbles,
  prependNodes,
  removeProducer,
  sizeReport,
} from "./_onnx_export_util.ts";

/**
 * The fake-quantized export: every quantized weight replaced by its dequantized f32 values.
 * The size report counts them at 32 bits.
 */
export function exportFakeQuant(model: OnnxModel, quantized: ReadonlyMap<string, OnnxQuantized>): OnnxExportReport {
  const out = replaceWeights(model, new Map([...quantized].map(([k, q]) => [k, q.dequantized])));
  const stored = [...quantized.values()].map((q) => ({
    name: q.weight.name,
    storage: "f32 (fake-quantized)",
    elements: q.weight.rows * q.weight.cols,
    tensors: [{ rawData: new Uint8Array(4 * q.weight.rows * q.weight.cols) } as TensorProto],
  }));
  return sizeReport(out, "fake-quant f32", stored);
}

/** Storage of one weight in QDQ form: tensors and nodes producing the value `w.name`. */
function qdqWeight(q: OnnxQuantized): { tensors: TensorProto[]; nodes: NodeProto[] } {
  const w = q.weight, name = w.name, bits = q.spec.bits;
  const rows = w.rows, cols = w.cols, cp = q.q.shape[1], G = q.q.scale.shape[1] as number;
  const perTensor = q.q.scale.shape[0] === 1 && rows > 1;
  const blocked = !perTensor && G > 1;
  const codes = codesOf(q).data, zeros = integerZeros("exportQdq", q), scales = q.q.scale.data;
  const kn = w.op === "MatMul" || (w.op === "Gemm" && !w.transB); // stored [K, N] = transposed
  const nBlocks = Math.ceil(cols / Math.max(1, cp / G));
  // Codes in the stored layout.
  const stored = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) stored[kn ? j * rows + r : r * cols + j] = codes[r * cp + j] as number;
  }
  // Parameters: per tensor (scalar), per channel ([rows]) or per block ([nb, rows] or [rows, nb]).
  let pDims: number[], s: Float32Array, z: Float32Array;
  if (perTensor) {
    pDims = [];
    s = scales.slice(0, 1);
    z = zeros.slice(0, 1);
  } else if (!blocked) {
    pDims = [rows];
    s = scales.slice();
    z = zeros.slice();
  } else {
    pDims = kn ? [nBlocks, rows] : [rows, nBlocks];
    s = new Float32Array(rows * nBlocks);
    z = new Float32Array(rows * nBlocks);
    for (let r = 0; r < rows; r++) {
      for (let b = 0; b < nBlocks; b++) {
        const i = kn ? b * rows + r : r * nBlocks + b;
        s[i] = scales[r * G + b] as number;
        z[i] = zeros[r * G + b] as number;
      }
    }
  }
  const type = bits <= 4 ? DataType.UINT4 : DataType.UINT8;
  const pack = (v: ArrayLike<number>) => (bits <= 4 ? packNibbles(v) : Uint8Array.from(v));
  const xDims = kn ? [cols, rows] : [rows, cols];
  const tensors = [
    bytesTensorProto(`${name}__q`, type, xDims, pack(stored)),
    floatTensorProto(`${name}__scale`, pDims, s),
    bytesTensorProto(`${name}__zero`, type, pDims, pack(z)),
  ];
  const attrs = perTensor ? [] : [attr.int("axis", blocked ? (kn ? 0 : 1) : (kn ? 1 : 0))];
  if (blocked) attrs.push(attr.int("block_size", cp / G));
  const needReshape = w.op === "Conv";
  const colScale = q.q.colScale;
  let value = needReshape || colScale ? `${name}__dq` : name;
  const nodes: NodeProto[] = [{
    opType: "DequantizeLinear",
    name: `${name}__DequantizeLinear`,
    input: tensors.map((t) => t.name as string),
    output: [value],
    attribute: attrs,
  }];
  if (colScale) {
    const cs = floatTensorProto(`${name}__colscale`, kn ? [cols, 1] : [1, cols], colScale.data.slice(0, cols));
    tensors.push(cs);
    const next = needReshape ? `${name}__scaled` : name;
    nodes.push({
      opType: "Mul",
      name: `${name}__colscale_Mul`,
      input: [value, cs.name as string],
      output: [next],
      attribute: [],
    });
    value = next;
  }
  if (needReshape) {
    const shape = int64TensorProto(`${name}__shape`, [w.onnxShape.length], w.onnxShape);
    tensors.push(shape);
    nodes.push({
      opType: "Reshape",
      name: `${name}__Reshape`,
      input: [value, shape.name as string],
      output: [name],
      attribute: [],
    });
  }
  return { tensors, nodes };
}

/**
 * QDQ export: each quantized weight stored as integer codes + `DequantizeLinear`.
 *
 * @param quantized weight name → quantized weight (from `quantizeOnnxWeights`)
 * @returns the model bytes and the size report (codes, scales, zero points, column scales; the
 *   Reshape shapes are not counted)
 * @throws {RangeError} on non-integer zero points; {TypeError} when the graph's opset cannot
 *   be raised to 21
 */
export function exportQdq(model: OnnxModel, quantized: ReadonlyMap<string, OnnxQuantized>): OnnxExportReport {
  const out = cloneModel(model);
  upgradeOpset(out, 21);
  const known = new Set(findWeights(model).map((w) => w.name));
  const stored: { name: string; storage: string; elements: number; tensors: TensorProto[] }[] = [];
  const newNodes: NodeProto[] = [];
  for (const [name, q] of quantized) {
    if (!known.has(name)) {
      throw new RangeError(`exportQdq: Cannot export "${name}": not a MatMul/Gemm/Conv weight of "${model.source}"`);
    }
    const { tensors, nodes } = qdqWeight(q);
    removeProducer(out, name);
    out.graph.initializer.push(...tensors);
    newNodes.push(...nodes);
    stored.push({
      name,
      storage: `${q.spec.bits <= 4 ? "uint4" : "uint8"} ${q.q.formatId}${q.q.colScale ? " +colscale" : ""}`,
      elements: q.weight.rows * q.weight.cols,
      tensors: tensors.filter((t) => !(t.name ?? "").endsWith("__shape")),
    });
  }
  prependNodes(out, newNodes);
  const first = [...quantized.values()][0];
  return sizeReport(out, `qdq ${first?.q.formatId ?? ""}`.trim(), stored);
}
