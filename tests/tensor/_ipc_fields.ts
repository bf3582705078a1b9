// SPDX-License-Identifier: MIT
/**
 * Locates fields inside an Arrow IPC tensors file (test helper, also used by the fuzz suite's
 * length-field corruption): absolute byte positions of vector counts, the schema slot, the
 * record-batch length, type parameters, so tests can damage exactly one of them.
 */
import { FlatBuffer, type FlatTable } from "../../lib/tensor/_flatbuffer.ts";

/** Absolute positions of interesting fields of a valid IPC file. */
export interface IpcFieldPositions {
  /** u32 element counts of every footer vector (metadata, fields, blocks) and the batch's nodes/buffers. */
  vectorCounts: number[];
  /** The u16 vtable entry of `footer.schema` (0 there = schema absent). */
  schemaSlot: number;
  /** The i64 `length` of the first record batch. */
  batchLength: number;
  /** i64 lengths and offsets of the first batch's field nodes and buffers. */
  nodeAndBufferFields: number[];
  /** Per top-level field: the i16 FloatingPoint precision or the u8 Int is_signed (absent: -1). */
  typeParam: number[];
  /** i32 footer length, and the i32 metadata length of the first batch message. */
  lengths: number[];
}

const fail = (field: string, why: string): never => {
  throw new Error(`${field} ${why}`);
};

function vecCount(t: FlatTable, i: number, base: number): number[] {
  const at = t.field(i, 4, "v");
  return at === 0 ? [] : [base + at + t.fb.view.getUint32(at, true)];
}

/** Field positions of a valid file written by `tensorsToIPC`/`saveTensors`. */
export function ipcFieldPositions(bytes: Uint8Array): IpcFieldPositions {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const footerEnd = bytes.length - 10;
  const footerStart = footerEnd - view.getInt32(footerEnd, true);
  const footer = new FlatBuffer(bytes.subarray(footerStart, footerEnd), fail).root("footer");
  const schema = footer.table(1, "schema")!;
  const fields = schema.tables(1, "fields");
  const vectorCounts = [
    ...vecCount(footer, 3, footerStart),
    ...vecCount(schema, 1, footerStart),
    ...vecCount(schema, 2, footerStart),
    ...fields.flatMap((f) => vecCount(f, 6, footerStart)),
  ];
  const typeParam = fields.map((f) => {
    const child = f.tables(5, "children")[0];
    const type = child?.table(3, "type");
    if (child === undefined || type === undefined) return -1;
    const tag = child.u8(2, "type_type");
    const at = tag === 3 ? type.field(0, 2, "precision") : tag === 2 ? type.field(1, 1, "is_signed") : 0;
    return at === 0 ? -1 : footerStart + at;
  });
  const blocks = footer.vector(3, "recordBatches", 24);
  const offset = Number(footer.fb.view.getBigInt64(blocks.start, true));
  const metaLength = footer.fb.view.getInt32(blocks.start + 8, true);
  const msgStart = offset + 8;
  const message = new FlatBuffer(bytes.subarray(msgStart, offset + metaLength), fail).root("message");
  const rb = message.table(2, "header")!;
  const nodes = rb.vector(1, "nodes", 16), buffers = rb.vector(2, "buffers", 16);
  vectorCounts.push(msgStart + nodes.start - 4, msgStart + buffers.start - 4);
  const nodeAndBufferFields: number[] = [];
  for (let k = 0; k < 2 * nodes.length; k++) nodeAndBufferFields.push(msgStart + nodes.start + 8 * k);
  for (let k = 0; k < 2 * buffers.length; k++) nodeAndBufferFields.push(msgStart + buffers.start + 8 * k);
  return {
    vectorCounts,
    schemaSlot: footerStart + footer.vt + 4 + 2 * 1,
    batchLength: msgStart + rb.field(0, 8, "length"),
    nodeAndBufferFields,
    typeParam,
    lengths: [footerEnd, offset + 4],
  };
}
