// SPDX-License-Identifier: MIT
/**
 * A bounds-checking FlatBuffers reader (private), the part of the FlatBuffers verifier
 * (`flatbuffers/verifier.h`) that Arrow IPC metadata needs: every table's vtable, every field,
 * string and vector is checked to lie inside the buffer *before* it is read, so a damaged count
 * (a vector "length" of 2·10⁹) is rejected instead of looped over. Depth and the number of
 * tables visited are capped like the C++ verifier's `max_depth` (64) and `max_tables` (10⁶), so
 * shared sub-tables cannot make verification exponential.
 *
 * Layout reminders: a table starts with an i32 offset back to its vtable; the vtable holds
 * u16 vtable size, u16 table size, then one u16 offset per field (0 = absent); offsets to
 * tables, strings and vectors are u32, relative to where they are stored; vectors and strings
 * start with a u32 element count (strings end with a NUL byte).
 *
 * @module
 */

/** Throws with the failing field's path and what was expected. */
export type Fail = (field: string, why: string) => never;

/** One decoder for every string (constructing one per call dominated the verification time). */
const UTF8 = new TextDecoder();

/** Same limits as the FlatBuffers C++ verifier's defaults. */
const MAX_DEPTH = 64;
const MAX_TABLES = 1_000_000;

/** One flatbuffer: a byte range and the counters shared by the tables read from it. */
export class FlatBuffer {
  readonly view: DataView;
  tables = 0;

  /**
   * @param bytes the whole flatbuffer (its first u32 is the root table offset)
   * @param fail throws the caller's typed error
   */
  constructor(readonly bytes: Uint8Array, readonly fail: Fail) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The root table, verified. */
  root(path: string): FlatTable {
    if (this.bytes.length < 8) this.fail(path, `is ${this.bytes.length} bytes, expected at least 8`);
    return this.tableAt(this.view.getUint32(0, true), null, path, -1);
  }

  /**
   * Verifies the table at `pos` (its vtable and size) and wraps it. Its path (for messages) is
   * the parent's path + `.name` (+ `[index]`), built only when something fails: verifying a
   * schema of thousands of fields must not spend its time concatenating strings.
   */
  tableAt(pos: number, parent: FlatTable | null, name: string, index: number): FlatTable {
    const n = this.bytes.length;
    const depth = parent === null ? 0 : parent.depth + 1;
    // One branch for the hot path; the messages are worked out only once something is wrong.
    const vt = pos % 4 === 0 && pos + 4 <= n ? pos - this.view.getInt32(pos, true) : -1;
    const vsize = vt >= 0 && vt % 2 === 0 && vt + 4 <= n ? this.view.getUint16(vt, true) : 0;
    const tsize = vsize > 0 ? this.view.getUint16(vt + 2, true) : 0;
    if (
      depth > MAX_DEPTH || ++this.tables > MAX_TABLES || vsize < 4 || vsize % 2 !== 0 || vt + vsize > n ||
      tsize < 4 || pos + tsize > n
    ) {
      this.fail(joinPath(parent, name, index), tableProblem(this, pos, depth));
    }
    return new FlatTable(this, pos, vt, vsize, tsize, parent, name, index, depth);
  }

  /** Verifies the vector whose u32 offset is stored at `at` (field `name` of `owner`): first element, count. */
  vectorAt(at: number, elemSize: number, owner: FlatTable, name: string): { start: number; length: number } {
    const n = this.bytes.length;
    const pos = at + this.view.getUint32(at, true);
    if (pos % 4 !== 0 || pos + 4 > n) {
      this.fail(`${owner.path}.${name}`, `vector offset ${pos} is unaligned or outside 0..${n - 4}`);
    }
    const length = this.view.getUint32(pos, true);
    const room = n - pos - 4;
    if (length * elemSize > room) {
      this.fail(
        `${owner.path}.${name}`,
        `has ${length} entries of ${elemSize} bytes, expected at most ${Math.floor(room / elemSize)}`,
      );
    }
    return { start: pos + 4, length };
  }
}

/** Why the table at `pos` does not verify (the slow path of {@link FlatBuffer.tableAt}). */
function tableProblem(fb: FlatBuffer, pos: number, depth: number): string {
  const n = fb.bytes.length;
  if (depth > MAX_DEPTH) return `is nested ${depth} tables deep, expected at most ${MAX_DEPTH}`;
  if (fb.tables > MAX_TABLES) return `is table number ${fb.tables}, expected at most ${MAX_TABLES}`;
  if (pos % 4 !== 0 || pos + 4 > n) return `table offset ${pos} is unaligned or outside 0..${n - 4}`;
  const vt = pos - fb.view.getInt32(pos, true);
  if (vt < 0 || vt % 2 !== 0 || vt + 4 > n) return `vtable offset ${vt} is unaligned or outside 0..${n - 4}`;
  const vsize = fb.view.getUint16(vt, true), tsize = fb.view.getUint16(vt + 2, true);
  if (vsize < 4 || vsize % 2 !== 0 || vt + vsize > n) {
    return `vtable size ${vsize} at ${vt} is odd, < 4 or runs past the ${n}-byte buffer`;
  }
  return `table size ${tsize} at ${pos} runs past the ${n}-byte buffer`;
}

