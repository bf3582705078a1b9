// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import {
  arrowType,
  EXTENSION_METADATA_KEY,
  EXTENSION_NAME_KEY,
  FIXED_SHAPE_TENSOR,
  fromArrow,
  LAYOUT_KEY,
  toArrow,
} from "../../lib/tensor/arrow.ts";
import { allocate, type DType, DTYPES, Tensor } from "../../lib/tensor/tensor.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { assertThrowsMessage } from "../_assert.ts";

/** Seed of the random bit patterns (every bit pattern, NaN payloads included, must survive). */
const SEED = 20261127;

/** A tensor whose bytes are random: for floats this includes NaNs with payloads and subnormals. */
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

function withMetadata(field: arrow.Field, entries: Record<string, string>): arrow.Field {
  return new arrow.Field(field.name, field.type, field.nullable, new Map(Object.entries(entries)));
}

Deno.test("toArrow() writes the canonical fixed_shape_tensor metadata literally", () => {
  const t = randomBits("f32", [2, 3, 4]);
  const { field, vector } = toArrow("w", t, { dimNames: ["H", "W"] });
  assert.equal(EXTENSION_NAME_KEY, "ARROW:extension:name");
  assert.equal(EXTENSION_METADATA_KEY, "ARROW:extension:metadata");
  assert.equal(field.metadata.get("ARROW:extension:name"), "arrow.fixed_shape_tensor");
  assert.equal(field.metadata.get("ARROW:extension:metadata"), '{"shape":[3,4],"dim_names":["H","W"]}');
  assert.equal(field.metadata.has(LAYOUT_KEY), false);
  assert.equal(field.name, "w");
  assert.ok(arrow.DataType.isFixedSizeList(field.type));
  assert.equal((field.type as arrow.FixedSizeList).listSize, 12);
  assert.equal(vector.length, 2);
  assert.equal(toArrow("w", t).field.metadata.get(EXTENSION_METADATA_KEY), '{"shape":[3,4]}');
});

Deno.test("toArrow() is zero-copy: the child values are the tensor's own array", () => {
  for (const dtype of DTYPES) {
    const t = randomBits(dtype, [4, 5]);
    const { vector } = toArrow("w", t);
    const values = vector.data[0]!.children[0]!.values as ArrayBufferView;
    assert.equal(values.buffer, t.data.buffer, dtype);
    assert.equal(values.byteOffset, t.data.byteOffset, dtype);
    if (dtype !== "u8") assert.equal(values, t.data, dtype); // arrow re-wraps Uint8Array views
  }
});

Deno.test("toArrow() maps every dtype to its Arrow value type (f16 as Float16 bits)", () => {
  const expected: Record<DType, string> = {
    f32: "Float32",
    f64: "Float64",
    f16: "Float16",
    i8: "Int8",
    u8: "Uint8",
    i32: "Int32",
    u32: "Uint32",
  };
  for (const dtype of DTYPES) assert.equal(String(arrowType(dtype)), expected[dtype]);
});

Deno.test("fromArrow(toArrow()) is bit-exact and zero-copy for every dtype and layout", async (t) => {
  for (const dtype of DTYPES) {
    await t.step(dtype, () => {
      for (const shape of [[3, 4], [2, 3, 2], [5], [], [0, 7]]) {
        const x = randomBits(dtype, shape);
        const { field, vector } = toArrow("x", x);
        const back = fromArrow(vector, field);
        assert.deepEqual(back.shape, shape);
        assert.equal(back.dtype, dtype);
        assert.deepEqual(bytesOf(back), bytesOf(x));
        assert.equal(back.data.buffer, x.data.buffer);
      }
      const x = randomBits(dtype, [3, 4]);
      const whole = toArrow("x", x, { layout: "whole" });
      assert.equal(whole.vector.length, 1);
      assert.equal(whole.field.metadata.get(LAYOUT_KEY), "whole");
      assert.deepEqual(fromArrow(whole.vector, whole.field).shape, [3, 4]);
    });
  }
});

Deno.test("toArrow() puts rank-0 and rank-1 tensors in one row unless asked for rows", () => {
  const v = randomBits("f32", [6]);
  const whole = toArrow("v", v);
  assert.equal(whole.vector.length, 1);
  assert.equal(whole.field.metadata.get(EXTENSION_METADATA_KEY), '{"shape":[6]}');
  const rows = toArrow("v", v, { layout: "rows" });
  assert.equal(rows.vector.length, 6);
  assert.equal(rows.field.metadata.get(EXTENSION_METADATA_KEY), '{"shape":[]}');
  assert.deepEqual(fromArrow(rows.vector, rows.field).shape, [6]);
  const s = toArrow("s", new Tensor("f64", [], new Float64Array([2.5])));
  assert.equal(s.vector.length, 1);
  assert.deepEqual(fromArrow(s.vector, s.field).shape, []);
});

Deno.test("fromArrow() views sliced columns and copies multi-chunk columns", () => {
  const x = randomBits("i32", [6, 3]);
  const { field, vector } = toArrow("x", x);
  const sliced = fromArrow(vector.slice(2, 5), field);
  assert.deepEqual(sliced.shape, [3, 3]);
  assert.deepEqual([...sliced.data], [...x.data.subarray(6, 15)]);
  assert.equal(sliced.data.buffer, x.data.buffer);

  const y = randomBits("i32", [2, 3], SEED + 1);
  const two = vector.concat(toArrow("y", y).vector);
  assert.equal(two.data.length, 2);
  const joined = fromArrow(two, field);
  assert.deepEqual(joined.shape, [8, 3]);
  assert.deepEqual([...joined.data], [...x.data, ...y.data]);
  assert.notEqual(joined.data.buffer, x.data.buffer);

  const copied = fromArrow(vector, field, { copy: true });
  assert.notEqual(copied.data.buffer, x.data.buffer);
  assert.deepEqual(bytesOf(copied), bytesOf(x));
});

