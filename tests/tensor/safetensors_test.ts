// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import {
  createSafetensorsWriter,
  decodeSafetensors,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  openCheckpoint,
  openSafetensors,
  type RawTensor,
  writeSafetensors,
} from "../../lib/tensor/safetensors.ts";
import { bf16BitsToF32 } from "../../lib/tensor/numeric.ts";
import { allocate, type DType, DTYPES, Tensor } from "../../lib/tensor/tensor.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { assertThrowsMessage } from "../_assert.ts";

/** Seed of the random bit patterns (NaN payloads and subnormals must survive a round trip). */
const SEED = 31337;

function randomBits(dtype: DType, shape: number[], seed = SEED): Tensor {
  const rng = new Rng(seed);
  const t = new Tensor(dtype, shape, allocate(dtype, shape.reduce((a, b) => a * b, 1)));
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.nextU32() & 0xff;
  return t;
}

function bytesOf(t: { data: ArrayBufferView }): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function everyDtype(): Record<string, Tensor> {
  const shapes = [[3, 5], [7], [2, 3, 4], [], [0, 3], [1, 9], [4, 1]];
  return Object.fromEntries(DTYPES.map((d, i) => [`t_${d}`, randomBits(d, shapes[i]!, SEED + i)]));
}

function assertSameTensors(actual: Record<string, Tensor>, expected: Record<string, Tensor>): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const [name, e] of Object.entries(expected)) {
    assert.equal(actual[name]!.dtype, e.dtype, name);
    assert.deepEqual(actual[name]!.shape, e.shape, name);
    assert.deepEqual(bytesOf(actual[name]!), bytesOf(e), name);
  }
}

/** A safetensors file from a literal header (object or raw JSON text) and `dataLength` data bytes. */
function rawFile(header: unknown, dataLength: number, headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "quantlab_st_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writeSafetensors()/openSafetensors() round trip is bit-exact for every dtype", async () => {
  await withTempDir(async (dir) => {
    const record = everyDtype();
    await writeSafetensors(`${dir}/m.safetensors`, record, { format: "pt", note: "x" });
    using f = await openSafetensors(`${dir}/m.safetensors`);
    assert.deepEqual(f.names, Object.keys(record));
    assert.deepEqual(f.metadata, { format: "pt", note: "x" });
    const loaded: Record<string, Tensor> = {};
    for (const name of f.names) loaded[name] = await f.read(name);
    assertSameTensors(loaded, record);
    // f32 [3, 5] 60 B, f64 [7] 56 B, f16 [2, 3, 4] 48 B, i8 [] 1 B, u8 [0, 3] 0 B, then i32 [1, 9].
    assert.deepEqual(f.info("t_i32"), { dtype: "I32", shape: [1, 9], byteLength: 36, dataOffsets: [165, 201] });
  });
});

