// SPDX-License-Identifier: MIT
/**
 * Writing safetensors files: in memory ({@link encodeSafetensors}), to a file from a record
 * ({@link writeSafetensors}), or streaming one tensor at a time ({@link createSafetensorsWriter})
 * so that a file larger than RAM can be produced. Tensors are laid out back to back in the
 * record's order after a space-padded header, so the data section starts 8-byte aligned.
 *
 * Values are {@link Tensor}s (f32 → F32, f64 → F64, f16 → F16 bits, i8, u8, i32, u32) or
 * {@link RawTensor}s for dtypes without a Tensor dtype (BF16 bits, I64, ...).
 *
 * @module
 */
import { encodeHeader, type RawTensor, SAFETENSORS_DTYPE_OF, type SafetensorsDType } from "./_safetensors_header.ts";
import { formatShape, Tensor } from "./tensor.ts";

/** What can be written: a Tensor, or raw little-endian bytes with a safetensors dtype. */
export type SafetensorsValue = Tensor | RawTensor;

/** The dtype and shape of an entry to be written by a {@link SafetensorsWriter}. */
export interface SafetensorsEntry {
  /** Format dtype, e.g. "F32" or "BF16". */
  dtype: SafetensorsDType;
  /** Dimensions, outermost first. */
  shape: readonly number[];
}

/** A streaming writer: `write` each declared tensor in order, then `close`. */
export interface SafetensorsWriter {
  /** Writes the next tensor; its name, dtype and shape must match the next declared entry. */
  write(name: string, value: SafetensorsValue): Promise<void>;
  /** Closes the file; throws if some declared tensors were never written. */
  close(): Promise<void>;
  /** Closes the file without the completeness check (for `await using` after an error). */
  [Symbol.asyncDispose](): Promise<void>;
}

function entryOf(value: SafetensorsValue): SafetensorsEntry {
  return value instanceof Tensor
    ? { dtype: SAFETENSORS_DTYPE_OF[value.dtype], shape: value.shape }
    : { dtype: value.dtype, shape: value.shape };
}

