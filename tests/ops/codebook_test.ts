// SPDX-License-Identifier: MIT
/** codebookQuantize (lib/ops/ts/codebook.ts); blas shares the code, checked identical. */
import { NF4_LEVELS } from "../../lib/quant/codebook.ts";
import assert from "node:assert/strict";
import { codebookQuantize } from "../../lib/ops/ts/codebook.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertThrowsMessage } from "../_assert.ts";
import { blasTest } from "../_backends.ts";
import { randF32 } from "./_data.ts";

/** NF4 levels (QLoRA, Dettmers et al. 2023, appendix E), rounded to f32. */
const NF4 = NF4_LEVELS;

const scalar = (v: number) => new Tensor("f32", [1, 1], new Float32Array([v]));

Deno.test("codebookQuantize() picks the nearest level (brute force) and scales back", () => {
  const x = randF32([6, 16], 3, 0.6);
  const scale = new Tensor("f32", [6, 2], Float32Array.from({ length: 12 }, (_, i) => 0.5 + i / 10));
  const { values, codes } = codebookQuantize(x, NF4, scale);
  for (let i = 0; i < x.size; i++) {
    const s = scale.data[Math.floor(i / 16) * 2 + Math.floor((i % 16) / 8)]!;
    const t = Math.fround(x.data[i]! * Math.fround(1 / s));
    let best = 0;
    for (let k = 1; k < NF4.length; k++) if (Math.abs(t - NF4[k]!) < Math.abs(t - NF4[best]!)) best = k;
    assert.equal(codes.data[i], best, `element ${i}`);
    assert.equal(values.data[i], Math.fround(NF4[best]! * s));
  }
});

Deno.test("codebookQuantize() breaks ties toward the lower index and clamps to the end levels", () => {
  const levels = new Float32Array([-1, 0, 1]);
  const x = new Tensor("f32", [1, 5], new Float32Array([-0.5, 0.5, -9, 9, 0]));
  const { codes, values } = codebookQuantize(x, levels, scalar(1));
  assert.deepEqual(Array.from(codes.data), [0, 1, 0, 2, 1]);
  assert.deepEqual(Array.from(values.data), [-1, 0, -1, 1, 0]);
  const single = codebookQuantize(x, new Float32Array([0.5]), scalar(2));
  assert.deepEqual(Array.from(single.values.data), [1, 1, 1, 1, 1]);
});

Deno.test("codebookQuantize() rejects bad levels, scales and inputs", async () => {
  const x = randF32([2, 4], 1);
  await assertThrowsMessage(
    () => codebookQuantize(x, new Float32Array([0, 0]), scalar(1)),
    RangeError,
    "strictly ascending at index 1",
  );
  await assertThrowsMessage(
    () => codebookQuantize(x, new Float32Array([1, 0]), scalar(1)),
    RangeError,
    "strictly ascending",
  );
  await assertThrowsMessage(() => codebookQuantize(x, new Float32Array(0), scalar(1)), RangeError, "0 levels");
  await assertThrowsMessage(
    () => codebookQuantize(x, new Float32Array(257).map((_, i) => i), scalar(1)),
    RangeError,
    "257 levels",
  );
  await assertThrowsMessage(
    () => codebookQuantize(x, new Float32Array([0, NaN]), scalar(1)),
    RangeError,
    "must be finite",
  );
  await assertThrowsMessage(() => codebookQuantize(x, NF4, scalar(0)), RangeError, "scale 0");
  await assertThrowsMessage(
    () => codebookQuantize(x, NF4, new Tensor("f32", [1, 3])),
    TypeError,
    "4 columns into 3 groups",
  );
  const bad = randF32([2, 4], 1);
  bad.data[0] = NaN;
  await assertThrowsMessage(() => codebookQuantize(bad, NF4, scalar(1)), RangeError, "element [0, 0] is NaN");
});

blasTest("codebookQuantize() is identical to ts", async (blas) => {
  const x = randF32([5, 32], 2);
  const scale = new Tensor("f32", [5, 4], Float32Array.from({ length: 20 }, (_, i) => 0.3 + i / 40));
  const a = await blas.codebookQuantize(x, NF4, scale);
  const b = codebookQuantize(x, NF4, scale);
  assert.deepEqual(a.codes.data, b.codes.data);
  assert.deepEqual(a.values.data, b.values.data);
});
