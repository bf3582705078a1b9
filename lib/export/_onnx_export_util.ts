// SPDX-License-Identifier: MIT
/**
 * Shared pieces of the quantized exporters: nibble packing, integer zero points, graph edits
 * and the size report.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { unpack } from "../ops/ts/pack.ts";
import type { OnnxModel } from "../onnx/load.ts";
import { serializeOnnx } from "../onnx/load.ts";
import { type NodeProto, type TensorProto, toNum } from "../onnx/proto.ts";
import { tensorPayloadBytes } from "../onnx/tensor_proto.ts";
import type { OnnxQuantized } from "../onnx/quantize.ts";

/** Size of an exported model. */
export interface OnnxExportReport {
  /** The serialized model. */
  bytes: Uint8Array;
  /** Format label, e.g. `qdq int4-g32-asym` or `MatMulNBits b32`. */
  format: string;
  /** File size in bytes. */
  fileBytes: number;
  /** Quantized weights (elements). */
  weightCount: number;
  /** Bytes storing those weights (codes, scales, zero points, column scales, f32 fallbacks). */
  weightBytes: number;
  /**
   * File bits per weight, `8 · weightBytes / weightCount`: a file size (byte-aligned tensors, the
   * dtypes ONNX offers, f32 fallbacks), not the format's exact stored bits (`storageBits`).
   */
  bitsPerWeight: number;
  /** Per weight: how it was stored and its bytes. */
  layers: { name: string; storage: string; elements: number; bytes: number }[];
}

/** Packs 4-bit values, element i in byte i >> 1, even i in the low nibble (ONNX INT4/UINT4, MatMulNBits). */
export function packNibbles(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) {
    out[i >> 1] = (out[i >> 1] as number) | (((values[i] as number) & 15) << ((i & 1) * 4));
  }
  return out;
}

/** Integer zero points of a quantized tensor, checked. */
export function integerZeros(fn: string, q: OnnxQuantized): Float32Array {
  const z = q.q.zero.data, maxq = 2 ** q.spec.bits - 1;
  for (let i = 0; i < z.length; i++) {
    const v = z[i] as number;
    if (!Number.isInteger(v) || v < 0 || v > maxq) {
      throw new RangeError(
        `${fn}: Cannot store zero point ${v} of "${q.weight.name}": ONNX needs integers in [0, ${maxq}]`,
      );
    }
  }
  return z;
}

/** Unpacked codes u8 `[rows, colsPadded]`. */
export function codesOf(q: OnnxQuantized): Tensor<"u8"> {
  return unpack(q.q.codes);
}

/** Removes a weight's producer (initializer or Constant node) from the graph. */
export function removeProducer(model: OnnxModel, name: string): void {
  const g = model.graph;
  g.initializer = g.initializer.filter((t) => t.name !== name);
  g.node = g.node.filter((n) => !(n.opType === "Constant" && n.output[0] === name));
}

/** Adds (or raises) an opset import. */
export function ensureOpset(model: OnnxModel, domain: string, version: number): void {
  const o = model.proto.opsetImport.find((x) => (x.domain ?? "") === domain);
  if (!o) model.proto.opsetImport.push({ domain, version });
  else if (toNum(o.version) < version) o.version = version;
}

/** Prepends nodes (their inputs are initializers, so any position before the consumers works). */
export function prependNodes(model: OnnxModel, nodes: NodeProto[]): void {
  model.graph.node = [...nodes, ...model.graph.node];
}

/** Builds the size report from the exported model and the tensors that store each weight. */
export function sizeReport(
  model: OnnxModel,
  format: string,
  stored: { name: string; storage: string; elements: number; tensors: TensorProto[] }[],
): OnnxExportReport {
  const bytes = serializeOnnx(model);
  const layers = stored.map((s) => ({
    name: s.name,
    storage: s.storage,
    elements: s.elements,
    bytes: s.tensors.reduce((a, t) => a + tensorPayloadBytes(t), 0),
  }));
  const weightCount = layers.reduce((a, l) => a + l.elements, 0);
  const weightBytes = layers.reduce((a, l) => a + l.bytes, 0);
  return {
    bytes,
    format,
    fileBytes: bytes.length,
    weightCount,
    weightBytes,
    bitsPerWeight: weightCount > 0 ? (8 * weightBytes) / weightCount : 0,
    layers,
  };
}
