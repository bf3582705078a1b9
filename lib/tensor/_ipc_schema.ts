// SPDX-License-Identifier: MIT
/**
 * Verification of an Arrow IPC `Schema` flatbuffer (private; `format/Schema.fbs`): every field,
 * type table, dictionary encoding and key-value pair is bounds-checked (see `_flatbuffer.ts`),
 * and each field's type is reduced to the buffer layout its record-batch data must have
 * (`format/Columnar.rst`, "Buffer Listing for Each Layout"). Types quantlab never writes and
 * apache-arrow reads only partly (unions, run-end encoded, views) are rejected as unsupported.
 *
 * @module
 */
import type { FlatTable } from "./_flatbuffer.ts";

/** The physical layout of one column (what its field nodes and buffers must look like). */
export type ColumnLayout =
  | { kind: "null" }
  | { kind: "bits" }
  | { kind: "fixed"; width: number }
  | { kind: "binary"; offsetWidth: 4 | 8 }
  | { kind: "list"; offsetWidth: 4 | 8 }
  | { kind: "fixedList"; listSize: number }
  | { kind: "struct" };

/** A verified schema field. */
export interface IpcField {
  /** Its Field table (name and path are read from it only for messages). */
  table: FlatTable;
  /** Appended to the path in messages (e.g. " (dictionary values)"). */
  note?: string;
  /** Layout of the stored data: the index type's when dictionary-encoded. */
  layout: ColumnLayout;
  /** Child fields (lists, structs, maps). */
  children: IpcField[];
  /** The dictionary id when the field is dictionary-encoded. */
  dictionaryId?: number;
  /** Layout of the dictionary's values when dictionary-encoded. */
  valueLayout: ColumnLayout;
}

/** `path "name"` of a field, for messages. */
export function describeField(f: IpcField): string {
  return `${f.table.path}${f.note ?? ""} "${f.table.string(0, "name") ?? ""}"`;
}

/** Schema.fbs `Type` union tags quantlab reads. */
const TYPE = {
  Null: 1,
  Int: 2,
  FloatingPoint: 3,
  Binary: 4,
  Utf8: 5,
  Bool: 6,
  Decimal: 7,
  Date: 8,
  Time: 9,
  Timestamp: 10,
  Interval: 11,
  List: 12,
  Struct: 13,
  Union: 14,
  FixedSizeBinary: 15,
  FixedSizeList: 16,
  Map: 17,
  Duration: 18,
  LargeBinary: 19,
  LargeUtf8: 20,
  LargeList: 21,
} as const;

/** Children each type must have (undefined: any number, i.e. Struct). */
const CHILDREN: Readonly<Record<number, number | undefined>> = {
  [TYPE.List]: 1,
  [TYPE.LargeList]: 1,
  [TYPE.FixedSizeList]: 1,
  [TYPE.Map]: 1,
  [TYPE.Struct]: undefined,
};

/** Verifies a `[KeyValue]` vector (field `i` of `t`): bounds only, apache-arrow decodes the text. */
export function keyValues(t: FlatTable, i: number, name: string): void {
  const { start, length } = t.vector(i, name, 4);
  for (let k = 0; k < length; k++) {
    const at = start + 4 * k;
    const kv = t.fb.tableAt(at + t.fb.view.getUint32(at, true), t, name, k);
    kv.stringSpan(0, "key");
    kv.stringSpan(1, "value");
  }
}

/**
 * Verifies a `Schema` table: little-endian, fields (recursively), metadata, features.
 *
 * @returns the top-level fields with their layouts
 */
export function verifySchema(schema: FlatTable): IpcField[] {
  if (schema.i16(0, "endianness") !== 0) schema.fb.fail(`${schema.path}.endianness`, "is big-endian, expected little");
  keyValues(schema, 2, "custom_metadata");
  schema.vector(3, "features", 8);
  const ids = new Set<number>();
  return schema.tables(1, "fields").map((f) => verifyField(f, ids));
}

