// SPDX-License-Identifier: MIT
/** paramsFromObserver: per-group observer calls assemble the same parameters as the grouped min-max fit. */
import assert from "node:assert/strict";
import { minmaxObserver, paramsFromObserver } from "../../lib/quant/group_params.ts";
import { minmaxParams } from "../../lib/quant/minmax.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";

const SPEC = { format: "int", bits: 4, groupSize: 16, symmetric: false } as const;

Deno.test("paramsFromObserver(minmaxObserver) equals minmaxParams with groups and per channel", async () => {
  const W = randnF32([6, 64], 3);
  for (const spec of [SPEC, { ...SPEC, groupSize: 0 }, { ...SPEC, symmetric: true, bits: 3 }]) {
    const p = await paramsFromObserver(W, spec, minmaxObserver), ref = minmaxParams(W, spec);
    assert.equal(p.maxq, ref.maxq);
    assertAllClose(p.scale, ref.scale, { atol: 0, rtol: 0, msg: `${spec.groupSize} scale: ` });
    assertAllClose(p.zero, ref.zero, { atol: 0, rtol: 0, msg: `${spec.groupSize} zero: ` });
  }
});

Deno.test("paramsFromObserver broadcasts a [1, 1] observer result to every row, one call per group", async () => {
  const W = randnF32([3, 48], 4);
  const slices: number[][] = [];
  const p = await paramsFromObserver(W, SPEC, (S) => {
    slices.push([...S.shape]);
    const g = slices.length;
    return { scale: new Tensor("f32", [1, 1], new Float32Array([g])), zero: new Tensor("f32", [1, 1]), maxq: 15 };
  });
  assert.deepEqual(slices, [[3, 16], [3, 16], [3, 16]]);
  assert.deepEqual(Array.from(p.scale.data), [1, 2, 3, 1, 2, 3, 1, 2, 3]);
  await assertThrowsMessage(
    () => paramsFromObserver(randnF32([2, 40], 5), SPEC, minmaxObserver),
    RangeError,
    "paramsFromObserver",
    "40 columns into groups of 16",
  );
});
