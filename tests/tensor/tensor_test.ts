// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { DTYPES, Tensor } from "../../lib/tensor/tensor.ts";
import { eye, full, rand, randn, tensor, zeros } from "../../lib/tensor/create.ts";
import {
  astype,
  concatRows,
  reshape,
  setCols,
  sliceCols,
  sliceRows,
  transpose,
  valueAt,
} from "../../lib/tensor/manip.ts";
import { add, div, maxAbsDiff, mul, stats, sub } from "../../lib/tensor/math.ts";
import { f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, roundHalfEven } from "../../lib/tensor/numeric.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";

Deno.test("Tensor validates dtype, storage and shape", async () => {
  await assertThrowsMessage(() => new Tensor("f32", [2, 3], new Float32Array(5)), RangeError, "[2, 3]", "5");
  await assertThrowsMessage(() => new Tensor("f32", [2], new Float64Array(2) as never), TypeError, "Float64Array");
  await assertThrowsMessage(() => new Tensor("f32", [2, -1]), RangeError, "[2, -1]");
  for (const d of DTYPES) assert.equal(zeros([3, 4], d).size, 12);
});

Deno.test("tensor() builds nested arrays and rejects ragged input", async () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.equal(t.get(1, 2), 6);
  await assertThrowsMessage(() => tensor([[1, 2], [3]]), TypeError, "ragged", "values[1]");
  assert.equal(valueAt(tensor([1.5], "f16"), 0), 1.5);
});

Deno.test("seeded random is reproducible and has the right moments", () => {
  const a = randn([10000], { seed: 7 });
  assert.deepEqual(a.data, randn([10000], { seed: 7 }).data);
  assert.notDeepEqual(a.data.slice(0, 4), randn([4], { seed: 8 }).data);
  const s = stats(a);
  assert.ok(Math.abs(s.mean) < 0.05 && Math.abs(s.std - 1) < 0.05, `mean ${s.mean} std ${s.std}`);
  const u = stats(rand([10000], { seed: 1, lo: -1, hi: 1 }));
  assert.ok(u.min >= -1 && u.max < 1 && Math.abs(u.mean) < 0.05);
  const r = new Rng(3);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[r.int(4)]!++;
  assert.ok(counts.every((c) => c > 900 && c < 1100), `${counts}`);
});

Deno.test("reshape, slicing, transpose and concat", async () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(reshape(t, [3, -1]).shape, [3, 2]);
  await assertThrowsMessage(() => reshape(t, [4, -1]), RangeError, "[2, 3]", "[4, -1]");
  assert.deepEqual([...sliceRows(t, 1, 2).data], [4, 5, 6]);
  assert.deepEqual([...sliceCols(t, 1, 3).data], [2, 3, 5, 6]);
  await assertThrowsMessage(() => sliceCols(t, 2, 4), RangeError, "[2, 4)", "[2, 3]");
  assert.deepEqual([...transpose(t).data], [1, 4, 2, 5, 3, 6]);
  const big = randn([70, 45], { seed: 2 }) as Tensor<"f32">;
  assert.deepEqual(transpose(transpose(big)).data, big.data);
  assert.deepEqual(concatRows([t, t]).shape, [4, 3]);
  await assertThrowsMessage(() => concatRows([t, tensor([[1, 2]])]), TypeError, "part 1", "[1, 2]");
  const dst = zeros([2, 4]);
  setCols(dst, 1, t);
  assert.deepEqual([...dst.data], [0, 1, 2, 3, 0, 4, 5, 6]);
  assert.deepEqual([...eye(2).data], [1, 0, 0, 1]);
  assert.deepEqual([...full([2], 3).data], [3, 3]);
});

Deno.test("astype rounds ties to even and saturates", async () => {
  const t = tensor([0.5, 1.5, 2.5, -0.5, 300, -300]);
  assert.deepEqual([...astype(t, "i8").data], [0, 2, 2, 0, 127, -128]);
  assert.deepEqual([...astype(t, "u8").data], [0, 2, 2, 0, 255, 0]);
  await assertThrowsMessage(() => astype(tensor([NaN]), "i32"), RangeError, "NaN");
  const h = astype(tensor([1, 0.1, 65504, 1e6]), "f16");
  assert.deepEqual([...h.data], [0x3c00, 0x2e66, 0x7bff, 0x7c00]);
  assertAllClose(astype(h, "f32"), tensor([1, 0.0999755859375, 65504, Infinity]));
});

Deno.test("numeric helpers: ties-to-even, f16 and bf16 bits", () => {
  assert.deepEqual([0.5, 1.5, 2.5, -1.5, -2.5, 2.4].map(roundHalfEven), [0, 2, 2, -2, -2, 2]);
  for (const v of [0, -0, 1, -2, 0.333, 6e-8, 1e-5, 65504]) {
    const back = f16BitsToF32(f32ToF16Bits(v));
    assert.ok(Math.abs(back - v) <= Math.abs(v) * 1e-3 + 6e-8, `${v} -> ${back}`);
  }
  assert.equal(f32ToBf16Bits(1), 0x3f80);
  assert.equal(f32ToBf16Bits(-2), 0xc000);
});

Deno.test("elementwise math broadcasts rows and rejects mismatches", async () => {
  const a = tensor([[1, 2], [3, 4]]);
  assert.deepEqual([...add(a, tensor([10, 20])).data], [11, 22, 13, 24]);
  assert.deepEqual([...mul(a, 2).data], [2, 4, 6, 8]);
  assert.deepEqual([...sub(a, a).data], [0, 0, 0, 0]);
  assert.deepEqual([...div(a, a).data], [1, 1, 1, 1]);
  await assertThrowsMessage(() => add(a, tensor([1, 2, 3])), TypeError, "[3]", "[2, 2]");
  assert.equal(maxAbsDiff(a, add(a, 0.5)), 0.5);
});
