// SPDX-License-Identifier: MIT
/**
 * Verification of a whole Arrow IPC *file* before apache-arrow parses it (private). apache-arrow
 * 21 trusts the file's flatbuffers: a damaged count makes it loop for minutes, a negative
 * record-batch length gives empty columns, a missing schema gives an empty table. This pass
 * checks what the reader will use, in the order it uses it (`format/File.fbs`, `Message.fbs`,
 * `Columnar.rst` "Encapsulated message format" and "Buffer Listing for Each Layout"):
 *
 * 1. the footer: its length, then the Footer flatbuffer with a schema (`_ipc_schema.ts`);
 * 2. every dictionary and record-batch block: offset, metadata length and body inside the file
 *    and 8-byte aligned, the message prefix matching the block, message version V4/V5, the
 *    expected header type, `bodyLength` equal to the block's;
 * 3. every record batch: `length` in 0..2^31−1, uncompressed, one field node per schema column
 *    (nested children included) with 0 ≤ null_count ≤ length, and one buffer per layout slot,
 *    each 8-byte aligned inside the body and large enough for its node (offsets monotone and
 *    within their data, dictionary indices within their dictionary).
 *
 * With `exactBuffers` (tensor files) a fixed-width value buffer may exceed its need only by the
 * 8-byte padding, and list children hold exactly `length × listSize` values, so a value type
 * flipped to a narrower one (f32 read as f16) is rejected instead of read.
 *
 * @module
 */
import { type Fail, FlatBuffer, type FlatTable, readI64 } from "./_flatbuffer.ts";
import { describeField, type IpcField, keyValues, verifySchema } from "./_ipc_schema.ts";

/** Options of {@link validateIpcFile}. */
export interface ValidateIpcOptions {
  /** Value buffers hold exactly what their nodes need (up to 8-byte padding). */
  exactBuffers?: boolean;
}

/** The largest row count accepted (apache-arrow indexes rows with 32-bit integers). */
const MAX_ROWS = 2 ** 31 - 1;
/** "ARROW1" + 2 padding bytes at the start; int32 footer length + "ARROW1" at the end. */
const HEAD = 8;
const TAIL = 10;
/** Message header union tags (Message.fbs). */
const DICTIONARY_BATCH = 2;
const RECORD_BATCH = 3;
/** MetadataVersion V4 and V5 (apache-arrow cannot read older layouts correctly). */
const V4 = 3;
const V5 = 4;

/**
 * Verifies an Arrow IPC file whose leading and trailing magic were already checked.
 *
 * @param bytes the whole file
 * @param fail throws the caller's typed error naming the field
 * @param options `exactBuffers` for tensor files
 */
export function validateIpcFile(bytes: Uint8Array, fail: Fail, options: ValidateIpcOptions = {}): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const footerEnd = bytes.length - TAIL;
  const footerLength = view.getInt32(footerEnd, true);
  if (footerLength < 8 || footerLength > footerEnd - HEAD) {
    fail("footer length", `is ${footerLength}, expected 8..${footerEnd - HEAD} (the bytes between the magics)`);
  }
  const dataEnd = footerEnd - footerLength;
  const footer = new FlatBuffer(bytes.subarray(dataEnd, footerEnd), fail).root("footer");
  footer.i16(0, "version");
  const schema = footer.table(1, "schema");
  if (schema === undefined) return fail("footer.schema", "is missing, expected the file's schema");
  const fields = verifySchema(schema);
  keyValues(footer, 4, "custom_metadata");
  const file: FileContext = { bytes, view, dataEnd, fail, exact: options.exactBuffers ?? false };
  const dictionaryFields = new Map<number, IpcField>();
  const collect = (f: IpcField) => {
    if (f.dictionaryId !== undefined) dictionaryFields.set(f.dictionaryId, f);
    f.children.forEach(collect);
  };
  fields.forEach(collect);
  const dictionaryLengths = new Map<number, number>();
  blocks(footer, 2, "dictionaries").forEach((at, k) => {
    const path = `footer.dictionaries[${k}]`;
    const { header, body } = readMessage(file, footer.fb, at, DICTIONARY_BATCH, path);
    const id = header.i64(0, "id");
    const field = dictionaryFields.get(id);
    if (field === undefined) fail(`${path}.id`, `is ${id}, which no schema field uses`);
    if (dictionaryLengths.has(id)) fail(`${path}.id`, `${id} has a second dictionary batch, expected one`);
    if (header.u8(2, "isDelta") !== 0) fail(`${path}.isDelta`, "is set; delta dictionaries are not supported");
    const data = header.table(1, "data");
    if (data === undefined) return fail(`${path}.data`, "is missing, expected the dictionary's record batch");
    const values: IpcField = { ...field, layout: field.valueLayout, note: " (dictionary values)" };
    delete values.dictionaryId;
    dictionaryLengths.set(id, recordBatch(file, data, [values], body, dictionaryLengths));
  });
  for (const id of dictionaryFields.keys()) {
    if (!dictionaryLengths.has(id)) fail("footer.dictionaries", `has no batch for dictionary id ${id}`);
  }
  blocks(footer, 3, "recordBatches").forEach((at, k) => {
    const { header, body } = readMessage(file, footer.fb, at, RECORD_BATCH, `footer.recordBatches[${k}]`);
    recordBatch(file, header, fields, body, dictionaryLengths);
  });
}

