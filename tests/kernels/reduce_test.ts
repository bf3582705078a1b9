// SPDX-License-Identifier: MIT
/** reduce and histogram kernels against the CPU reference (lib/ops/ts). */
import assert from "node:assert/strict";
import { histogram as histogramGpu } from "../../kernels/histogram.ts";
import { reduce as reduceGpu } from "../../kernels/reduce.ts";
import type { ReduceAxis, ReduceOp } from "../../lib/ops/ops.ts";
import * as ref from "../../lib/ops/ts/mod.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";

/** f32 tree sums vs f64 sequential sums of ≤ 30 000 N(1, 1) values. */
const REDUCE_ATOL = 1e-4;
const REDUCE_RTOL = 2e-5;
/** Elements whose f32 bin (x − lo)·fround(bins/(hi − lo)) differs from the f64 bin: at most this fraction. */
const MAX_HISTOGRAM_EDGE_RATE = 1e-3;

const OPS: readonly ReduceOp[] = ["min", "max", "absmax", "sum", "sumsq", "mean", "std"];

function shifted(shape: [number, number], seed: number, shift = 1): Tensor<"f32"> {
  const x = randnF32(shape, seed);
  for (let i = 0; i < x.size; i++) x.data[i] = (x.data[i] as number) + shift; // a mean makes std non-trivial
  return x;
}

gpuTest("reduce() matches the CPU for every op along rows, cols, groups and all", async (ctx) => {
  const axes: ReduceAxis[] = ["rows", "cols", "all", { groupSize: 5 }, { groupSize: 45 }];
  for (const shape of [[7, 45], [1, 45], [45, 1]] as [number, number][]) {
    const x = shifted(shape, shape[0]);
    for (const axis of axes) {
      if (typeof axis === "object" && shape[1] % axis.groupSize !== 0) continue;
      for (const op of OPS) {
        assertAllClose(await reduceGpu(ctx, x, op, axis), ref.reduce(x, op, axis), {
          atol: REDUCE_ATOL,
          rtol: REDUCE_RTOL,
          msg: `${op} ${JSON.stringify(axis)} [${shape}]: `,
        });
      }
    }
  }
});

gpuTest("reduce() splits long segments into chunks and merges them (two passes)", async (ctx) => {
  const x = shifted([300, 100], 11, 3); // 30 000 elements: "all" and "cols" exceed one chunk
  for (const axis of ["all", "cols"] as const) {
    for (const op of OPS) {
      assertAllClose(await reduceGpu(ctx, x, op, axis), ref.reduce(x, op, axis), {
        atol: REDUCE_ATOL,
        rtol: REDUCE_RTOL,
        msg: `${op} ${axis}: `,
      });
    }
  }
});

gpuTest("reduce() rejects bad axes and empty reductions like the CPU backend", async (ctx) => {
  const x = randnF32([4, 6], 1);
  await assertThrowsMessage(() => reduceGpu(ctx, x, "sum", { groupSize: 4 }), RangeError, "groupSize");
  await assertThrowsMessage(() => reduceGpu(ctx, x, "median" as ReduceOp, "rows"), RangeError, "median");
  await assertThrowsMessage(() => reduceGpu(ctx, new Tensor("f32", [3, 0]), "max", "rows"), RangeError, "0 elements");
  assert.deepEqual((await reduceGpu(ctx, new Tensor("f32", [0, 3]), "sum", "rows")).shape, [0]);
});

gpuTest("histogram() matches the CPU counts up to rare bin-edge cases", async (ctx) => {
  for (const [bins, shape] of [[16, [50, 80]], [3000, [64, 100]], [1, [3, 3]]] as [number, [number, number]][]) {
    const x = randnF32(shape, bins);
    x.data[0] = Infinity;
    x.data[1] = -Infinity;
    x.data[2] = 10; // above hi: last bin
    const got = await histogramGpu(ctx, x, bins, -2, 2);
    const want = ref.histogram(x, bins, -2, 2);
    assert.equal(got.data.reduce((a, b) => a + b, 0), x.size);
    let moved = 0;
    for (let b = 0; b < bins; b++) moved += Math.abs((got.data[b] as number) - (want.data[b] as number));
    assert.ok(moved / 2 <= MAX_HISTOGRAM_EDGE_RATE * x.size, `${moved / 2} of ${x.size} elements moved bins`);
  }
  await assertThrowsMessage(
    () => histogramGpu(ctx, new Tensor("f32", [1], new Float32Array([NaN])), 4, 0, 1),
    RangeError,
    "NaN",
  );
  await assertThrowsMessage(() => histogramGpu(ctx, randnF32([2, 2], 1), 4, 1, 1), RangeError, "lo < hi");
});

gpuTest("histogram() puts exact bin centres in the same bins as the CPU", async (ctx) => {
  const bins = 10;
  const x = new Tensor("f32", [1, 40], Float32Array.from({ length: 40 }, (_, i) => -1 + (i % 10) * 0.2 + 0.1));
  assert.deepEqual(
    Array.from((await histogramGpu(ctx, x, bins, -1, 1)).data),
    Array.from(ref.histogram(x, bins, -1, 1).data),
  );
});
