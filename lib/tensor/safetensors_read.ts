// SPDX-License-Identifier: MIT
/**
 * Reading safetensors files lazily: {@link openSafetensors} reads only the 8-byte length and the
 * JSON header, validates it, and then reads each tensor on demand by byte offset (seek + read on
 * one file handle), so a checkpoint larger than RAM can be processed one tensor at a time.
 *
 * dtype mapping on {@link SafetensorsFile.read}: F32, F64, F16 (raw bits), I8, U8, I32, U32 map
 * to the same Tensor dtype; BF16 is widened exactly to f32; BOOL becomes u8 (0/1). The other
 * format dtypes (I16, U16, I64, U64, F8_*) and BF16 *bits* are available through
 * {@link SafetensorsFile.readRaw}. The data is little-endian, as on every platform Deno runs on.
 *
 * @module
 */
import {
  type ParsedHeader,
  parseHeader,
  type RawTensor,
  readHeaderLength,
  SAFETENSORS_DTYPE_SIZES,
  type SafetensorsInfo,
} from "./_safetensors_header.ts";
import { formatShape, shapeSize, Tensor } from "./tensor.ts";

/**
 * An open safetensors file: names and header entries are known, tensor data is read on demand.
 * Create with {@link openSafetensors}; close with `close()` or `using`.
 */
export class SafetensorsFile {
  /** Path the file was opened from. */
  readonly path: string;
  /** Tensor names in header order. */
  readonly names: readonly string[];
  /** The `__metadata__` string map ({} when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  #file: Deno.FsFile | null;
  #header: ParsedHeader;
  // seek + read on one handle must not interleave, so reads run one after another.
  #queue: Promise<unknown> = Promise.resolve();

  /** Use {@link openSafetensors}; this wraps an already validated header. */
  constructor(path: string, file: Deno.FsFile, header: ParsedHeader) {
    this.path = path;
    this.#file = file;
    this.#header = header;
    this.names = Object.freeze([...header.tensors.keys()]);
    this.metadata = Object.freeze(header.metadata);
  }

  /** Whether the file holds a tensor called `name`. */
  has(name: string): boolean {
    return this.#header.tensors.has(name);
  }

  /** Header entry of `name`: dtype, shape, byteLength and data offsets (no I/O). */
  info(name: string): SafetensorsInfo {
    const info = this.#header.tensors.get(name);
    if (info === undefined) {
      throw new RangeError(
        `SafetensorsFile.info: Cannot find tensor "${name}" in "${this.path}" (${this.names.length} tensors)`,
      );
    }
    return info;
  }