interface FileContext {
  bytes: Uint8Array;
  view: DataView;
  /** Where the footer starts: messages must end before it. */
  dataEnd: number;
  fail: Fail;
  exact: boolean;
}

/** A message body: its absolute start in the file and its length. */
interface Body {
  start: number;
  length: number;
  path: string;
}

/** Positions (in the footer flatbuffer) of the 24-byte `Block` structs of a vector field. */
function blocks(footer: FlatTable, i: number, name: string): number[] {
  const { start, length } = footer.vector(i, name, 24);
  return Array.from({ length }, (_, k) => start + 24 * k);
}

/** Verifies the block at `at` and its message; returns the message header table and the body. */
function readMessage(
  file: FileContext,
  footerFb: FlatBuffer,
  at: number,
  type: number,
  path: string,
): { header: FlatTable; body: Body } {
  const { view, fail } = file;
  const offset = readI64(footerFb, at, () => `${path}.offset`);
  const metaLength = footerFb.view.getInt32(at + 8, true);
  const bodyLength = readI64(footerFb, at + 16, () => `${path}.bodyLength`);
  if (offset < HEAD || offset % 8 !== 0) fail(`${path}.offset`, `is ${offset}, expected a multiple of 8 >= ${HEAD}`);
  if (metaLength < 8 || metaLength % 8 !== 0) fail(`${path}.metaDataLength`, `is ${metaLength}, expected 8k >= 8`);
  if (bodyLength < 0 || bodyLength % 8 !== 0) fail(`${path}.bodyLength`, `is ${bodyLength}, expected 8k >= 0`);
  if (offset + metaLength + bodyLength > file.dataEnd) {
    fail(path, `spans bytes ${offset}..${offset + metaLength + bodyLength}, past the footer at ${file.dataEnd}`);
  }
  // Encapsulated message: 0xFFFFFFFF, int32 length, flatbuffer (pre-0.15 files omit the marker).
  const marked = view.getUint32(offset, true) === 0xffffffff;
  const prefix = marked ? 8 : 4;
  const length = view.getInt32(offset + prefix - 4, true);
  if (length <= 0 || prefix + length !== metaLength) {
    fail(`${path} message length`, `is ${length}, expected ${metaLength - prefix} (the block's metaDataLength)`);
  }
  const start = offset + prefix;
  const message = new FlatBuffer(file.bytes.subarray(start, start + length), fail).root(`${path} message`);
  const version = message.i16(0, "version");
  if (version !== V4 && version !== V5) fail(`${message.path}.version`, `is ${version}, expected V4 or V5 (3 or 4)`);
  const tag = message.u8(1, "header_type");
  if (tag !== type) fail(`${message.path}.header_type`, `is ${tag}, expected ${type}`);
  const header = message.table(2, "header");
  if (header === undefined) return fail(`${message.path}.header`, "is missing");
  const declared = message.i64(3, "bodyLength");
  if (declared !== bodyLength) fail(`${message.path}.bodyLength`, `is ${declared}, the block says ${bodyLength}`);
  keyValues(message, 4, "custom_metadata");
  return { header, body: { start: offset + metaLength, length: bodyLength, path } };
}

