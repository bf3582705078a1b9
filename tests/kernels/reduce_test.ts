// SPDX-License-Identifier: MIT
/** reduce and histogram kernels against the CPU reference (lib/ops/ts). */
import assert from "node:assert/strict";
import { binEdges, histogram as histogramGpu } from "../../kernels/histogram.ts";
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

gpuTest("histogram() counts exactly like the CPU, infinities and out-of-range values included", async (ctx) => {
  for (const [bins, shape] of [[16, [50, 80]], [3000, [64, 100]], [1, [3, 3]]] as [number, [number, number]][]) {
    const x = randnF32(shape, bins);
    x.data[0] = Infinity;
    x.data[1] = -Infinity;
    x.data[2] = 10; // above hi: last bin
    const got = await histogramGpu(ctx, x, bins, -2, 2);
    assert.deepEqual(Array.from(got.data), Array.from(ref.histogram(x, bins, -2, 2).data), `${bins} bins`);
  }
  await assertThrowsMessage(
    () => histogramGpu(ctx, new Tensor("f32", [1], new Float32Array([NaN])), 4, 0, 1),
    RangeError,
    "NaN",
  );
  await assertThrowsMessage(() => histogramGpu(ctx, randnF32([2, 2], 1), 4, 1, 1), RangeError, "lo < hi");
});

gpuTest("histogram() bins values on and next to every edge like the CPU's f64 rule", async (ctx) => {
  const [bins, lo, hi] = [1000, -0.3, 0.7];
  const edges = binEdges(bins, lo, hi);
  const near: number[] = [];
  for (let b = 1; b < bins; b++) {
    const e = edges[b] as number;
    near.push(
      e,
      Math.fround(e * (1 - 2 ** -23)),
      Math.fround(e * (1 + 2 ** -23)),
      Math.fround(lo + (b * (hi - lo)) / bins),
    );
  }
  const x = new Tensor("f32", [near.length], Float32Array.from(near));
  const got = await histogramGpu(ctx, x, bins, lo, hi);
  assert.deepEqual(Array.from(got.data), Array.from(ref.histogram(x, bins, lo, hi).data));
});
