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
 *   error that names it and its file. Saved models always embed their data. A model file is
 *   untrusted input, so each `location` must be relative, resolve (symlinks followed) inside the
 *   model's directory and name a regular file; `offset + length` must lie within it and match
 *   the tensor's dims; the total read stays under `maxExternalBytes` (default 16 GiB).
 *   Otherwise an {@link OnnxExternalDataError} names the tensor, the location and the rule.
 *
 * @module
 */
import { DataType, type GraphProto, type ModelProto, ModelProtoType, type TensorProto, toNum } from "./proto.ts";

/** An ONNX file could not be used: not ONNX, truncated, damaged, or needs absent external data. */
export class OnnxFormatError extends Error {
  /** Error name. */
  override name = "OnnxFormatError";
}

/** External data that may not be read: outside the model's directory, not a file, out of range, too large. */
export class OnnxExternalDataError extends OnnxFormatError {
  /** Error name. */
  override name = "OnnxExternalDataError";
}

/** Default limit on the external bytes one model may read: 16 GiB. */
export const DEFAULT_MAX_EXTERNAL_BYTES = 16 * 2 ** 30;

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
  /** Most external-data bytes to read in total (default {@link DEFAULT_MAX_EXTERNAL_BYTES}). */
  maxExternalBytes?: number;
}

/** Options of {@link loadOnnx}. */
export interface LoadOnnxOptions {
  /** Most external-data bytes to read in total (default {@link DEFAULT_MAX_EXTERNAL_BYTES}). */
  maxExternalBytes?: number;
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
 * @param bytes the serialized `ModelProto`
 * @param options source label, external-data directory and byte limit
 * @returns the model with external data embedded
 * @throws {OnnxFormatError} when the bytes are not an ONNX model, are truncated, or need
 *   external data that cannot be read; {OnnxExternalDataError} when a location breaks the rules
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
  resolveExternalData(graph, source, options.externalDataDir, options.maxExternalBytes ?? DEFAULT_MAX_EXTERNAL_BYTES);
  return { proto, graph, source, byteLength: bytes.length };
}

/**
 * Reads an ONNX file; external data is read from the file's directory (see the module doc for
 * the rules a `location` must follow).
 *
 * @param path the `.onnx` file
 * @param options `maxExternalBytes`
 * @returns the model with external data embedded
 * @throws {OnnxFormatError} as {@link parseOnnx}; Error naming the path when it cannot be read
 */
export async function loadOnnx(path: string, options: LoadOnnxOptions = {}): Promise<OnnxModel> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`loadOnnx: Cannot read ONNX file "${path}"`, { cause: e });
  }
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  return parseOnnx(bytes, {
    source: path,
    externalDataDir: dir,
    ...(options.maxExternalBytes !== undefined ? { maxExternalBytes: options.maxExternalBytes } : {}),
  });
}

/** Serializes a model to ONNX bytes (a plain Uint8Array). */
export function serializeOnnx(model: OnnxModel | ModelProto): Uint8Array {
  const proto = "proto" in model ? model.proto : model;
  const out = ModelProtoType.encode(proto as never).finish();
  // protobufjs returns a Node Buffer under Deno, whose slice() is a view, not a copy: hand out
  // a plain Uint8Array over the same memory so callers' slice() copies as everywhere else.
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
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
function resolveExternalData(graph: GraphProto, source: string, dir: string | undefined, maxBytes: number): void {
  const tensors: TensorProto[] = [...graph.initializer];
  for (const n of graph.node) {
    for (const a of n.attribute ?? []) if (a.t) tensors.push(a.t);
  }
  let total = 0;
  for (const t of tensors) {
    if (t.dataLocation !== 1) continue;
    const kv = new Map((t.externalData ?? []).map((e) => [e.key, e.value]));
    const location = kv.get("location");
    const fail = (why: string, cause?: unknown) =>
      new OnnxExternalDataError(
        `parseOnnx: Cannot read tensor "${t.name}" of "${source}" from external file ${
          JSON.stringify(location)
        }: ${why}`,
        cause === undefined ? {} : { cause },
      );
    if (location === undefined || location === "") throw fail("external data without a location");
    if (dir === undefined) {
      throw fail("load the model with loadOnnx(path) so the file beside it can be read");
    }
    const { path, size } = externalFile(location, dir, fail);
    const offset = byteCount(kv.get("offset") ?? "0", "offset", fail);
    const length = kv.has("length") ? byteCount(kv.get("length") as string, "length", fail) : size - offset;
    if (offset > size || offset + length > size) {
      throw fail(`the file has ${size} bytes, the tensor needs bytes ${offset}..${offset + length} (truncated?)`);
    }
    const want = expectedBytes(t);
    if (want !== undefined && want !== length) {
      throw fail(`its dims [${(t.dims ?? []).map(toNum).join(", ")}] need ${want} bytes, the location gives ${length}`);
    }
    total += length;
    if (total > maxBytes) {
      throw fail(`the model's external data exceeds the limit of ${maxBytes} bytes (option maxExternalBytes)`);
    }
    t.rawData = readRange(path, offset, length, fail);
    t.dataLocation = 0;
    t.externalData = [];
  }
}

/** Resolves a location to a regular file inside `dir` (symlinks followed); returns its real path and size. */
function externalFile(
  location: string,
  dir: string,
  fail: (why: string, cause?: unknown) => Error,
): { path: string; size: number } {
  if (/^([/\\]|[A-Za-z]:)/.test(location) || location.includes("\0")) {
    throw fail("the location must be a relative path inside the model's directory");
  }
  let realDir: string, real: string;
  try {
    realDir = Deno.realPathSync(dir);
    real = Deno.realPathSync(`${dir}/${location}`);
  } catch (cause) {
    throw fail("the file is missing or unreadable", cause);
  }
  if (!real.startsWith(realDir.endsWith("/") ? realDir : `${realDir}/`)) {
    throw fail(`it resolves to "${real}", outside the model's directory "${realDir}"`);
  }
  const info = Deno.statSync(real);
  if (!info.isFile) throw fail(`"${real}" is not a regular file`);
  return { path: real, size: info.size };
}

/** Parses an `offset`/`length` entry: a decimal integer within 2^53. */
function byteCount(text: string, key: string, fail: (why: string) => Error): number {
  const v = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(v)) {
    throw fail(`${key} ${JSON.stringify(text)} is not a byte count`);
  }
  return v;
}

/** Bytes a fixed-size tensor needs from its dims, or undefined for other data types. */
function expectedBytes(t: TensorProto): number | undefined {
  const width = DATA_TYPE_BYTES[t.dataType ?? 0];
  if (width === undefined) return undefined;
  return (t.dims ?? []).reduce<number>((a, d) => a * toNum(d), width);
}

/** Reads exactly `length` bytes at `offset` (never the whole file). */
function readRange(path: string, offset: number, length: number, fail: (why: string) => Error): Uint8Array {
  const out = new Uint8Array(length);
  using file = Deno.openSync(path, { read: true });
  file.seekSync(offset, Deno.SeekMode.Start);
  let at = 0;
  while (at < length) {
    const got = file.readSync(out.subarray(at));
    if (got === null || got === 0) throw fail(`the file ended after ${offset + at} bytes (it shrank while reading)`);
    at += got;
  }
  return out;
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
