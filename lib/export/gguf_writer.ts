// SPDX-License-Identifier: MIT
/**
 * The GGUF container, version 3, little-endian (llama.cpp's model file; format description in
 * ggml's `docs/gguf.md` and `gguf-py/gguf/gguf_writer.py`), written from that description:
 *
 * ```
 * u32 magic "GGUF" · u32 version 3 · u64 tensor count · u64 metadata count
 * metadata: { string key · u32 value type · value }*          string = u64 byte length + UTF-8
 * tensor infos: { string name · u32 n_dims · u64 ne[n_dims] · u32 ggml type · u64 offset }*
 * padding to `general.alignment` (32)
 * tensor data, each tensor at its offset (relative to the data start), padded to the alignment
 * ```
 *
 * `ne[0]` is the innermost (contiguous) dimension, so a row-major `[rows, cols]` matrix has
 * `ne = [cols, rows]`; tensors here are given row-major and written reversed, as gguf-py does.
 * Tensor data may be produced lazily (one tensor in memory at a time), and the file is written to
 * a temporary name and renamed into place, so a failed export leaves nothing behind.
 *
 * @module
 */
import { GGML_TYPES, ggmlRowBytes, type GgmlType } from "./ggml_blocks.ts";

/** GGUF magic, the bytes "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
/** The GGUF version written. */
export const GGUF_VERSION = 3;
/** Alignment of the tensor data (`general.alignment`, GGUF's default). */
export const GGUF_ALIGNMENT = 32;
/** ggml's `GGML_MAX_NAME`: tensor names are at most 63 bytes (plus the C terminator). */
export const GGML_MAX_NAME = 64;

/** GGUF metadata value types by name, with their ids (`enum gguf_type`). */
export const GGUF_VALUE_TYPES = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

/** A scalar GGUF value type. */
export type GgufScalarType = Exclude<keyof typeof GGUF_VALUE_TYPES, "array">;

/** One typed metadata value. */
export type GgufValue =
  | { type: "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "float64"; value: number }
  | { type: "uint64" | "int64"; value: number | bigint }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; itemType: GgufScalarType; value: readonly (number | bigint | boolean | string)[] };

/** One tensor to write. */
export interface GgufTensor {
  /** Name (at most 63 UTF-8 bytes), e.g. `blk.0.attn_q.weight`. */
  name: string;
  /** Row-major shape, outermost first (`[rows, cols]`); written as `ne = [cols, rows]`. */
  shape: readonly number[];
  /** ggml type of the data. */
  type: GgmlType;
  /** The bytes, or a function producing them when the tensor's turn comes. */
  data: Uint8Array | (() => Uint8Array | Promise<Uint8Array>);
}

/** Where a tensor landed in the file. */
export interface GgufTensorPlacement {
  /** Tensor name. */
  name: string;
  /** ggml type. */
  type: GgmlType;
  /** Row-major shape. */
  shape: number[];
  /** Bytes of data. */
  bytes: number;
  /** Absolute file offset of the data. */
  offset: number;
}

/** Result of {@link writeGguf}. */
export interface GgufWriteResult {
  /** File size in bytes. */
  bytes: number;
  /** Absolute offset of the tensor data section. */
  dataOffset: number;
  /** Every tensor, in file order. */
  tensors: GgufTensorPlacement[];
}

/** A metadata entry or tensor that GGUF cannot hold. */
export class GgufFormatError extends RangeError {
  /** Error name. */
  override name = "GgufFormatError";
}

const SCALAR_BYTES: Record<Exclude<GgufScalarType, "string">, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  bool: 1,
  uint64: 8,
  int64: 8,
  float64: 8,
};