function verifyField(f: FlatTable, ids: Set<number>): IpcField {
  const fail = f.fb.fail;
  f.stringSpan(0, "name");
  f.u8(1, "nullable");
  keyValues(f, 6, "custom_metadata");
  const tag = f.u8(2, "type_type");
  const type = f.table(3, "type");
  if (type === undefined) return fail(`${f.path}.type`, `is missing (type tag ${tag})`);
  const children = f.tables(5, "children").map((c) => verifyField(c, ids));
  const want = tag in CHILDREN ? CHILDREN[tag] : 0;
  if (want !== undefined && children.length !== want) {
    fail(`${f.path}.children`, `has ${children.length} entries, expected ${want} for type tag ${tag}`);
  }
  const valueLayout = typeLayout(tag, type);
  const out: IpcField = { table: f, layout: valueLayout, children, valueLayout };
  const dict = f.table(4, "dictionary");
  if (dict !== undefined) {
    const id = dict.i64(0, "id");
    if (ids.has(id)) fail(`${dict.path}.id`, `${id} is used by two fields, expected unique dictionary ids`);
    ids.add(id);
    dict.u8(2, "isOrdered");
    dict.i16(3, "dictionaryKind");
    const index = dict.table(1, "indexType");
    out.layout = index === undefined ? { kind: "fixed", width: 4 } : typeLayout(TYPE.Int, index);
    out.dictionaryId = id;
  }
  return out;
}

/** The layout of a type table; rejects unknown tags and out-of-range parameters. */
function typeLayout(tag: number, t: FlatTable): ColumnLayout {
  const fail = (why: string): never => t.fb.fail(t.path, why);
  const oneOf = (v: number, allowed: number[], what: string) => {
    if (!allowed.includes(v)) fail(`${what} is ${v}, expected one of ${allowed.join(", ")}`);
    return v;
  };
  switch (tag) {
    case TYPE.Null:
      return { kind: "null" };
    case TYPE.Bool:
      return { kind: "bits" };
    case TYPE.Int: {
      t.u8(1, "is_signed");
      return { kind: "fixed", width: oneOf(t.i32(0, "bitWidth"), [8, 16, 32, 64], "Int bitWidth") / 8 };
    }
    case TYPE.FloatingPoint:
      return { kind: "fixed", width: [2, 4, 8][oneOf(t.i16(0, "precision"), [0, 1, 2], "float precision")] as number };
    case TYPE.Decimal: {
      t.i32(0, "precision");
      t.i32(1, "scale");
      return { kind: "fixed", width: oneOf(t.i32(2, "bitWidth", 128), [32, 64, 128, 256], "Decimal bitWidth") / 8 };
    }
    case TYPE.Date:
      return { kind: "fixed", width: oneOf(t.i16(0, "unit", 1), [0, 1], "Date unit") === 0 ? 4 : 8 };
    case TYPE.Time:
      oneOf(t.i16(0, "unit", 1), [0, 1, 2, 3], "Time unit");
      return { kind: "fixed", width: oneOf(t.i32(1, "bitWidth", 32), [32, 64], "Time bitWidth") / 8 };
    case TYPE.Timestamp:
      oneOf(t.i16(0, "unit"), [0, 1, 2, 3], "Timestamp unit");
      t.stringSpan(1, "timezone");
      return { kind: "fixed", width: 8 };
    case TYPE.Duration:
      oneOf(t.i16(0, "unit", 1), [0, 1, 2, 3], "Duration unit");
      return { kind: "fixed", width: 8 };
    case TYPE.Interval:
      return { kind: "fixed", width: [4, 8, 16][oneOf(t.i16(0, "unit"), [0, 1, 2], "Interval unit")] as number };
    case TYPE.FixedSizeBinary: {
      const w = t.i32(0, "byteWidth");
      if (w < 1) fail(`FixedSizeBinary byteWidth is ${w}, expected >= 1`);
      return { kind: "fixed", width: w };
    }
    case TYPE.Binary:
    case TYPE.Utf8:
      return { kind: "binary", offsetWidth: 4 };
    case TYPE.LargeBinary:
    case TYPE.LargeUtf8:
      return { kind: "binary", offsetWidth: 8 };
    case TYPE.List:
      return { kind: "list", offsetWidth: 4 };
    case TYPE.Map:
      t.u8(0, "keysSorted");
      return { kind: "list", offsetWidth: 4 };
    case TYPE.LargeList:
      return { kind: "list", offsetWidth: 8 };
    case TYPE.FixedSizeList: {
      const n = t.i32(0, "listSize");
      if (n < 0) fail(`FixedSizeList listSize is ${n}, expected >= 0`);
      return { kind: "fixedList", listSize: n };
    }
    case TYPE.Struct:
      return { kind: "struct" };
    default:
      return fail(`type tag ${tag} is not supported (expected a primitive, binary, list, struct or map type)`);
  }
}