/** Walks a `RecordBatch` against the fields; returns its length. */
function recordBatch(
  file: FileContext,
  rb: FlatTable,
  fields: IpcField[],
  body: Body,
  dictionaryLengths: ReadonlyMap<number, number>,
): number {
  const { fail } = file;
  const length = rb.i64(0, "length");
  if (length < 0 || length > MAX_ROWS) fail(`${rb.path}.length`, `is ${length}, expected 0..${MAX_ROWS}`);
  if (rb.table(3, "compression") !== undefined) {
    fail(`${rb.path}.compression`, "is set; compressed record batches are not supported");
  }
  if (rb.vector(4, "variadicBufferCounts", 8).length !== 0) {
    fail(`${rb.path}.variadicBufferCounts`, "is not empty; view types are not supported");
  }
  const walk = new BatchWalk(file, rb, body, dictionaryLengths);
  for (const f of fields) walk.column(f, length, true);
  walk.done();
  return length;
}

/** Consumes field nodes and buffers in schema order (depth first), checking each against its layout. */
class BatchWalk {
  private readonly nodes: { start: number; length: number };
  private readonly buffers: { start: number; length: number };
  private node = 0;
  private buffer = 0;

  constructor(
    private readonly file: FileContext,
    private readonly rb: FlatTable,
    private readonly body: Body,
    private readonly dictionaryLengths: ReadonlyMap<number, number>,
  ) {
    this.nodes = rb.vector(1, "nodes", 16);
    this.buffers = rb.vector(2, "buffers", 16);
  }

  /** Checks one column of `expected` rows (exactly, or at least when a parent allows slack). */
  column(f: IpcField, expected: number, exact: boolean): void {
    const k = this.node;
    // Messages are built only on failure: this runs once per column of every batch.
    const path = () => `${this.rb.path}.nodes[${k}] (${describeField(f)})`;
    const fail = (where: string, why: string): never => this.file.fail(`${path()}${where}`, why);
    if (k >= this.nodes.length) this.file.fail(`${this.rb.path}.nodes`, `has ${this.nodes.length} entries, too few`);
    const at = this.nodes.start + 16 * this.node++;
    const length = readI64(this.rb.fb, at, () => `${path()}.length`);
    const nulls = readI64(this.rb.fb, at + 8, () => `${path()}.null_count`);
    if (length < 0 || length > MAX_ROWS) fail(`.length`, `is ${length}, expected 0..${MAX_ROWS}`);
    if (nulls < 0 || nulls > length) fail(`.null_count`, `is ${nulls}, expected 0..${length}`);
    if (exact ? length !== expected : length < expected) {
      fail(`.length`, `is ${length}, expected ${exact ? "" : "at least "}${expected}`);
    }
    const L = f.layout;
    if (L.kind === "null") return;
    const validity = this.next(path, "validity");
    if (nulls > 0 && validity.length < Math.ceil(length / 8)) {
      fail(" validity buffer", `has ${validity.length} bytes, expected ${Math.ceil(length / 8)}`);
    }
    const strict = this.file.exact;
    if (L.kind === "bits") {
      this.atLeast(this.next(path, "values"), Math.ceil(length / 8), path, false);
    } else if (L.kind === "fixed") {
      const values = this.next(path, "values");
      this.atLeast(values, length * L.width, path, strict);
      if (f.dictionaryId !== undefined) this.indices(f, values, validity, length, nulls > 0, L.width, path);
    } else if (L.kind === "binary") {
      const offsets = this.next(path, "offsets");
      const data = this.next(path, "data");
      const last = this.offsets(offsets, length, L.offsetWidth, path);
      if (last > data.length) fail(" data buffer", `has ${data.length} bytes, the offsets reach ${last}`);
    } else if (L.kind === "list") {
      const last = this.offsets(this.next(path, "offsets"), length, L.offsetWidth, path);
      this.column(f.children[0] as IpcField, last, false);
    } else if (L.kind === "fixedList") {
      this.column(f.children[0] as IpcField, length * L.listSize, strict);
    } else {
      for (const c of f.children) this.column(c, length, strict);
    }
  }

