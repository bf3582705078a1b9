// SPDX-License-Identifier: MIT
/**
 * TypeScript views of decoded ONNX messages (the protobufjs schema itself is _proto_schema.ts,
 * whose `ModelProtoType` is re-exported here). int64 fields
 * decode as `Long` objects (protobufjs with the `long` package); {@link toNum} turns them into
 * numbers. Repeated numeric fields are declared packed (what onnx's C++ writes); the decoder
 * accepts both encodings.
 *
 * @module
 */
export { ModelProtoType } from "./_proto_schema.ts";

/** An int64 field as decoded: a number, or a protobufjs `Long`. */
export type Int64 = number | { toNumber(): number };

/** A decoded int64 as a JS number (exact below 2^53). */
export function toNum(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "number" ? v : v.toNumber();
}

/** `TensorProto.DataType` values used by quantlab. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
  UINT4: 21,
  INT4: 22,
} as const;

/** `AttributeProto.AttributeType` values. */
export const AttrType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

/** `onnx.StringStringEntryProto`. */
export interface StringEntry {
  /** Key (e.g. `location`, `offset`, `length` for external data). */
  key: string;
  /** Value, always a string in ONNX. */
  value: string;
}

/** `onnx.TensorProto` (fields quantlab reads or writes). */
export interface TensorProto {
  /** Tensor (initializer) name, unique in the graph. */
  name?: string;
  /** Shape, outermost dimension first. */
  dims?: Int64[];
  /** Element type, a {@link DataType} value. */
  dataType?: number;
  /** Little-endian packed elements (the usual storage; sub-byte types packed two per byte). */
  rawData?: Uint8Array;
  /** Elements of FLOAT (and COMPLEX64) tensors when `rawData` is not used. */
  floatData?: number[];
  /** Elements of INT32 and narrower integer, BOOL and FLOAT16 (bits) tensors when `rawData` is not used. */
  int32Data?: number[];
  /** Elements of INT64 tensors when `rawData` is not used. */
  int64Data?: Int64[];
  /** Elements of DOUBLE tensors when `rawData` is not used. */
  doubleData?: number[];
  /** Elements of UINT32/UINT64 tensors when `rawData` is not used. */
  uint64Data?: Int64[];
  /** 0 DEFAULT (data in this proto), 1 EXTERNAL (data in a file named by `externalData`). */
  dataLocation?: number;
  /** External data entries: `location` (relative path), `offset`, `length` in bytes. */
  externalData?: StringEntry[];
  /** Free-form documentation. */
  docString?: string;
}

/** `onnx.AttributeProto`. */
export interface AttributeProto {
  /** Attribute name (e.g. `axis`, `block_size`). */
  name: string;
  /** Which value field is set, an {@link AttrType} value. */
  type?: number;
  /** FLOAT value. */
  f?: number;
  /** INT value. */
  i?: Int64;
  /** STRING value (bytes). */
  s?: Uint8Array;
  /** TENSOR value. */
  t?: TensorProto;
  /** GRAPH value (subgraph of If/Loop/Scan). */
  g?: GraphProto;
  /** FLOATS value. */
  floats?: number[];
  /** INTS value. */
  ints?: Int64[];
  /** STRINGS value (bytes each). */
  strings?: Uint8Array[];
}

/** `onnx.NodeProto`. */
export interface NodeProto {
  /** Input value names, in the operator's order (`""` for an omitted optional input). */
  input: string[];
  /** Output value names. */
  output: string[];
  /** Node name (optional, for diagnostics). */
  name?: string;
  /** Operator type, e.g. `MatMul`, `DequantizeLinear`, `MatMulNBits`. */
  opType: string;
  /** Operator set domain: `""` for the default ONNX domain, `com.microsoft` for contrib ops. */
  domain?: string;
  /** Attributes of the node. */
  attribute?: AttributeProto[];
  /** Free-form documentation. */
  docString?: string;
}

/** `onnx.TensorShapeProto.Dimension`. */
export interface DimensionProto {
  /** Fixed size of the dimension. */
  dimValue?: Int64;
  /** Symbolic size (e.g. `batch`), when not fixed. */
  dimParam?: string;
}

/** `onnx.TypeProto` (tensor types only are read). */
export interface TypeProto {
  /** Tensor type: element type (a {@link DataType} value) and shape. */
  tensorType?: { elemType?: number; shape?: { dim?: DimensionProto[] } };
}

/** `onnx.ValueInfoProto`. */
export interface ValueInfoProto {
  /** Value name. */
  name: string;
  /** Its type and shape, when declared. */
  type?: TypeProto;
  /** Free-form documentation. */
  docString?: string;
}

/** `onnx.GraphProto`. */
export interface GraphProto {
  /** Graph name. */
  name?: string;
  /** Nodes, in topological order. */
  node: NodeProto[];
  /** Constant tensors (weights) available to the nodes by name. */
  initializer: TensorProto[];
  /** Graph inputs. */
  input: ValueInfoProto[];
  /** Graph outputs. */
  output: ValueInfoProto[];
  /** Types of intermediate values, when recorded. */
  valueInfo?: ValueInfoProto[];
  /** Sparse initializers (kept opaque). */
  sparseInitializer?: unknown[];
  /** Free-form documentation. */
  docString?: string;
}

/** `onnx.OperatorSetIdProto`. */
export interface OpsetProto {
  /** Operator set domain (`""` is the default ONNX domain). */
  domain?: string;
  /** Operator set version. */
  version?: Int64;
}

/** `onnx.ModelProto`. */
export interface ModelProto {
  /** ONNX IR version of the file. */
  irVersion?: Int64;
  /** Operator sets the model uses, one per domain. */
  opsetImport: OpsetProto[];
  /** Tool that wrote the model. */
  producerName?: string;
  /** Version of that tool. */
  producerVersion?: string;
  /** Model namespace (reverse-DNS). */
  domain?: string;
  /** Version of the model itself. */
  modelVersion?: Int64;
  /** Free-form documentation. */
  docString?: string;
  /** The main graph. */
  graph?: GraphProto;
  /** Named string metadata. */
  metadataProps?: StringEntry[];
  /** Model-local functions (kept opaque). */
  functions?: unknown[];
}