/** Growable little-endian byte buffer. */
class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  u32(x: number): void {
    this.view.setUint32(this.reserve(4), x, true);
  }
  u64(x: number | bigint): void {
    this.view.setBigUint64(this.reserve(8), BigInt(x), true);
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.reserve(b.length));
  }
  string(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  scalar(key: string, type: GgufScalarType, v: number | bigint | boolean | string): void {
    const bad = () =>
      new GgufFormatError(`writeGguf: Cannot store ${JSON.stringify(String(v))} as ${type} in "${key}": out of range`);
    if (type === "string") {
      if (typeof v !== "string") throw bad();
      this.string(v);
      return;
    }
    if (type === "bool") {
      if (typeof v !== "boolean") throw bad();
      this.buf[this.reserve(1)] = v ? 1 : 0;
      return;
    }
    const at = this.reserve(SCALAR_BYTES[type]), dv = this.view;
    if (type === "float32") return dv.setFloat32(at, Number(v), true);
    if (type === "float64") return dv.setFloat64(at, Number(v), true);
    const n = BigInt(v as number | bigint);
    const bits = BigInt(SCALAR_BYTES[type] * 8), signed = type.startsWith("int");
    const lo = signed ? -(1n << (bits - 1n)) : 0n, hi = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
    if (typeof v === "number" && !Number.isInteger(v) || n < lo || n > hi) throw bad();
    if (type === "uint8") dv.setUint8(at, Number(n));
    else if (type === "int8") dv.setInt8(at, Number(n));
    else if (type === "uint16") dv.setUint16(at, Number(n), true);
    else if (type === "int16") dv.setInt16(at, Number(n), true);
    else if (type === "uint32") dv.setUint32(at, Number(n), true);
    else if (type === "int32") dv.setInt32(at, Number(n), true);
    else if (type === "uint64") dv.setBigUint64(at, n, true);
    else dv.setBigInt64(at, n, true);
  }
  pad(alignment: number): void {
    const rest = this.length % alignment;
    if (rest) this.reserve(alignment - rest); // zero bytes: the buffer starts zeroed and only grows
  }
  view8(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** Bytes of a tensor of `type` with row-major `shape` (the innermost dimension is blocked). */
export function ggufTensorBytes(type: GgmlType, shape: readonly number[]): number {
  const inner = shape[shape.length - 1] ?? 1;
  const outer = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return outer * ggmlRowBytes(type, inner);
}

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/**
 * The header (everything before the tensor data) and the placement of each tensor.
 *
 * @param metadata key → typed value (`general.alignment` is added)
 * @param tensors the tensors, in file order
 * @returns header bytes (padded to the alignment) and relative data offsets
 * @throws {GgufFormatError} on a duplicate or over-long name, an empty shape, a value out of range
 */
export function encodeGgufHeader(
  metadata: ReadonlyMap<string, GgufValue>,
  tensors: readonly Pick<GgufTensor, "name" | "shape" | "type">[],
): { header: Uint8Array; offsets: number[]; sizes: number[] } {
  const fn = "writeGguf";
  if (metadata.has("general.alignment")) {
    throw new GgufFormatError(`${fn}: Cannot set "general.alignment": the writer owns it (${GGUF_ALIGNMENT})`);
  }
  const kv = new Map<string, GgufValue>(metadata);
  kv.set("general.alignment", { type: "uint32", value: GGUF_ALIGNMENT });
  const out = new ByteSink();
  out.u32(GGUF_MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(tensors.length);
  out.u64(kv.size);
  for (const [key, v] of kv) {
    out.string(key);
    out.u32(GGUF_VALUE_TYPES[v.type]);
    if (v.type !== "array") {
      out.scalar(key, v.type, v.value);
      continue;
    }
    out.u32(GGUF_VALUE_TYPES[v.itemType]);
    out.u64(v.value.length);
    for (const item of v.value) out.scalar(key, v.itemType, item);
  }
  const seen = new Set<string>(), offsets: number[] = [], sizes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    const nameBytes = new TextEncoder().encode(t.name).length;
    if (nameBytes === 0 || nameBytes >= GGML_MAX_NAME || seen.has(t.name)) {
      throw new GgufFormatError(
        `${fn}: Cannot name a tensor "${t.name}": names are unique, 1..${GGML_MAX_NAME - 1} bytes (GGML_MAX_NAME)`,
      );
    }
    if (t.shape.length < 1 || t.shape.length > 4 || t.shape.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new GgufFormatError(`${fn}: Cannot write tensor "${t.name}" of shape [${t.shape}]: 1 to 4 positive dims`);
    }
    seen.add(t.name);
    const size = ggufTensorBytes(t.type, t.shape);
    out.string(t.name);
    out.u32(t.shape.length);
    for (let j = t.shape.length - 1; j >= 0; j--) out.u64(t.shape[j] as number); // ne[0] is innermost
    out.u32(GGML_TYPES[t.type].id);
    out.u64(offset);
    offsets.push(offset);
    sizes.push(size);
    offset = alignUp(offset + size, GGUF_ALIGNMENT);
  }
  out.pad(GGUF_ALIGNMENT);
  return { header: out.view8(), offsets, sizes };
}

/**
 * Writes a GGUF v3 file: metadata, tensor infos and tensor data (see the module doc). The file
 * appears at `path` only when complete (written to a temporary name in the same directory, then
 * renamed).
 *
 * @param path output file
 * @param metadata key → typed value, in the order to write (`general.architecture` first, by convention)
 * @param tensors tensors in file order; lazy `data` functions are called one at a time
 * @returns the file size and where each tensor's data lies
 * @throws {GgufFormatError} on invalid names, shapes or values, or data of the wrong length
 *
 * @example
 * ```ts
 * import { writeGguf } from "./gguf_writer.ts";
 * import { encodeF32 } from "./ggml_blocks.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile({ suffix: ".gguf" });
 * const meta = new Map([["general.architecture", { type: "string" as const, value: "llama" }]]);
 * const r = await writeGguf(path, meta, [{ name: "x", shape: [3], type: "F32", data: encodeF32(new Float32Array(3)) }]);
 * assert.equal(r.dataOffset % 32, 0);
 * assert.equal((await Deno.stat(path)).size, r.bytes);
 * ```
 */
export async function writeGguf(
  path: string,
  metadata: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensor[],
): Promise<GgufWriteResult> {
  const { header, offsets, sizes } = encodeGgufHeader(metadata, tensors);
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  const tmp = await Deno.makeTempFile({ dir, prefix: ".gguf-partial-" });
  const placements: GgufTensorPlacement[] = [];
  try {
    using file = await Deno.open(tmp, { write: true, truncate: true });
    const writeAll = async (b: Uint8Array) => {
      for (let done = 0; done < b.length;) done += await file.write(b.subarray(done));
    };
    await writeAll(header);
    let at = 0;
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i] as GgufTensor, offset = offsets[i] as number, size = sizes[i] as number;
      if (offset > at) await writeAll(new Uint8Array(offset - at)); // alignment padding
      const data = typeof t.data === "function" ? await t.data() : t.data;
      if (data.byteLength !== size) {
        throw new GgufFormatError(
          `writeGguf: Cannot write tensor "${t.name}" (${t.type} [${t.shape}]): got ${data.byteLength} bytes, expected ${size}`,
        );
      }
      await writeAll(data);
      at = offset + size;
      placements.push({ name: t.name, type: t.type, shape: [...t.shape], bytes: size, offset: header.length + offset });
    }
    const end = alignUp(at, GGUF_ALIGNMENT);
    if (end > at) await writeAll(new Uint8Array(end - at));
    await Deno.rename(tmp, path);
    return { bytes: header.length + end, dataOffset: header.length, tensors: placements };
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