  /** Every node and buffer was used. */
  done(): void {
    const { fail } = this.file;
    if (this.node !== this.nodes.length) {
      fail(`${this.rb.path}.nodes`, `has ${this.nodes.length} entries, the schema needs ${this.node}`);
    }
    if (this.buffer !== this.buffers.length) {
      fail(`${this.rb.path}.buffers`, `has ${this.buffers.length} entries, the schema needs ${this.buffer}`);
    }
  }

  /** The next buffer: 8-byte aligned and inside the body; absolute start and length. */
  private next(path: () => string, role: string): { start: number; length: number } {
    const { fail } = this.file;
    const k = this.buffer++;
    const where = () => `${this.rb.path}.buffers[${k}] (${role} of ${path()})`;
    if (k >= this.buffers.length) fail(`${this.rb.path}.buffers`, `has ${this.buffers.length} entries, too few`);
    const at = this.buffers.start + 16 * k;
    const offset = readI64(this.rb.fb, at, () => `${where()}.offset`);
    const length = readI64(this.rb.fb, at + 8, () => `${where()}.length`);
    if (offset < 0 || offset % 8 !== 0 || length < 0 || offset + length > this.body.length) {
      fail(
        where(),
        `is bytes ${offset}..${offset + length}, expected 8-aligned within the ${this.body.length}-byte body`,
      );
    }
    return { start: this.body.start + offset, length };
  }

  private atLeast(buf: { length: number }, need: number, path: () => string, exact: boolean): void {
    const padded = Math.ceil(need / 8) * 8;
    if (buf.length < need || (exact && buf.length > padded)) {
      this.file.fail(
        `${path()} values buffer`,
        `has ${buf.length} bytes, expected ${exact ? `${need}..${padded}` : `at least ${need}`} (a wrong value type?)`,
      );
    }
  }

  /** Offsets are non-negative and non-decreasing; returns the last one. */
  private offsets(buf: { start: number; length: number }, length: number, width: 4 | 8, path: () => string): number {
    const { fail, view } = this.file;
    if (length === 0 && buf.length === 0) return 0;
    if (buf.length < (length + 1) * width) {
      fail(`${path()} offsets buffer`, `has ${buf.length} bytes, expected ${(length + 1) * width}`);
    }
    let prev = 0;
    for (let i = 0; i <= length; i++) {
      const at = buf.start + i * width;
      const v = width === 4 ? view.getInt32(at, true) : Number(view.getBigInt64(at, true));
      if (v < prev || v > MAX_ROWS * 2) fail(`${path()} offsets buffer`, `offset ${i} is ${v}, after ${prev}`);
      prev = v;
    }
    return prev;
  }

  /** Dictionary indices (of valid slots) lie within the dictionary. */
  private indices(
    f: IpcField,
    values: { start: number },
    validity: { start: number },
    length: number,
    hasNulls: boolean,
    width: number,
    path: () => string,
  ): void {
    const { view, bytes, fail } = this.file;
    const size = this.dictionaryLengths.get(f.dictionaryId as number) ?? 0;
    for (let i = 0; i < length; i++) {
      if (hasNulls && ((bytes[validity.start + (i >> 3)] as number) & (1 << (i & 7))) === 0) continue;
      const at = values.start + i * width;
      // Read unsigned: a negative signed index then shows up as too large.
      const v = width === 1
        ? view.getUint8(at)
        : width === 2
        ? view.getUint16(at, true)
        : width === 4
        ? view.getUint32(at, true)
        : Number(view.getBigUint64(at, true));
      if (v < 0 || v >= size) fail(`${path()} dictionary index ${i}`, `is ${v}, expected 0..${size - 1}`);
    }
  }
}
