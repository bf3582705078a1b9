// SPDX-License-Identifier: MIT
/**
 * The safetensors header (huggingface/safetensors `docs/source/index.mdx`, "Format"): an 8-byte
 * little-endian u64 `N`, then `N` bytes of UTF-8 JSON `{name: {dtype, shape, data_offsets},
 * "__metadata__"?: {string: string}}`, then the data section. `data_offsets` are `[begin, end)`
 * byte offsets relative to the start of the data section. Writers pad the JSON with spaces so the
 * data section starts 8-byte aligned.
 *
 * Validation policy: unknown dtypes, spans that disagree with `shape × dtype size`, offsets past
 * the end of the file and overlapping tensors are rejected. **Holes** (bytes of the data section
 * no tensor covers, including trailing bytes) are allowed: the reference Rust reader rejects
 * them, but they are harmless for offset-based reads and some writers align tensors that way.
 *
 * @module
 */
import { type DType, formatShape, shapeSize } from "./tensor.ts";

/** Element sizes in bytes of the safetensors dtypes quantlab recognises. */
export const SAFETENSORS_DTYPE_SIZES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

/** A dtype string of the safetensors format. */
export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPE_SIZES;

/** The safetensors dtype written for each tensor dtype. */
export const SAFETENSORS_DTYPE_OF: Readonly<Record<DType, SafetensorsDType>> = {
  f32: "F32",
  f64: "F64",
  f16: "F16",
  i8: "I8",
  u8: "U8",
  i32: "I32",
  u32: "U32",
};

/** Headers larger than this are refused (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's header entry. */
export interface SafetensorsInfo {
  /** Format dtype, e.g. "F32" or "BF16". */
  dtype: SafetensorsDType;
  /** Dimensions, outermost first. */
  shape: readonly number[];
  /** Bytes of data: `shapeSize(shape) × element size`. */
  byteLength: number;
  /** `[begin, end)` relative to the data section. */
  dataOffsets: readonly [number, number];
}

/** Raw bytes of one tensor in its safetensors dtype (for dtypes without a Tensor dtype, e.g. BF16 bits). */
export interface RawTensor {
  /** Format dtype, e.g. "F32" or "BF16". */
  dtype: SafetensorsDType;
  /** Dimensions, outermost first. */
  shape: readonly number[];
  /** `byteLength` bytes, little-endian. */
  data: Uint8Array;
}

/** A parsed and validated header. */
export interface ParsedHeader {
  tensors: Map<string, SafetensorsInfo>;
  metadata: Record<string, string>;
  /** Absolute file offset of the data section: `8 + N`. */
  dataStart: number;
}

/** Reads and bounds-checks the header length `N` from the first 8 bytes. */
export function readHeaderLength(fail: (why: string) => string, first8: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || first8.length < 8) {
    throw new RangeError(fail(`the file is ${fileSize} bytes, too short for the 8-byte header length`));
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new RangeError(fail(`header length ${n} is absurd (> ${MAX_HEADER_BYTES} bytes): not a safetensors file?`));
  }
  if (n > BigInt(fileSize - 8)) {
    throw new RangeError(
      fail(`header length ${n} exceeds the ${fileSize - 8} bytes after the length field: the file is truncated`),
    );
  }
  return Number(n);
}

/**
 * Parses the JSON header and validates every entry against the data section size.
 *
 * @param fail formats a message prefix naming the function and the path
 * @param json the `N` header bytes
 * @param dataSize bytes after the header (`fileSize - 8 - N`)
 */
export function parseHeader(fail: (why: string) => string, json: Uint8Array, dataSize: number): ParsedHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json));
  } catch (cause) {
    throw new TypeError(fail(`the ${json.length}-byte header is not valid JSON`), { cause });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new TypeError(fail(`the header is ${Array.isArray(raw) ? "an array" : String(raw)}, expected a JSON object`));
  }
  const tensors = new Map<string, SafetensorsInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(raw)) {
    if (name === "__metadata__") {
      metadata = checkMetadata(fail, entry);
      continue;
    }
    tensors.set(name, checkEntry((why) => fail(`tensor "${name}": ${why}`), entry, dataSize));
  }
  // Overlap check: sort non-empty spans by begin; each must start at or after the previous end.
  const spans = [...tensors].filter(([, i]) => i.byteLength > 0).sort((a, b) =>
    a[1].dataOffsets[0] - b[1].dataOffsets[0]
  );
  for (let k = 1; k < spans.length; k++) {
    const [pn, p] = spans[k - 1] as [string, SafetensorsInfo];
    const [cn, c] = spans[k] as [string, SafetensorsInfo];
    if (c.dataOffsets[0] < p.dataOffsets[1]) {
      throw new RangeError(
        fail(`tensors "${pn}" [${p.dataOffsets.join(", ")}) and "${cn}" [${c.dataOffsets.join(", ")}) overlap`),
      );
    }
  }
  return { tensors, metadata, dataStart: 8 + json.length };
}

