// SPDX-License-Identifier: MIT
/**
 * Reading and writing ONNX model files (`onnx.ModelProto` protobuf) with clear errors.
 *
 * - A file that is not ONNX (wrong wire format, no graph, no IR version, no opset) and a
 *   truncated file (the protobuf ends inside a field, or a node reads a value that nothing
 *   produces) raise {@link OnnxFormatError} naming the file and the reason.
 * - External data (`dataLocation: EXTERNAL`, the >2 GB layout): when the model is read from a
 *   path, tensors are read from the files beside it (`location`, `offset`, `length`) and
 *   embedded; when it is parsed from bytes with no directory, the tensor is rejected with an
 *   error that names it and its file. Saved models always embed their data.
 *
 * @module
 */
import { DataType, type GraphProto, type ModelProto, ModelProtoType, type TensorProto, toNum } from "./proto.ts";

/** An ONNX file could not be used: not ONNX, truncated, damaged, or needs absent external data. */
export class OnnxFormatError extends Error {
  override name = "OnnxFormatError";
}

/** A parsed ONNX model: the protobuf message plus where it came from. */
export interface OnnxModel {
  /** The decoded `ModelProto` (mutable; exporters work on copies, see {@link cloneModel}). */
  proto: ModelProto;
  /** The graph (always present after a successful parse). */
  graph: GraphProto;
  /** File name or label used in messages. */
  source: string;
  /** Size of the serialized model in bytes. */
  byteLength: number;
}

/** Options of {@link parseOnnx}. */
export interface ParseOnnxOptions {
  /** Label for error messages (default `"<bytes>"`). */
  source?: string;
  /** Directory that holds external-data files; without it external tensors are rejected. */
  externalDataDir?: string;
}

/** Opset version of `domain` ("" = ai.onnx) the model imports, or undefined. */
export function opsetVersion(model: OnnxModel, domain = ""): number | undefined {
  const o = model.proto.opsetImport.find((x) =>
    (x.domain ?? "") === domain || (domain === "" && x.domain === "ai.onnx")
  );
  return o ? toNum(o.version) : undefined;
}

/**
 * Parses ONNX bytes.
 *
 * @throws {OnnxFormatError} when the bytes are not an ONNX model, are truncated, or need
 *   external data that cannot be read
 */
export function parseOnnx(bytes: Uint8Array, options: ParseOnnxOptions = {}): OnnxModel {
  const source = options.source ?? "<bytes>";
  const fail = (why: string, cause?: unknown) =>
    new OnnxFormatError(`parseOnnx: Cannot read "${source}" (${bytes.length} bytes) as an ONNX model: ${why}`, {
      cause,
    });
  if (bytes.length === 0) throw fail("the file is empty");
  let proto: ModelProto;
  try {
    proto = ModelProtoType.decode(bytes) as unknown as ModelProto;
  } catch (e) {
    const m = (e as Error).message;
    const truncated = /index out of range|premature|invalid wire type/i.test(m);
    throw fail(truncated ? `the protobuf is truncated or damaged (${m})` : `it is not a protobuf (${m})`, e);
  }
  const graph = proto.graph;
  if (!graph || proto.irVersion === undefined || proto.irVersion === null || !proto.opsetImport?.length) {
    throw fail("it has no graph, IR version or opset import (not an ONNX ModelProto, or truncated before them)");
  }
  checkGraphConnected(graph, (why) => fail(why));
  resolveExternalData(graph, source, options.externalDataDir);
  return { proto, graph, source, byteLength: bytes.length };
}

/**
 * Reads an ONNX file; external data is read from the file's directory.
 *
 * @throws {OnnxFormatError} as {@link parseOnnx}; Error naming the path when it cannot be read
 */
export async function loadOnnx(path: string): Promise<OnnxModel> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`loadOnnx: Cannot read ONNX file "${path}"`, { cause: e });
  }
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  return parseOnnx(bytes, { source: path, externalDataDir: dir });
}

/** Serializes a model to ONNX bytes. */
export function serializeOnnx(model: OnnxModel | ModelProto): Uint8Array {
  const proto = "proto" in model ? model.proto : model;
  return ModelProtoType.encode(proto as never).finish();
}