function bytesOf(value: SafetensorsValue): Uint8Array {
  const d = value.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/**
 * Encodes tensors as an in-memory safetensors file.
 *
 * @param record tensors by name, written in this order
 * @param metadata optional `__metadata__` string map
 * @returns the whole file
 *
 * @example BF16 bits round trip through a RawTensor
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * import assert from "node:assert/strict";
 * const bits = new Uint16Array([0x3f80, 0xc000]); // bf16 1.0, -2.0
 * const bytes = encodeSafetensors({ w: { dtype: "BF16", shape: [2], data: new Uint8Array(bits.buffer) } });
 * const { tensors } = decodeSafetensors(bytes);
 * assert.equal(tensors.w!.dtype, "f32");
 * assert.deepEqual([...tensors.w!.data], [1, -2]);
 * ```
 */
export function encodeSafetensors(
  record: Record<string, SafetensorsValue>,
  metadata?: Record<string, string>,
): Uint8Array {
  const values = Object.entries(record);
  const { header, offsets } = encodeHeader("encodeSafetensors", values.map(([n, v]) => [n, entryOf(v)]), metadata);
  const end = offsets.at(-1)?.[1] ?? 0;
  const out = new Uint8Array(header.length + end);
  out.set(header);
  values.forEach(([name, v], i) => {
    const bytes = checkedBytes("encodeSafetensors", name, v, offsets[i] as [number, number]);
    out.set(bytes, header.length + (offsets[i] as [number, number])[0]);
  });
  return out;
}

/**
 * Writes tensors to a safetensors file, streaming each tensor's bytes (no whole-file buffer).
 *
 * @param path file to create or overwrite
 * @param record tensors by name, written in this order
 * @param metadata optional `__metadata__` string map (e.g. `{ format: "pt" }`)
 */
export async function writeSafetensors(
  path: string,
  record: Record<string, SafetensorsValue>,
  metadata?: Record<string, string>,
): Promise<void> {
  const entries = Object.fromEntries(Object.entries(record).map(([n, v]) => [n, entryOf(v)]));
  const writer = await createSafetensorsWriter(path, entries, metadata);
  try {
    for (const [name, value] of Object.entries(record)) await writer.write(name, value);
  } catch (e) {
    await writer[Symbol.asyncDispose]();
    throw e;
  }
  await writer.close();
}

/**
 * Starts a streaming safetensors file: the header is written from the declared entries, then
 * each `write` appends one tensor, so peak memory is one tensor.
 *
 * @param path file to create or overwrite
 * @param entries dtype and shape of every tensor, in the order they will be written
 * @param metadata optional `__metadata__` string map
 *
 * @example Stream two tensors
 * ```ts
 * import { createSafetensorsWriter, openSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const w = await createSafetensorsWriter(`${dir}/s.safetensors`, {
 *   a: { dtype: "F32", shape: [2] },
 *   b: { dtype: "F32", shape: [2] },
 * });
 * await w.write("a", new Tensor("f32", [2], new Float32Array([1, 2])));
 * await w.write("b", new Tensor("f32", [2], new Float32Array([3, 4])));
 * await w.close();
 * using f = await openSafetensors(`${dir}/s.safetensors`);
 * assert.deepEqual([...(await f.read("b")).data], [3, 4]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function createSafetensorsWriter(
  path: string,
  entries: Record<string, SafetensorsEntry>,
  metadata?: Record<string, string>,
): Promise<SafetensorsWriter> {
  const list = Object.entries(entries);
  const { header, offsets } = encodeHeader("createSafetensorsWriter", list, metadata);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  let next = 0;
  let closed = false;
  const release = () => {
    if (!closed) file.close();
    closed = true;
  };
  try {
    await writeAll(file, header);
  } catch (e) {
    release();
    throw e;
  }
  return {
    async write(name, value) {
      const fn = "SafetensorsWriter.write";
      if (closed) throw new TypeError(`${fn}: Cannot write tensor "${name}": "${path}" is closed`);
      const expected = list[next];
      if (expected === undefined || expected[0] !== name) {
        throw new TypeError(
          `${fn}: Cannot write tensor "${name}" to "${path}": expected ${
            expected ? `"${expected[0]}"` : "no more tensors"
          } (tensors must be written in the declared order)`,
        );
      }
      const got = entryOf(value);
      if (got.dtype !== expected[1].dtype || formatShape(got.shape) !== formatShape(expected[1].shape)) {
        throw new TypeError(
          `${fn}: Cannot write tensor "${name}" to "${path}": got ${got.dtype} ${formatShape(got.shape)}, ` +
            `declared ${expected[1].dtype} ${formatShape(expected[1].shape)}`,
        );
      }
      await writeAll(file, checkedBytes(fn, name, value, offsets[next] as [number, number]));
      next++;
    },
    close() {
      release();
      if (next < list.length) {
        return Promise.reject(
          new RangeError(
            `SafetensorsWriter.close: Cannot finish "${path}": ${list.length - next} of ${list.length} ` +
              `declared tensors were not written (next: "${list[next]?.[0]}")`,
          ),
        );
      }
      return Promise.resolve();
    },
    [Symbol.asyncDispose]() {
      release();
      return Promise.resolve();
    },
  };
}

function checkedBytes(fn: string, name: string, value: SafetensorsValue, [begin, end]: [number, number]): Uint8Array {
  const bytes = bytesOf(value);
  if (bytes.length !== end - begin) {
    throw new RangeError(
      `${fn}: Cannot write tensor "${name}": ${bytes.length} data bytes, but ${entryOf(value).dtype} shape ${
        formatShape(value.shape)
      } needs ${end - begin}`,
    );
  }
  return bytes;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await file.write(bytes.subarray(at));
}