  /** Reads the raw little-endian bytes of `name` (any dtype, e.g. BF16 bits) by offset. */
  readRaw(name: string): Promise<RawTensor> {
    const info = this.info(name);
    const run = this.#queue.then(async () => {
      const file = this.#file;
      if (file === null) throw new TypeError(`SafetensorsFile.read: Cannot read "${name}": "${this.path}" is closed`);
      const data = new Uint8Array(info.byteLength);
      const at = this.#header.dataStart + info.dataOffsets[0];
      await file.seek(at, Deno.SeekMode.Start);
      await readFull(
        file,
        data,
        () =>
          `SafetensorsFile.read: Cannot read tensor "${name}" (${info.byteLength} bytes at offset ${at}) from "${this.path}": unexpected end of file (was it truncated after opening?)`,
      );
      return { dtype: info.dtype, shape: info.shape, data };
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Reads `name` as a Tensor (BF16 → f32, BOOL → u8); only this tensor's bytes are read. */
  async read(name: string): Promise<Tensor> {
    return rawToTensor(
      `SafetensorsFile.read: Cannot read tensor "${name}" from "${this.path}"`,
      await this.readRaw(name),
    );
  }

  /** Closes the file handle; later reads fail. Idempotent. */
  close(): void {
    this.#file?.close();
    this.#file = null;
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Opens a safetensors file, reading and validating only its header.
 *
 * @param path the `.safetensors` file
 * @returns a handle whose `read(name)` loads one tensor by offset
 * @throws RangeError for a truncated file, an absurd header length, mismatched or overlapping
 *   offsets; TypeError for invalid JSON, a non-object header, an unknown dtype
 *
 * @example Lazy read of one tensor
 * ```ts
 * import { openSafetensors, writeSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await writeSafetensors(`${dir}/m.safetensors`, {
 *   a: new Tensor("f32", [2, 2], new Float32Array([1, 2, 3, 4])),
 *   b: new Tensor("i8", [3], new Int8Array([-1, 0, 1])),
 * }, { format: "pt" });
 * using f = await openSafetensors(`${dir}/m.safetensors`);
 * assert.deepEqual(f.names, ["a", "b"]);
 * assert.deepEqual(f.info("b").shape, [3]);
 * assert.deepEqual([...(await f.read("b")).data], [-1, 0, 1]);
 * assert.equal(f.metadata.format, "pt");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  const fail = (why: string) => `openSafetensors: Cannot open "${path}": ${why}`;
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    const first8 = new Uint8Array(Math.min(8, size));
    await readFull(file, first8, () => fail("unexpected end of file in the header length"));
    const n = readHeaderLength(fail, first8, size);
    const json = new Uint8Array(n);
    await readFull(file, json, () => fail(`unexpected end of file in the ${n}-byte header`));
    return new SafetensorsFile(path, file, parseHeader(fail, json, size - 8 - n));
  } catch (e) {
    file.close();
    throw e;
  }
}

/**
 * Decodes an in-memory safetensors file (no file system), with the same validation.
 *
 * @param bytes the whole file
 * @returns tensors by name (they view `bytes` where aligned, else copy) and the metadata map
 *
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeSafetensors({ x: new Tensor("u32", [2], new Uint32Array([7, 9])) });
 * const { tensors } = decodeSafetensors(bytes);
 * assert.deepEqual([...tensors.x!.data], [7, 9]);
 * ```
 */
export function decodeSafetensors(
  bytes: Uint8Array,
): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const fail = (why: string) => `decodeSafetensors: Cannot decode ${bytes.length} bytes: ${why}`;
  const n = readHeaderLength(fail, bytes.subarray(0, 8), bytes.length);
  const header = parseHeader(fail, bytes.subarray(8, 8 + n), bytes.length - 8 - n);
  const tensors: Record<string, Tensor> = {};
  for (const [name, info] of header.tensors) {
    const begin = header.dataStart + info.dataOffsets[0];
    const data = bytes.subarray(begin, begin + info.byteLength);
    tensors[name] = rawToTensor(`decodeSafetensors: Cannot decode tensor "${name}"`, {
      dtype: info.dtype,
      shape: info.shape,
      data,
    });
  }
  return { tensors, metadata: header.metadata };
}

/**
 * Converts raw safetensors bytes to a Tensor: a zero-copy view when aligned, BF16 widened to f32.
 *
 * @param context message prefix naming the function, tensor and file
 */
export function rawToTensor(context: string, raw: RawTensor): Tensor {
  const { dtype, shape, data } = raw;
  const n = shapeSize(shape);
  if (data.byteLength !== n * SAFETENSORS_DTYPE_SIZES[dtype]) {
    throw new RangeError(`${context}: ${data.byteLength} bytes do not hold ${dtype} shape ${formatShape(shape)}`);
  }
  const size = SAFETENSORS_DTYPE_SIZES[dtype];
  // Typed arrays need aligned offsets; copy the rare misaligned input into a fresh buffer.
  const bytes = data.byteOffset % size === 0 ? data : data.slice();
  const { buffer, byteOffset } = bytes;
  switch (dtype) {
    case "F32":
      return new Tensor("f32", shape, new Float32Array(buffer, byteOffset, n));
    case "F64":
      return new Tensor("f64", shape, new Float64Array(buffer, byteOffset, n));
    case "F16":
      return new Tensor("f16", shape, new Uint16Array(buffer, byteOffset, n));
    case "I8":
      return new Tensor("i8", shape, new Int8Array(buffer, byteOffset, n));
    case "U8":
    case "BOOL":
      return new Tensor("u8", shape, new Uint8Array(buffer, byteOffset, n));
    case "I32":
      return new Tensor("i32", shape, new Int32Array(buffer, byteOffset, n));
    case "U32":
      return new Tensor("u32", shape, new Uint32Array(buffer, byteOffset, n));
    case "BF16": {
      // bf16 is the top half of an f32: widening by a 16-bit shift is exact (NaN payloads kept).
      const bits = new Uint16Array(buffer, byteOffset, n);
      const wide = new Uint32Array(n);
      for (let i = 0; i < n; i++) wide[i] = (bits[i] as number) << 16;
      return new Tensor("f32", shape, new Float32Array(wide.buffer));
    }
    default:
      throw new TypeError(
        `${context}: dtype ${dtype} has no Tensor dtype (supported: F32, F64, F16, BF16, I8, U8, BOOL, I32, U32); ` +
          `use readRaw() for its bytes`,
      );
  }
}

async function readFull(file: Deno.FsFile, into: Uint8Array, eof: () => string): Promise<void> {
  let at = 0;
  while (at < into.length) {
    const got = await file.read(into.subarray(at));
    if (got === null) throw new RangeError(eof());
    at += got;
  }
}
