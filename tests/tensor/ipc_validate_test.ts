// SPDX-License-Identifier: MIT
/**
 * Arrow IPC verification: the damaged files of issue 17 (a metadata count of 2·10⁹ that makes
 * apache-arrow loop, a negative record-batch length, f32 read as f16, a missing schema, a
 * damaged `quantlab:layout`, i8 flipped to u8) are rejected with a TensorFileError naming the
 * file and field; plain FixedSizeList columns round-trip through the manifest.
 */
import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { loadTable, loadTensors, saveTensors, tensorsFromIPC, tensorsToIPC } from "../../lib/tensor/ipc.ts";
import { TensorFileError } from "../../lib/tensor/errors.ts";
import { EXTENSION_NAME_KEY, LAYOUT_KEY } from "../../lib/tensor/arrow.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertThrowsMessage } from "../_assert.ts";
import { ipcFieldPositions } from "./_ipc_fields.ts";

const w = new Tensor("f32", [4, 20], Float32Array.from({ length: 80 }, (_, i) => i / 7));
const codes = new Tensor("i8", [5], Int8Array.from([-3, -1, 0, 2, 7]));

function damaged(
  edit: (bytes: Uint8Array, view: DataView) => void,
  record: Record<string, Tensor> = { w, codes },
): Uint8Array {
  const bytes = tensorsToIPC(record);
  edit(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return bytes;
}

function assertFileError(bytes: Uint8Array, field: string, ...parts: string[]): void {
  let caught: unknown;
  try {
    tensorsFromIPC(bytes);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof TensorFileError, `expected a TensorFileError, got ${caught}`);
  assert.equal(caught.file, "<bytes>");
  assert.ok(caught.field.includes(field), `field "${caught.field}" lacks "${field}"`);
  for (const p of parts) assert.ok(caught.message.includes(p), `message "${caught.message}" lacks "${p}"`);
  assert.ok(!/destructure|undefined|null/.test(caught.message), caught.message);
}

Deno.test("a vector count of 2·10⁹ is rejected before apache-arrow loops over it", () => {
  const { vectorCounts } = ipcFieldPositions(tensorsToIPC({ w, codes }));
  assert.ok(vectorCounts.length >= 6);
  for (const at of vectorCounts) {
    assertFileError(damaged((_, v) => v.setUint32(at, 2_000_000_000, true)), "", "2000000000 entries");
  }
});

Deno.test("a negative or too long record-batch length is rejected", () => {
  const { batchLength } = ipcFieldPositions(tensorsToIPC({ w, codes }));
  assertFileError(damaged((_, v) => v.setBigInt64(batchLength, -1n, true)), ".length", "is -1, expected 0..");
  assertFileError(damaged((_, v) => v.setBigInt64(batchLength, 2n, true)), "nodes[0]", "expected 2");
});

Deno.test("a missing schema is an error, not an empty record", () => {
  const { schemaSlot } = ipcFieldPositions(tensorsToIPC({ w, codes }));
  assertFileError(damaged((_, v) => v.setUint16(schemaSlot, 0, true)), "footer.schema", "is missing");
});

Deno.test("f32 read as f16 and i8 read as u8 are rejected (buffer size, manifest)", async () => {
  const { typeParam } = ipcFieldPositions(tensorsToIPC({ w, codes }));
  const [precision, signed] = typeParam as [number, number];
  // f32 → f16: the values buffer is twice what f16 needs.
  assertFileError(damaged((_, v) => v.setInt16(precision, 0, true)), "values buffer", "expected 160..160");
  // i8 → u8: same size, only the manifest can tell.
  assertFileError(damaged((b) => (b[signed] = 0)), 'column "codes"', "u8 [5]", "declares i8 [5]");
  // In a file: f32 → f64 leaves the values buffer too short.
  const dir = await Deno.makeTempDir();
  try {
    await saveTensors(`${dir}/t.arrow`, { w });
    const bytes = await Deno.readFile(`${dir}/t.arrow`);
    const p = ipcFieldPositions(bytes).typeParam[0]!;
    new DataView(bytes.buffer).setInt16(p, 2, true); // f32 → f64: the buffer is too short
    await Deno.writeFile(`${dir}/t.arrow`, bytes);
    await assertThrowsMessage(() => loadTensors(`${dir}/t.arrow`), TensorFileError, `"${dir}/t.arrow"`, "640");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a damaged quantlab:layout is an error, not a [1, ...shape] tensor", () => {
  const find = (bytes: Uint8Array, text: string) => {
    const needle = new TextEncoder().encode(text);
    outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
      for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
      return i;
    }
    throw new Error(`${text} not found`);
  };
  // The value: "whole" → "whola".
  const value = damaged((b) => (b[find(b, "whole") + 4] = "a".charCodeAt(0)), { w });
  assertFileError(value, 'column "w"', `${LAYOUT_KEY} is "whola"`);
  // The key: the column then claims the per-row layout; the manifest disagrees.
  const key = damaged((b) => (b[find(b, LAYOUT_KEY)] = "Q".charCodeAt(0)), { w });
  assertFileError(key, 'column "w"', "f32 [1, 4, 20]", "declares f32 [4, 20]");
});

Deno.test("saveTensors(path, t, { extension: false }) writes plain columns that loadTensors reads back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await saveTensors(`${dir}/plain.arrow`, { w, codes }, { extension: false });
    const table = await loadTable(`${dir}/plain.arrow`);
    for (const f of table.schema.fields) {
      assert.ok(arrow.DataType.isFixedSizeList(f.type));
      assert.equal(f.metadata.size, 0, "plain columns carry no field metadata");
    }
    const back = await loadTensors(`${dir}/plain.arrow`);
    assert.deepEqual(back.w!.shape, [4, 20]);
    assert.deepEqual(back.w!.data, w.data);
    assert.deepEqual(back.codes!.shape, [5]);
    assert.equal(back.codes!.dtype, "i8");
    assert.deepEqual(back.codes!.data, codes.data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a plain column without a manifest names the API that reads it, not an option loadTensors lacks", () => {
  const type = new arrow.FixedSizeList(3, new arrow.Field("item", new arrow.Float32(), false));
  const child = arrow.makeData({ type: new arrow.Float32(), length: 3, nullCount: 0, data: new Float32Array(3) });
  const data = arrow.makeData({ type, length: 1, nullCount: 0, child });
  const schema = new arrow.Schema([new arrow.Field("v", type, false)]);
  const batch = new arrow.RecordBatch(
    schema,
    arrow.makeData({ type: new arrow.Struct(schema.fields), length: 1, nullCount: 0, children: [data] }),
  );
  const bytes = arrow.tableToIPC(new arrow.Table([batch]), "file");
  assert.equal(schema.fields[0]!.metadata.has(EXTENSION_NAME_KEY), false);
  let caught: unknown;
  try {
    tensorsFromIPC(bytes);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof TensorFileError);
  assert.ok(caught.message.includes("fromArrow(column, field, { extension: false, shape })"), caught.message);
  assert.ok(!caught.message.includes("pass { extension: false }"), caught.message);
});