/**
 * A deep enough copy of a model for an exporter to edit: graph lists, nodes and attribute lists
 * are new arrays; tensor data buffers are shared (exporters replace tensors, never write into them).
 */
export function cloneModel(model: OnnxModel): OnnxModel {
  const g = model.graph;
  const graph: GraphProto = {
    ...g,
    node: g.node.map((n) => ({
      ...n,
      input: [...n.input],
      output: [...n.output],
      attribute: [...(n.attribute ?? [])],
    })),
    initializer: [...g.initializer],
    input: [...g.input],
    output: [...g.output],
    valueInfo: [...(g.valueInfo ?? [])],
  };
  const proto: ModelProto = { ...model.proto, opsetImport: model.proto.opsetImport.map((o) => ({ ...o })), graph };
  return { proto, graph, source: model.source, byteLength: model.byteLength };
}

/** Every node input must be produced by a graph input, an initializer or an earlier node. */
function checkGraphConnected(graph: GraphProto, fail: (why: string) => Error): void {
  const known = new Set<string>([""]);
  for (const i of graph.input) known.add(i.name);
  for (const t of graph.initializer) known.add(t.name ?? "");
  for (const n of graph.node) for (const o of n.output) known.add(o);
  for (const n of graph.node) {
    for (const i of n.input) {
      // Subgraph (If/Loop) outer-scope reads are checked by the runtime, not here.
      if (!known.has(i)) {
        throw fail(`node "${n.name ?? n.opType}" (${n.opType}) reads "${i}", which nothing defines (truncated?)`);
      }
    }
  }
  if (graph.node.length === 0) throw fail("its graph has no nodes");
  for (const o of graph.output) {
    if (!known.has(o.name)) throw fail(`graph output "${o.name}" is not produced by any node (truncated?)`);
  }
}

/** Reads external tensor data into `rawData`, or rejects it clearly. */
function resolveExternalData(graph: GraphProto, source: string, dir: string | undefined): void {
  const tensors: TensorProto[] = [...graph.initializer];
  for (const n of graph.node) {
    for (const a of n.attribute ?? []) if (a.t) tensors.push(a.t);
  }
  for (const t of tensors) {
    if (t.dataLocation !== 1) continue;
    const kv = new Map((t.externalData ?? []).map((e) => [e.key, e.value]));
    const location = kv.get("location");
    if (location === undefined) {
      throw new OnnxFormatError(
        `parseOnnx: Cannot read tensor "${t.name}" of "${source}": external data without a location`,
      );
    }
    if (dir === undefined) {
      throw new OnnxFormatError(
        `parseOnnx: Cannot read tensor "${t.name}" of "${source}": its data is in the external file "${location}"; ` +
          `load the model with loadOnnx(path) so the file beside it can be read`,
      );
    }
    const path = `${dir}/${location}`;
    let file: Uint8Array;
    try {
      file = Deno.readFileSync(path);
    } catch (e) {
      throw new OnnxFormatError(
        `parseOnnx: Cannot read tensor "${t.name}" of "${source}": external data file "${path}" is missing or unreadable`,
        { cause: e },
      );
    }
    const offset = Number(kv.get("offset") ?? 0);
    const length = kv.has("length") ? Number(kv.get("length")) : file.length - offset;
    if (offset + length > file.length) {
      throw new OnnxFormatError(
        `parseOnnx: Cannot read tensor "${t.name}" of "${source}": external file "${path}" has ${file.length} bytes, ` +
          `the tensor needs bytes ${offset}..${offset + length} (truncated?)`,
      );
    }
    t.rawData = file.slice(offset, offset + length);
    t.dataLocation = 0;
    t.externalData = [];
  }
}

/** Element size in bytes of the fixed-size ONNX data types quantlab reads. */
export const DATA_TYPE_BYTES: Readonly<Record<number, number>> = {
  [DataType.FLOAT]: 4,
  [DataType.UINT8]: 1,
  [DataType.INT8]: 1,
  [DataType.UINT16]: 2,
  [DataType.INT16]: 2,
  [DataType.INT32]: 4,
  [DataType.INT64]: 8,
  [DataType.BOOL]: 1,
  [DataType.FLOAT16]: 2,
  [DataType.DOUBLE]: 8,
  [DataType.UINT32]: 4,
  [DataType.UINT64]: 8,
  [DataType.BFLOAT16]: 2,
};