Deno.test("encodeSafetensors() writes the format: LE u64 length, padded JSON, aligned data", () => {
  const bytes = encodeSafetensors({ a: randomBits("f16", [3]), b: randomBits("f64", [2]) }, { k: "v" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.equal(text[0], "{");
  assert.deepEqual(JSON.parse(text), {
    __metadata__: { k: "v" },
    a: { dtype: "F16", shape: [3], data_offsets: [0, 6] },
    b: { dtype: "F64", shape: [2], data_offsets: [6, 22] },
  });
  assert.equal(bytes.length, 8 + n + 22);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(metadata, { k: "v" });
  assert.equal(tensors.b!.dtype, "f64"); // misaligned at offset 6: copied, still exact
  assertSameTensors(decodeSafetensors(encodeSafetensors(everyDtype())).tensors, everyDtype());
});

Deno.test("BF16 reads as exact f32 by default and as raw bits with readRaw()", async () => {
  const bits = randomBits("f16", [64]).data as Uint16Array; // random 16-bit patterns, NaNs included
  const raw: RawTensor = { dtype: "BF16", shape: [8, 8], data: new Uint8Array(bits.buffer) };
  await withTempDir(async (dir) => {
    await writeSafetensors(`${dir}/bf.safetensors`, {
      w: raw,
      flag: { dtype: "BOOL", shape: [2], data: new Uint8Array([1, 0]) },
    });
    using f = await openSafetensors(`${dir}/bf.safetensors`);
    const w = await f.read("w");
    assert.equal(w.dtype, "f32");
    assert.deepEqual(w.shape, [8, 8]);
    const wide = new Uint32Array(w.data.buffer);
    for (let i = 0; i < 64; i++) {
      assert.equal(wide[i], (bits[i]! << 16) >>> 0);
      if (!Number.isNaN(w.data[i])) assert.equal(w.data[i], bf16BitsToF32(bits[i]!));
    }
    assert.deepEqual((await f.readRaw("w")).data, new Uint8Array(bits.buffer));
    assert.equal((await f.read("flag")).dtype, "u8");
  });
});

Deno.test("dtypes without a Tensor dtype are listed but need readRaw()", async () => {
  const i64 = new BigInt64Array([-1n, 2n ** 40n]);
  const bytes = encodeSafetensors({ pos: { dtype: "I64", shape: [2], data: new Uint8Array(i64.buffer) } });
  await assertThrowsMessage(
    () => decodeSafetensors(bytes),
    TypeError,
    'tensor "pos": dtype I64 has no Tensor dtype',
    "readRaw",
  );
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/i.safetensors`, bytes);
    using f = await openSafetensors(`${dir}/i.safetensors`);
    assert.deepEqual(f.info("pos").dtype, "I64");
    assert.deepEqual(new BigInt64Array((await f.readRaw("pos")).data.buffer), i64);
  });
});

Deno.test("openSafetensors() reads the header only and each tensor lazily by offset", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/lazy.safetensors`;
    const a = randomBits("f32", [16, 16], 1);
    const b = randomBits("f32", [16, 16], 2);
    await writeSafetensors(path, { a, b });
    using f = await openSafetensors(path);
    // Overwrite b's bytes on disk after opening: a lazy reader sees the new bytes at read time.
    const replacement = randomBits("f32", [16, 16], 3);
    const { dataOffsets } = f.info("b");
    const dataStart = (await Deno.stat(path)).size - 2 * 1024; // a and b are 1 KiB each
    using out = await Deno.open(path, { write: true });
    await out.seek(dataStart + dataOffsets[0], Deno.SeekMode.Start);
    await out.write(bytesOf(replacement));
    assert.deepEqual(bytesOf(await f.read("a")), bytesOf(a));
    assert.deepEqual(bytesOf(await f.read("b")), bytesOf(replacement));
    // Concurrent reads on one handle do not interleave their seeks.
    const [x, y, z] = await Promise.all([f.read("b"), f.read("a"), f.read("b")]);
    assert.deepEqual(bytesOf(x), bytesOf(replacement));
    assert.deepEqual(bytesOf(y), bytesOf(a));
    assert.deepEqual(bytesOf(z), bytesOf(replacement));
    await assertThrowsMessage(() => f.read("c"), RangeError, `Cannot find tensor "c" in "${path}" (2 tensors)`);
    f.close();
    await assertThrowsMessage(() => f.read("a"), TypeError, "is closed");
  });
});

