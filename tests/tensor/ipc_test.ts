// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { EXTENSION_METADATA_KEY, EXTENSION_NAME_KEY, FIXED_SHAPE_TENSOR } from "../../lib/tensor/arrow.ts";
import {
  loadTable,
  loadTensors,
  saveTable,
  saveTensors,
  tensorsFromIPC,
  tensorsFromTable,
  tensorsToIPC,
  tensorsToTable,
} from "../../lib/tensor/ipc.ts";
import { allocate, type DType, DTYPES, Tensor } from "../../lib/tensor/tensor.ts";
import { TensorFileError } from "../../lib/tensor/errors.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { assertThrowsMessage } from "../_assert.ts";

/** Seed of the random bit patterns (NaN payloads and subnormals must survive a round trip). */
const SEED = 424242;

function randomBits(dtype: DType, shape: number[], seed = SEED): Tensor {
  const rng = new Rng(seed);
  const t = new Tensor(dtype, shape, allocate(dtype, shape.reduce((a, b) => a * b, 1)));
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.nextU32() & 0xff;
  return t;
}

function bytesOf(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** One tensor of every dtype, with varied shapes (scalar, empty, 1-D, 2-D, 3-D). */
function everyDtype(): Record<string, Tensor> {
  const shapes = [[3, 5], [7], [2, 3, 4], [], [0, 3], [1, 9], [4, 1]];
  const out: Record<string, Tensor> = {};
  DTYPES.forEach((dtype, i) => {
    out[`t_${dtype}`] = randomBits(dtype, shapes[i % shapes.length]!, SEED + i);
  });
  // f32 and f64 NaNs with distinct payloads (signalling too), and -0.
  out.nan32 = new Tensor(
    "f32",
    [4],
    new Float32Array(new Uint32Array([0x7fa00001, 0xffc12345, 0x80000000, 0x7f800001]).buffer),
  );
  out.nan64 = new Tensor(
    "f64",
    [2],
    new Float64Array(new BigUint64Array([0x7ff0000000000abcn, 0xfff8000000000001n]).buffer),
  );
  out.nan16 = new Tensor("f16", [3], new Uint16Array([0x7c01, 0xfe00, 0x8000]));
  return out;
}

function assertSameTensors(actual: Record<string, Tensor>, expected: Record<string, Tensor>): void {
  assert.deepEqual(Object.keys(actual), Object.keys(expected));
  for (const [name, e] of Object.entries(expected)) {
    const a = actual[name]!;
    assert.equal(a.dtype, e.dtype, name);
    assert.deepEqual(a.shape, e.shape, name);
    assert.deepEqual(bytesOf(a), bytesOf(e), name);
  }
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "quantlab_ipc_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("saveTensors()/loadTensors() round trip is bit-exact for every dtype and shape", async () => {
  await withTempDir(async (dir) => {
    const record = everyDtype();
    await saveTensors(`${dir}/t.arrow`, record);
    const bytes = await Deno.readFile(`${dir}/t.arrow`);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 6)), "ARROW1");
    const loaded = await loadTensors(`${dir}/t.arrow`);
    assertSameTensors(loaded, record);
    const copied = await loadTensors(`${dir}/t.arrow`, { copy: true });
    assertSameTensors(copied, record);
    assert.notEqual(copied.t_f32!.data.buffer, loaded.t_f32!.data.buffer);
  });
});

Deno.test("the tensors file is one row with one fixed_shape_tensor column per tensor", () => {
  const bytes = tensorsToIPC({ w: randomBits("f32", [3, 4]), b: randomBits("f16", [4]) });
  const table = arrow.tableFromIPC(bytes);
  assert.equal(table.numRows, 1);
  assert.deepEqual(table.schema.fields.map((f) => f.name), ["w", "b"]);
  const w = table.schema.fields[0]!;
  assert.equal(w.metadata.get(EXTENSION_NAME_KEY), FIXED_SHAPE_TENSOR);
  assert.equal(w.metadata.get(EXTENSION_METADATA_KEY), '{"shape":[3,4]}');
  assert.equal((w.type as arrow.FixedSizeList).listSize, 12);
});

Deno.test("tensorsFromIPC() views the bytes, and accepts misaligned input", () => {
  const record = everyDtype();
  const bytes = tensorsToIPC(record);
  const viewed = tensorsFromIPC(bytes);
  assertSameTensors(viewed, record);
  assert.equal(viewed.t_f64!.data.buffer, bytes.buffer);
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  assertSameTensors(tensorsFromIPC(shifted.subarray(3)), record);
});

Deno.test("tensorsToTable() builds the per-row layout and loadTensors() reads it back", async () => {
  const record = { codes: randomBits("u8", [4, 8]), scale: randomBits("f32", [4, 2]), zero: randomBits("f32", [4]) };
  const table = tensorsToTable(record);
  assert.equal(table.numRows, 4);
  assert.equal(table.schema.fields[2]!.metadata.get(EXTENSION_METADATA_KEY), '{"shape":[]}');
  assertSameTensors(tensorsFromTable(table), record);
  await withTempDir(async (dir) => {
    await saveTable(`${dir}/layer.arrow`, table);
    assertSameTensors(await loadTensors(`${dir}/layer.arrow`), record);
  });
  await assertThrowsMessage(
    () => tensorsToTable({ a: randomBits("f32", [4, 2]), b: randomBits("f32", [3, 2]) }),
    RangeError,
    `different row counts in one table: "a" [4, 2], "b" [3, 2]`,
  );
});