Deno.test("toArrow({ extension: false }) gives a plain FixedSizeList column for polars", async () => {
  const x = randomBits("f32", [4, 2, 3]);
  const { field, vector } = toArrow("x", x, { extension: false });
  assert.equal(field.metadata.size, 0);
  await assertThrowsMessage(() => fromArrow(vector, field), TypeError, "extension name is missing");
  assert.deepEqual(fromArrow(vector, field, { extension: false }).shape, [4, 6]);
  const reshaped = fromArrow(vector, field, { extension: false, shape: [4, 2, 3] });
  assert.deepEqual(reshaped.shape, [4, 2, 3]);
  await assertThrowsMessage(
    () => fromArrow(vector, field, { extension: false, shape: [5, 5] }),
    RangeError,
    "shape [5, 5] has 25 elements, the column 24",
  );
});

Deno.test("fromArrow() rejects a wrong extension name with the documented message", async () => {
  const { field, vector } = toArrow("w", randomBits("f32", [2, 2]));
  const bad = withMetadata(field, { [EXTENSION_NAME_KEY]: "foo", [EXTENSION_METADATA_KEY]: '{"shape":[2]}' });
  await assertThrowsMessage(
    () => fromArrow(vector, bad),
    TypeError,
    `fromArrow: Cannot read tensor from column "w": extension name is "foo", expected "arrow.fixed_shape_tensor"`,
  );
  assert.equal(FIXED_SHAPE_TENSOR, "arrow.fixed_shape_tensor");
});

Deno.test("fromArrow() validates metadata JSON, shape, dim_names and permutation", async () => {
  const { field, vector } = toArrow("w", randomBits("f32", [2, 6]));
  const meta = (m: string) =>
    withMetadata(field, { [EXTENSION_NAME_KEY]: FIXED_SHAPE_TENSOR, [EXTENSION_METADATA_KEY]: m });
  const e = await assertThrowsMessage(() => fromArrow(vector, meta("{shape:")), TypeError, "is not valid JSON");
  assert.ok(e.cause instanceof SyntaxError);
  await assertThrowsMessage(() => fromArrow(vector, meta('{"dims":[6]}')), TypeError, 'lacks a "shape" array');
  await assertThrowsMessage(
    () => fromArrow(vector, meta('{"shape":[5]}')),
    RangeError,
    'column "w": extension shape [5] has 5 elements but the list size is 6',
  );
  await assertThrowsMessage(() => fromArrow(vector, meta('{"shape":[2,3],"dim_names":["a"]}')), TypeError, "2 strings");
  await assertThrowsMessage(
    () => fromArrow(vector, meta('{"shape":[2,3],"permutation":[1,0]}')),
    TypeError,
    "permutation",
  );
  assert.deepEqual(fromArrow(vector, meta('{"shape":[2,3],"permutation":[0,1]}')).shape, [2, 2, 3]);
});

Deno.test("fromArrow() rejects unsupported value types, non-list columns and nulls", async () => {
  const i16 = new arrow.Int16();
  const type = new arrow.FixedSizeList(2, new arrow.Field("item", i16, false));
  const child = arrow.makeData({ type: i16, length: 4, nullCount: 0, data: new Int16Array(4) });
  const vec = arrow.makeVector(arrow.makeData({ type, length: 2, nullCount: 0, child }));
  const meta = new Map([[EXTENSION_NAME_KEY, FIXED_SHAPE_TENSOR], [EXTENSION_METADATA_KEY, '{"shape":[2]}']]);
  await assertThrowsMessage(() => fromArrow(vec, new arrow.Field("q", type, false, meta)), TypeError, "Int16");

  const flat = arrow.makeVector(new Float32Array(3));
  await assertThrowsMessage(
    () => fromArrow(flat, new arrow.Field("f", new arrow.Float32())),
    TypeError,
    'column "f": type is Float32, expected a FixedSizeList',
  );

  const { field } = toArrow("n", randomBits("f32", [3, 2]));
  const f32 = new arrow.Float32();
  const values = arrow.makeData({ type: f32, length: 6, nullCount: 0, data: new Float32Array(6) });
  const withNull = arrow.makeVector(
    arrow.makeData({ type: field.type, length: 3, nullCount: 1, nullBitmap: new Uint8Array([0b101]), child: values }),
  );
  await assertThrowsMessage(() => fromArrow(withNull, field), TypeError, "1 null entries");
  const nullChild = arrow.makeData({
    type: f32,
    length: 6,
    nullCount: 1,
    nullBitmap: new Uint8Array([0b111110]),
    data: new Float32Array(6),
  });
  const childNulls = arrow.makeVector(arrow.makeData({ type: field.type, length: 3, nullCount: 0, child: nullChild }));
  await assertThrowsMessage(() => fromArrow(childNulls, field), TypeError, "values hold 1 nulls");
});

Deno.test("toArrow() validates dimNames and the rows layout of scalars", async () => {
  const x = randomBits("f32", [2, 3, 4]);
  await assertThrowsMessage(
    () => toArrow("w", x, { dimNames: ["a", "b", "c"] }),
    RangeError,
    "got 3 dimNames, expected 2 (element shape [3, 4]",
  );
  await assertThrowsMessage(() => toArrow("s", new Tensor("f32", []), { layout: "rows" }), TypeError, "rank >= 1");
});
