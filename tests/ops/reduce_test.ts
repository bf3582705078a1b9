// SPDX-License-Identifier: MIT
/** reduce and histogram (lib/ops/ts/reduce.ts); blas shares the code, checked identical. */
import assert from "node:assert/strict";
import type { ReduceAxis, ReduceOp } from "../../lib/ops/ops.ts";
import { histogram, reduce } from "../../lib/ops/ts/reduce.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { blasTest } from "../_backends.ts";
import { randF32 } from "./_data.ts";

/** f64 accumulation rounded once to f32: half an f32 ulp, plus slack for sum order. */
const RTOL = 2e-7;
const ATOL = 1e-6;

const OPS: ReduceOp[] = ["min", "max", "absmax", "sum", "sumsq", "mean", "std"];

/** Naive reference of one op over a list of numbers. */
function ref(op: ReduceOp, v: number[]): number {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  switch (op) {
    case "min":
      return Math.min(...v);
    case "max":
      return Math.max(...v);
    case "absmax":
      return Math.max(...v.map(Math.abs));
    case "sum":
      return v.reduce((a, b) => a + b, 0);
    case "sumsq":
      return v.reduce((a, b) => a + b * b, 0);
    case "mean":
      return mean;
    case "std":
      return Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  }
}

function segments(x: Tensor<"f32">, axis: ReduceAxis): number[][] {
  const [rows, cols] = x.shape as [number, number];
  const at = (r: number, c: number) => x.data[r * cols + c] as number;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  if (axis === "rows") return range(rows).map((r) => range(cols).map((c) => at(r, c)));
  if (axis === "cols") return range(cols).map((c) => range(rows).map((r) => at(r, c)));
  if (axis === "all") return [Array.from(x.data)];
  const g = axis.groupSize;
  return range(rows).flatMap((r) => range(cols / g).map((k) => range(g).map((i) => at(r, k * g + i))));
}

Deno.test("reduce() matches a naive reference for every op and axis", () => {
  const x = randF32([7, 12], 3, 2);
  for (let i = 0; i < x.size; i++) x.data[i] = (x.data[i] as number) + 5; // a mean far from 0 tests std
  const axes: ReduceAxis[] = ["rows", "cols", "all", { groupSize: 4 }, { groupSize: 12 }, { groupSize: 1 }];
  for (const axis of axes) {
    for (const op of OPS) {
      const y = reduce(x, op, axis);
      const expected = segments(x, axis).map((v) => ref(op, v));
      assertAllClose(y, expected, { atol: ATOL, rtol: RTOL, msg: `${op} ${JSON.stringify(axis)}: ` });
    }
  }
  assert.deepEqual(reduce(x, "sum", "rows").shape, [7]);
  assert.deepEqual(reduce(x, "sum", "cols").shape, [12]);
  assert.deepEqual(reduce(x, "sum", "all").shape, [1]);
  assert.deepEqual(reduce(x, "sum", { groupSize: 4 }).shape, [7, 3]);
});

Deno.test("reduce() std is the population standard deviation", () => {
  const x = new Tensor("f32", [1, 4], new Float32Array([1, 2, 3, 4]));
  assertAllClose(reduce(x, "std", "rows"), [Math.sqrt(1.25)], { atol: 0, rtol: RTOL });
  assert.deepEqual(Array.from(reduce(new Tensor("f32", [1, 1], new Float32Array([7])), "std", "all").data), [0]);
});

Deno.test("reduce() handles 1×N and N×1 and rejects empty reductions, bad groups and ops", async () => {
  const row = randF32([1, 9], 1);
  const col = randF32([9, 1], 1);
  assertAllClose(reduce(row, "sum", "rows"), reduce(col, "sum", "cols"), { atol: 0, rtol: 0 });
  assert.deepEqual(reduce(new Tensor("f32", [0, 3]), "sum", "rows").shape, [0]);
  await assertThrowsMessage(() => reduce(new Tensor("f32", [0, 3]), "max", "cols"), RangeError, "reduced set has 0");
  await assertThrowsMessage(() => reduce(new Tensor("f32", [2, 0]), "mean", "all"), RangeError, "reduced set has 0");
  await assertThrowsMessage(() => reduce(randF32([2, 6], 1), "sum", { groupSize: 4 }), RangeError, "groups of 4");
  await assertThrowsMessage(() => reduce(randF32([2, 6], 1), "median" as ReduceOp, "rows"), RangeError, '"median"');
  await assertThrowsMessage(() => reduce(randF32([6], 1), "sum", "rows"), TypeError, "2-D");
});

Deno.test("histogram() bins with equal widths and clamps outliers and infinities into the end bins", () => {
  const x = new Tensor("f32", [2, 4], new Float32Array([-10, -Infinity, 0, 0.24, 0.25, 0.99, 1, Infinity]));
  const h = histogram(x, 4, 0, 1);
  assert.equal(h.dtype, "u32");
  assert.deepEqual(Array.from(h.data), [4, 1, 0, 3]);
  const r = randF32([50, 40], 9);
  const counts = histogram(r, 17, -2, 2);
  assert.equal(counts.data.reduce((a, b) => a + b, 0), 2000);
});

Deno.test("histogram() rejects NaN, bad bins and bounds", async () => {
  await assertThrowsMessage(
    () => histogram(new Tensor("f32", [2], new Float32Array([1, NaN])), 4, 0, 1),
    RangeError,
    "element 1 is NaN",
  );
  await assertThrowsMessage(() => histogram(randF32([2, 2], 1), 0, 0, 1), RangeError, "0 bins");
  await assertThrowsMessage(() => histogram(randF32([2, 2], 1), 4, 1, 1), RangeError, "[1, 1]");
  await assertThrowsMessage(
    () => histogram(new Tensor("u8", [2]) as unknown as Tensor<"f32">, 4, 0, 1),
    TypeError,
    'dtype "u8"',
  );
});

blasTest("reduce() and histogram() are identical to ts", async (blas) => {
  const x = randF32([13, 24], 2);
  for (const op of OPS) {
    for (const axis of ["rows", "cols", "all", { groupSize: 8 }] as ReduceAxis[]) {
      assert.deepEqual((await blas.reduce(x, op, axis)).data, reduce(x, op, axis).data);
    }
  }
  assert.deepEqual((await blas.histogram(x, 10, -1, 1)).data, histogram(x, 10, -1, 1).data);
});