Deno.test("saveTable()/loadTable() store a statistics table from plain arrays", async () => {
  await withTempDir(async (dir) => {
    await saveTable(`${dir}/stats.arrow`, {
      layer: ["q_proj", "k_proj", "v_proj"],
      bits: [4, 4, 8],
      mse: new Float32Array([0.5, 0.25, 0.125]),
    });
    const t = await loadTable(`${dir}/stats.arrow`);
    assert.equal(t.numRows, 3);
    assert.deepEqual(t.getChild("layer")!.toArray(), ["q_proj", "k_proj", "v_proj"]);
    assert.deepEqual([...t.getChild("bits")!.toArray()], [4, 4, 8]);
    assert.deepEqual(t.getChild("mse")!.toArray(), new Float32Array([0.5, 0.25, 0.125]));
  });
});

Deno.test("damaged IPC files are rejected with messages naming the function and path", async () => {
  await withTempDir(async (dir) => {
    const good = tensorsToIPC({ w: randomBits("f32", [4, 6]) });
    const write = async (name: string, bytes: Uint8Array) => {
      await Deno.writeFile(`${dir}/${name}`, bytes);
      return `${dir}/${name}`;
    };

    const notArrow = await write("not_arrow.arrow", new TextEncoder().encode("PK\x03\x04 definitely a zip"));
    await assertThrowsMessage(
      () => loadTensors(notArrow),
      TypeError,
      `loadTensors: Cannot read Arrow IPC file "${notArrow}"`,
      "not an Arrow file: bad magic (first bytes 50 4b 03 04",
    );
    const empty = await write("empty.arrow", new Uint8Array(0));
    await assertThrowsMessage(() => loadTable(empty), TypeError, "bad magic (first bytes none");

    for (const cut of [20, good.length >> 1, good.length - 8]) {
      const p = await write(`cut${cut}.arrow`, good.subarray(0, good.length - cut));
      await assertThrowsMessage(
        () => loadTensors(p),
        TypeError,
        `"${p}"`,
        "the file is truncated",
        'no trailing "ARROW1" magic',
      );
    }

    const stream = arrow.tableToIPC(tensorsToTable({ w: randomBits("f32", [2, 2]) }), "stream");
    const streamPath = await write("s.arrows", stream);
    await assertThrowsMessage(() => loadTable(streamPath), TypeError, "Arrow IPC stream, not a file");

    // Valid magic at both ends, garbage in between: rejected by the verification, not by apache-arrow.
    const garbage = good.slice();
    garbage.fill(0x5a, 8, garbage.length - 10);
    const e = await assertThrowsMessage(
      () => tensorsFromIPC(garbage),
      TensorFileError,
      'tensorsFromIPC: Cannot read Arrow IPC file "<bytes>": footer table offset 1515870810 is unaligned',
    );
    assert.equal((e as TensorFileError).field, "footer");
    assert.equal((e as TensorFileError).file, "<bytes>");
  });
});

Deno.test("IPC files with a wrong extension name or a mismatched shape are rejected", async () => {
  await withTempDir(async (dir) => {
    const f32 = new arrow.Float32();
    const type = new arrow.FixedSizeList(6, new arrow.Field("item", f32, false));
    const child = arrow.makeData({ type: f32, length: 12, nullCount: 0, data: new Float32Array(12) });
    const data = arrow.makeData({ type, length: 2, nullCount: 0, child });
    const save = async (name: string, meta: Record<string, string>) => {
      const field = new arrow.Field("w", type, false, new Map(Object.entries(meta)));
      const schema = new arrow.Schema([field]);
      const batch = new arrow.RecordBatch(
        schema,
        arrow.makeData({ type: new arrow.Struct(schema.fields), length: 2, nullCount: 0, children: [data] }),
      );
      await saveTable(`${dir}/${name}`, new arrow.Table([batch]));
      return `${dir}/${name}`;
    };
    const wrongName = await save("foo.arrow", {
      [EXTENSION_NAME_KEY]: "foo",
      [EXTENSION_METADATA_KEY]: '{"shape":[6]}',
    });
    await assertThrowsMessage(
      () => loadTensors(wrongName),
      TensorFileError,
      `loadTensors: Cannot read "${wrongName}": column "w": extension name is "foo", expected "arrow.fixed_shape_tensor"`,
    );
    const mismatch = await save("shape.arrow", {
      [EXTENSION_NAME_KEY]: FIXED_SHAPE_TENSOR,
      [EXTENSION_METADATA_KEY]: '{"shape":[2,2]}',
    });
    const e = await assertThrowsMessage(
      () => loadTensors(mismatch),
      TensorFileError,
      `"${mismatch}"`,
      "extension shape [2, 2] has 4 elements but the list size is 6",
    );
    assert.ok(e.cause instanceof RangeError);
    assert.equal((e as TensorFileError).field, 'column "w"');
    const ok = await save("ok.arrow", {
      [EXTENSION_NAME_KEY]: FIXED_SHAPE_TENSOR,
      [EXTENSION_METADATA_KEY]: '{"shape":[2,3]}',
    });
    assert.deepEqual((await loadTensors(ok)).w!.shape, [2, 2, 3]);
  });
});
