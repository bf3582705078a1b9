// SPDX-License-Identifier: MIT
/**
 * Conversions between ONNX `TensorProto`s and quantlab {@link Tensor}s, and builders for the
 * protobuf pieces exporters write (tensors, attributes, nodes, value infos).
 *
 * Reading accepts `rawData` (little-endian) and the typed `*_data` fields; float types
 * (FLOAT, DOUBLE, FLOAT16, BFLOAT16) convert to f32. Writing always uses `rawData`.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { bf16BitsToF32, f16BitsToF32 } from "../tensor/numeric.ts";
import { OnnxFormatError } from "./load.ts";
import {
  type AttributeProto,
  AttrType,
  DataType,
  type NodeProto,
  type TensorProto,
  toNum,
  type ValueInfoProto,
} from "./proto.ts";

/** Dimensions of a TensorProto as numbers. */
export function protoDims(t: TensorProto): number[] {
  return (t.dims ?? []).map(toNum);
}

function little(raw: Uint8Array): DataView {
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
}

/**
 * Reads a float tensor (FLOAT, DOUBLE, FLOAT16, BFLOAT16) as f32 in its ONNX shape.
 *
 * @throws {TypeError} for other data types; {OnnxFormatError} when the data length does not
 *   match the dims (damaged file)
 */
export function floatTensorFromProto(t: TensorProto, fn = "floatTensorFromProto"): Tensor<"f32"> {
  const dims = protoDims(t);
  const n = dims.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const type = t.dataType ?? 0;
  const bad = (have: number, unit: string) =>
    new OnnxFormatError(
      `${fn}: Cannot read tensor "${t.name}" of shape [${dims.join(", ")}]: it holds ${have} ${unit}, expected ${n}`,
    );
  if (type === DataType.FLOAT) {
    if (raw) {
      if (raw.length !== 4 * n) throw bad(raw.length, "bytes / 4");
      const v = little(raw);
      for (let i = 0; i < n; i++) out[i] = v.getFloat32(4 * i, true);
    } else {
      const d = t.floatData ?? [];
      if (d.length !== n) throw bad(d.length, "floats");
      out.set(d);
    }
  } else if (type === DataType.DOUBLE) {
    if (raw) {
      if (raw.length !== 8 * n) throw bad(raw.length, "bytes / 8");
      const v = little(raw);
      for (let i = 0; i < n; i++) out[i] = v.getFloat64(8 * i, true);
    } else {
      const d = t.doubleData ?? [];
      if (d.length !== n) throw bad(d.length, "doubles");
      out.set(d);
    }
  } else if (type === DataType.FLOAT16 || type === DataType.BFLOAT16) {
    // rawData holds 2 bytes each; int32Data holds one 16-bit pattern per entry.
    const bits = new Uint16Array(n);
    if (raw) {
      if (raw.length !== 2 * n) throw bad(raw.length, "bytes / 2");
      const v = little(raw);
      for (let i = 0; i < n; i++) bits[i] = v.getUint16(2 * i, true);
    } else {
      const d = t.int32Data ?? [];
      if (d.length !== n) throw bad(d.length, "int32 entries");
      for (let i = 0; i < n; i++) bits[i] = d[i] as number;
    }
    for (let i = 0; i < n; i++) {
      const b = bits[i] as number;
      out[i] = type === DataType.FLOAT16 ? f16BitsToF32(b) : bf16BitsToF32(b);
    }
  } else {
    throw new TypeError(`${fn}: Cannot read tensor "${t.name}" as floats: ONNX data type ${type} is not a float type`);
  }
  return new Tensor("f32", dims, out);
}

/** Reads an INT64 or INT32 tensor (shapes, axes) as plain numbers. */
export function intValuesFromProto(t: TensorProto): number[] {
  const dims = protoDims(t);
  const n = dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (t.dataType === DataType.INT64) {
    if (raw) return Array.from({ length: n }, (_, i) => Number(little(raw).getBigInt64(8 * i, true)));
    return (t.int64Data ?? []).map(toNum);
  }
  if (t.dataType === DataType.INT32) {
    if (raw) return Array.from({ length: n }, (_, i) => little(raw).getInt32(4 * i, true));
    return [...(t.int32Data ?? [])];
  }
  throw new TypeError(`intValuesFromProto: Cannot read tensor "${t.name}" as integers: data type ${t.dataType}`);
}

/** A FLOAT TensorProto (raw little-endian data). */
export function floatTensorProto(name: string, dims: readonly number[], data: Float32Array): TensorProto {
  const raw = new Uint8Array(data.length * 4);
  const v = little(raw);
  for (let i = 0; i < data.length; i++) v.setFloat32(4 * i, data[i] as number, true);
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: raw };
}

/** An INT64 TensorProto. */
export function int64TensorProto(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  const raw = new Uint8Array(values.length * 8);
  const v = little(raw);
  values.forEach((x, i) => v.setBigInt64(8 * i, BigInt(x), true));
  return { name, dims: [...dims], dataType: DataType.INT64, rawData: raw };
}

/** A TensorProto of already packed bytes (UINT8, INT8, UINT4, INT4). */
export function bytesTensorProto(
  name: string,
  dataType: number,
  dims: readonly number[],
  raw: Uint8Array,
): TensorProto {
  return { name, dims: [...dims], dataType: dataType, rawData: raw };
}

/** Bytes of a tensor's payload (raw data or typed fields), for size accounting. */
export function tensorPayloadBytes(t: TensorProto): number {
  if (t.rawData && t.rawData.length > 0) return t.rawData.length;
  return 4 * ((t.floatData?.length ?? 0) + (t.int32Data?.length ?? 0)) +
    8 * ((t.int64Data?.length ?? 0) + (t.doubleData?.length ?? 0) + (t.uint64Data?.length ?? 0));
}

/** Attribute builders. */
export const attr = {
  int: (name: string, i: number): AttributeProto => ({ name, type: AttrType.INT, i }),
  float: (name: string, f: number): AttributeProto => ({ name, type: AttrType.FLOAT, f }),
  ints: (name: string, ints: readonly number[]): AttributeProto => ({ name, type: AttrType.INTS, ints: [...ints] }),
  tensor: (name: string, t: TensorProto): AttributeProto => ({ name, type: AttrType.TENSOR, t }),
};

/** Reads an attribute of a node (undefined when absent). */
export function getAttr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

/** An int attribute's value, or `fallback`. */
export function intAttr(node: NodeProto, name: string, fallback: number): number {
  const a = getAttr(node, name);
  return a ? toNum(a.i) : fallback;
}

/** An ints attribute's values, or `fallback`. */
export function intsAttr(node: NodeProto, name: string, fallback: number[]): number[] {
  const a = getAttr(node, name);
  return a ? (a.ints ?? []).map(toNum) : fallback;
}

/** A float tensor value info without a fixed shape (used to expose intermediate values). */
export function floatValueInfo(name: string): ValueInfoProto {
  return { name, type: { tensorType: { elemType: DataType.FLOAT } } };
}