Deno.test("createSafetensorsWriter() streams in the declared order and checks what it gets", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/s.safetensors`;
    const w = await createSafetensorsWriter(path, { a: { dtype: "F32", shape: [2] }, b: { dtype: "I8", shape: [3] } });
    await assertThrowsMessage(() => w.write("b", randomBits("i8", [3])), TypeError, 'expected "a"', "declared order");
    await assertThrowsMessage(() => w.write("a", randomBits("f32", [3])), TypeError, "got F32 [3], declared F32 [2]");
    await w.write("a", randomBits("f32", [2]));
    await assertThrowsMessage(() => w.close(), RangeError, '1 of 2 declared tensors were not written (next: "b")');
  });
});

Deno.test("openCheckpoint() reads sharded checkpoints through the index, opening shards lazily", async () => {
  await withTempDir(async (dir) => {
    const t = everyDtype();
    await writeSafetensors(`${dir}/model-00001-of-00002.safetensors`, { t_f32: t.t_f32!, t_i8: t.t_i8! });
    await writeSafetensors(`${dir}/model-00002-of-00002.safetensors`, { t_f16: t.t_f16!, t_u32: t.t_u32! });
    const index = {
      metadata: { total_size: 1234 },
      "weight_map": {
        t_f32: "model-00001-of-00002.safetensors",
        t_f16: "model-00002-of-00002.safetensors",
        t_i8: "model-00001-of-00002.safetensors",
        t_u32: "model-00002-of-00002.safetensors",
      },
    };
    await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify(index));
    using ckpt = await openCheckpoint(dir);
    assert.deepEqual(ckpt.names, ["t_f32", "t_f16", "t_i8", "t_u32"]);
    assert.deepEqual(ckpt.shards, ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
    assert.deepEqual(ckpt.metadata, { total_size: 1234 });
    assert.equal(ckpt.shardOf("t_u32"), "model-00002-of-00002.safetensors");
    assert.deepEqual(bytesOf(await ckpt.read("t_f32")), bytesOf(t.t_f32!));
    assert.deepEqual((await ckpt.info("t_i8")).shape, t.t_i8!.shape);
    // Shard 2 has not been opened yet: deleting it now surfaces on first use, naming shard and tensor.
    await Deno.remove(`${dir}/model-00002-of-00002.safetensors`);
    await assertThrowsMessage(
      () => ckpt.read("t_f16"),
      Deno.errors.NotFound,
      'Cannot open shard "model-00002-of-00002.safetensors"',
      'for tensor "t_f16"',
    );
    await assertThrowsMessage(() => ckpt.read("nope"), RangeError, 'Cannot find tensor "nope"', "(4 tensors)");
    // At open, a missing shard is reported with a tensor that maps to it.
    await assertThrowsMessage(
      () => openCheckpoint(dir),
      Deno.errors.NotFound,
      `openCheckpoint: Cannot open "${dir}": shard "model-00002-of-00002.safetensors" is missing`,
      'tensor "t_f16"',
    );
  });
});

Deno.test("openCheckpoint() handles model.safetensors, a file path, and bad directories", async () => {
  await withTempDir(async (dir) => {
    const x = randomBits("f32", [2, 3]);
    await assertThrowsMessage(() => openCheckpoint(dir), Deno.errors.NotFound, "found neither");
    await writeSafetensors(`${dir}/model.safetensors`, { x });
    for (const path of [dir, `${dir}/model.safetensors`]) {
      using ckpt = await openCheckpoint(path);
      assert.deepEqual(ckpt.names, ["x"]);
      assert.deepEqual(bytesOf(await ckpt.read("x")), bytesOf(x));
    }
    await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, "{weight_map");
    await assertThrowsMessage(() => openCheckpoint(dir), TypeError, '"model.safetensors.index.json" is not valid JSON');
    await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, '{"weight_map":{"x":"../etc/passwd"}}');
    await assertThrowsMessage(() => openCheckpoint(dir), TypeError, "not a file name inside the directory");
    await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, '{"weight_map":{"y":"model.safetensors"}}');
    using ckpt = await openCheckpoint(dir);
    await assertThrowsMessage(
      () => ckpt.read("y"),
      TypeError,
      'maps it to shard "model.safetensors", which does not hold it',
    );
  });
});

Deno.test("damaged safetensors files are rejected with messages naming path, tensor and numbers", async () => {
  await withTempDir(async (dir) => {
    const cases: [string, Uint8Array, new (m?: string) => Error, string[]][] = [
      ["tiny", new Uint8Array(5), RangeError, ["the file is 5 bytes, too short"]],
      ["huge_header", rawFile({}, 0, BigInt(MAX_HEADER_BYTES) + 1n), RangeError, ["header length 100000001 is absurd"]],
      ["long_header", rawFile({}, 0, 500n), RangeError, [
        "header length 500 exceeds the 2 bytes after the length field",
      ]],
      ["bad_json", rawFile('{"w": {"dtype": "F32",', 0), TypeError, ["22-byte header is not valid JSON"]],
      ["not_object", rawFile("[1, 2]", 0), TypeError, ["the header is an array, expected a JSON object"]],
      [
        "unknown_dtype",
        rawFile({ w: { dtype: "F12", shape: [2], data_offsets: [0, 8] } }, 8),
        TypeError,
        ['tensor "w": unknown dtype "F12" (known: BOOL, U8'],
      ],
      [
        "span",
        rawFile({ w: { dtype: "F32", shape: [2, 3], data_offsets: [0, 20] } }, 24),
        RangeError,
        ['tensor "w": shape [2, 3] × 4 bytes (F32) = 24 bytes, but data_offsets [0, 20) span 20 bytes'],
      ],
      [
        "truncated",
        encodeSafetensors({ a: randomBits("f32", [4]), w: randomBits("f32", [4, 4]) }).subarray(0, -10),
        RangeError,
        ['tensor "w": data_offsets [16, 80) lie outside the 70-byte data section: the file is truncated'],
      ],
      [
        "overlap",
        rawFile({
          a: { dtype: "F32", shape: [4], data_offsets: [0, 16] },
          b: { dtype: "F32", shape: [4], data_offsets: [8, 24] },
        }, 24),
        RangeError,
        ['tensors "a" [0, 16) and "b" [8, 24) overlap'],
      ],
      [
        "bad_offsets",
        rawFile({ w: { dtype: "U8", shape: [2], data_offsets: [4, 2] } }, 8),
        TypeError,
        ['tensor "w": data_offsets [4,2] is not a [begin, end) pair'],
      ],
      ["bad_metadata", rawFile({ __metadata__: { n: 3 } }, 0), TypeError, [
        '"__metadata__" must be an object of strings',
      ]],
    ];
    for (const [name, bytes, ErrorClass, parts] of cases) {
      const path = `${dir}/${name}.safetensors`;
      await Deno.writeFile(path, bytes);
      await assertThrowsMessage(
        () => openSafetensors(path),
        ErrorClass,
        `openSafetensors: Cannot open "${path}"`,
        ...parts,
      );
      if (name !== "tiny") await assertThrowsMessage(() => decodeSafetensors(bytes), ErrorClass, ...parts);
    }
  });
});

Deno.test("holes in the data section are allowed (documented policy)", () => {
  const bytes = rawFile({
    a: { dtype: "U8", shape: [2], data_offsets: [0, 2] },
    b: { dtype: "U8", shape: [2], data_offsets: [6, 8] },
  }, 12);
  bytes.set([1, 2], bytes.length - 12);
  bytes.set([3, 4], bytes.length - 6);
  const { tensors } = decodeSafetensors(bytes);
  assert.deepEqual([...tensors.a!.data], [1, 2]);
  assert.deepEqual([...tensors.b!.data], [3, 4]);
});