function joinPath(parent: FlatTable | null, name: string, index: number): string {
  const own = index >= 0 ? `${name}[${index}]` : name;
  return parent === null ? own : `${parent.path}.${own}`;
}

/** A verified table: typed, bounds-checked field accessors (`i` is the field's index in the schema). */
export class FlatTable {
  constructor(
    readonly fb: FlatBuffer,
    readonly pos: number,
    readonly vt: number,
    readonly vsize: number,
    readonly tsize: number,
    readonly parent: FlatTable | null,
    readonly name: string,
    readonly index: number,
    readonly depth: number,
  ) {}

  /** Where this table is, e.g. `footer.schema.fields[3]` (computed on demand, for messages). */
  get path(): string {
    return joinPath(this.parent, this.name, this.index);
  }

  /** Absolute position of field `i` (0 when absent), checked to hold `size` bytes inside the table. */
  field(i: number, size: number, name: string): number {
    const slot = 4 + 2 * i;
    if (slot + 2 > this.vsize) return 0;
    const off = this.fb.view.getUint16(this.vt + slot, true);
    if (off === 0) return 0;
    if (off + size > this.tsize) {
      this.fb.fail(`${this.path}.${name}`, `field at +${off} (${size} bytes) runs past the ${this.tsize}-byte table`);
    }
    return this.pos + off;
  }

  /** An unsigned byte field (also bools and union type tags). */
  u8(i: number, name: string, fallback = 0): number {
    const at = this.field(i, 1, name);
    return at === 0 ? fallback : this.fb.view.getUint8(at);
  }

  /** An i16 field (enums). */
  i16(i: number, name: string, fallback = 0): number {
    const at = this.field(i, 2, name);
    return at === 0 ? fallback : this.fb.view.getInt16(at, true);
  }

  /** An i32 field. */
  i32(i: number, name: string, fallback = 0): number {
    const at = this.field(i, 4, name);
    return at === 0 ? fallback : this.fb.view.getInt32(at, true);
  }

  /** An i64 field as a number (a value beyond ±2^53 is rejected: no Arrow length or id needs it). */
  i64(i: number, name: string, fallback = 0): number {
    const at = this.field(i, 8, name);
    return at === 0 ? fallback : readI64(this.fb, at, () => `${this.path}.${name}`);
  }

  /** A sub-table, verified; undefined when absent. */
  table(i: number, name: string): FlatTable | undefined {
    const at = this.field(i, 4, name);
    if (at === 0) return undefined;
    return this.fb.tableAt(at + this.fb.view.getUint32(at, true), this, name, -1);
  }

  /** A string (NUL-terminated, in bounds); undefined when absent. */
  string(i: number, name: string): string | undefined {
    const span = this.stringSpan(i, name);
    return span === undefined ? undefined : UTF8.decode(this.fb.bytes.subarray(span.start, span.start + span.length));
  }

  /** Verifies a string field without decoding it: its bytes' position and length, undefined when absent. */
  stringSpan(i: number, name: string): { start: number; length: number } | undefined {
    const at = this.field(i, 4, name);
    if (at === 0) return undefined;
    const { start, length } = this.fb.vectorAt(at, 1, this, name);
    if (start + length >= this.fb.bytes.length || this.fb.bytes[start + length] !== 0) {
      this.fb.fail(`${this.path}.${name}`, `string of ${length} bytes lacks its NUL terminator`);
    }
    return { start, length };
  }

  /** A vector of inline scalars or structs of `elemSize` bytes: first element's position and count. */
  vector(i: number, name: string, elemSize: number): { start: number; length: number } {
    const at = this.field(i, 4, name);
    if (at === 0) return { start: 0, length: 0 };
    return this.fb.vectorAt(at, elemSize, this, name);
  }

  /** A vector of tables, each verified. */
  tables(i: number, name: string): FlatTable[] {
    const { start, length } = this.vector(i, name, 4);
    const out: FlatTable[] = [];
    for (let k = 0; k < length; k++) {
      const at = start + 4 * k;
      out.push(this.fb.tableAt(at + this.fb.view.getUint32(at, true), this, name, k));
    }
    return out;
  }
}

/** Reads an i64 at `at` as a number, rejecting values beyond ±2^53 (two i32 reads: no BigInt on the hot path). */
export function readI64(fb: FlatBuffer, at: number, path: () => string): number {
  const lo = fb.view.getUint32(at, true), hi = fb.view.getInt32(at + 4, true);
  if (hi < -0x200000 || hi >= 0x200000) fb.fail(path(), `is ${fb.view.getBigInt64(at, true)}, expected within ±2^53`);
  return hi * 4294967296 + lo;
}