function checkMetadata(fail: (why: string) => string, entry: unknown): Record<string, string> {
  if (
    typeof entry !== "object" || entry === null || Array.isArray(entry) ||
    !Object.values(entry).every((v) => typeof v === "string")
  ) {
    throw new TypeError(fail(`"__metadata__" must be an object of strings, got ${JSON.stringify(entry)}`));
  }
  return { ...(entry as Record<string, string>) };
}

function checkEntry(fail: (why: string) => string, entry: unknown, dataSize: number): SafetensorsInfo {
  if (typeof entry !== "object" || entry === null) {
    throw new TypeError(fail(`entry ${JSON.stringify(entry)} is not an object`));
  }
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== "string" || !Object.hasOwn(SAFETENSORS_DTYPE_SIZES, dtype)) {
    throw new TypeError(
      fail(`unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(SAFETENSORS_DTYPE_SIZES).join(", ")})`),
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new TypeError(fail(`shape ${JSON.stringify(shape)} is not an array of non-negative integers`));
  }
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
  ) {
    throw new TypeError(fail(`data_offsets ${JSON.stringify(offsets)} is not a [begin, end) pair with begin <= end`));
  }
  const [begin, end] = offsets as [number, number];
  const elementSize = SAFETENSORS_DTYPE_SIZES[dtype as SafetensorsDType];
  const byteLength = shapeSize(shape) * elementSize;
  if (byteLength !== end - begin) {
    throw new RangeError(
      fail(
        `shape ${formatShape(shape)} × ${elementSize} bytes (${dtype}) = ${byteLength} bytes, ` +
          `but data_offsets [${begin}, ${end}) span ${end - begin} bytes`,
      ),
    );
  }
  if (end > dataSize) {
    throw new RangeError(
      fail(`data_offsets [${begin}, ${end}) lie outside the ${dataSize}-byte data section: the file is truncated`),
    );
  }
  return { dtype: dtype as SafetensorsDType, shape: Object.freeze([...shape]), byteLength, dataOffsets: [begin, end] };
}

/**
 * Builds the padded header bytes (length prefix included) for entries laid out back to back in
 * iteration order.
 *
 * @returns the header bytes and the `[begin, end)` offsets of each entry
 */
export function encodeHeader(
  fn: string,
  entries: ReadonlyArray<readonly [string, { dtype: SafetensorsDType; shape: readonly number[] }]>,
  metadata: Record<string, string> | undefined,
): { header: Uint8Array; offsets: [number, number][] } {
  const json: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new TypeError(`${fn}: Cannot write metadata "${k}": values must be strings, got ${typeof v}`);
      }
    }
    json.__metadata__ = metadata;
  }
  const offsets: [number, number][] = [];
  let at = 0;
  for (const [name, { dtype, shape }] of entries) {
    if (name === "__metadata__") {
      throw new TypeError(`${fn}: Cannot write a tensor named "__metadata__": the name is reserved`);
    }
    if (!Object.hasOwn(SAFETENSORS_DTYPE_SIZES, dtype)) {
      throw new TypeError(`${fn}: Cannot write tensor "${name}": unknown dtype "${dtype}"`);
    }
    const end = at + shapeSize(shape) * SAFETENSORS_DTYPE_SIZES[dtype];
    offsets.push([at, end]);
    json[name] = { dtype, shape: [...shape], data_offsets: [at, end] };
    at = end;
  }
  const text = new TextEncoder().encode(JSON.stringify(json));
  const n = Math.ceil(text.length / 8) * 8; // pad with spaces so the data section is 8-byte aligned
  const header = new Uint8Array(8 + n).fill(0x20, 8 + text.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(n), true);
  header.set(text, 8);
  return { header, offsets };
}
