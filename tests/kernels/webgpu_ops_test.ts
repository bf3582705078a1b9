// SPDX-License-Identifier: MIT
/** The WebGPU `Ops`: every method against tsOps, CPU delegation, and device-loss fallback. */
import assert from "node:assert/strict";
import { requireDevice } from "../../kernels/runtime/device.ts";
import { createWebgpuOps } from "../../kernels/webgpu_ops.ts";
import type { Ops } from "../../lib/ops/ops.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";

/** Loose: this file checks wiring; the kernel files check numerics closely. */
const ATOL = 1e-4;
const RTOL = 1e-4;

/** Runs one call of every array-valued op on `ops`; returns the results in a fixed order. */
async function everyOp(ops: Ops): Promise<ArrayLike<number>[]> {
  const A = randnF32([9, 6], 1);
  const B = randnF32([6, 5], 2);
  const params = {
    scale: new Tensor("f32", [9, 2], new Float32Array(18).fill(0.25)),
    zero: new Tensor("f32", [9, 2], new Float32Array(18).fill(8)),
    maxq: 15,
  };
  const H = new Tensor("f64", [6, 6]);
  await ops.accumulateHessian(H, A, 0.5);
  const codes = await ops.quantizeCodes(A, params);
  const packed = await ops.pack(codes, 4);
  const hinv = new Tensor("f32", [6, 6]);
  for (let j = 0; j < 6; j++) hinv.data[j * 7] = 1;
  const rowParams = {
    scale: new Tensor("f32", [1, 1], new Float32Array([0.25])),
    zero: new Tensor("f32", [1, 1], new Float32Array([8])),
    maxq: 15,
  };
  const book = await ops.codebookQuantize(A, new Float32Array([-1, 0, 1]), params.scale);
  const gptq = await ops.gptqBlock(A, hinv, rowParams);
  return [
    (await ops.matmul(A, B)).data,
    H.data,
    (await ops.reduce(A, "std", "cols")).data,
    (await ops.histogram(A, 8, -2, 2)).data,
    (await ops.fakeQuantize(A, params)).data,
    codes.data,
    book.values.data,
    book.codes.data,
    packed.words.data,
    (await ops.unpack(packed)).data,
    (await ops.dequantMatvec(packed, params, randnF32([6], 3))).data,
    (await ops.fwht(randnF32([3, 8], 4))).data,
    gptq.Q.data,
    gptq.err.data,
    gptq.codes.data,
  ];
}

gpuTest("createWebgpuOps() implements every op like tsOps", async (ctx) => {
  const ops = createWebgpuOps(ctx, { cpu: tsOps });
  assert.equal(ops.name, "webgpu");
  assert.match(ops.info, /^WebGPU: .*; CPU ops: ts$/);
  const got = await everyOp(ops);
  const want = await everyOp(tsOps);
  got.forEach((g, i) => assertAllClose(g, want[i]!, { atol: ATOL, rtol: RTOL, msg: `result ${i}: ` }));
});

gpuTest("createWebgpuOps() sends Cholesky and triangular ops to the CPU ops", async (ctx) => {
  const calls: string[] = [];
  const cpu: Ops = {
    ...tsOps,
    name: "ts",
    cholesky: (A) => (calls.push("cholesky"), tsOps.cholesky(A)),
    triangularInverse: (T, o) => (calls.push("triangularInverse"), tsOps.triangularInverse(T, o)),
    triangularSolve: (T, B, o) => (calls.push("triangularSolve"), tsOps.triangularSolve(T, B, o)),
  };
  const ops = createWebgpuOps(ctx, { cpu });
  const A = new Tensor("f64", [2, 2], new Float64Array([4, 2, 2, 3]));
  const L = await ops.cholesky(A);
  await ops.triangularInverse(L, { lower: true });
  await ops.triangularSolve(L, new Tensor("f64", [2, 1], new Float64Array([1, 1])), { lower: true });
  assert.deepEqual(calls, ["cholesky", "triangularInverse", "triangularSolve"]);
  assert.throws(() => createWebgpuOps(ctx, {} as { cpu: Ops }), TypeError);
});

gpuTest("after a device loss every op falls back to the CPU ops with one warning", async () => {
  const ctx = await requireDevice(); // a device of its own, destroyed below
  const warnings: string[] = [];
  const ops = createWebgpuOps(ctx, { cpu: tsOps, onWarning: (m) => warnings.push(m) });
  const A = randnF32([4, 3], 1);
  const before = await ops.matmul(A, A, { transB: true });
  ctx.device.destroy();
  const after = await ops.matmul(A, A, { transB: true });
  assertAllClose(after, before, { atol: ATOL, rtol: RTOL });
  const got = await everyOp(ops);
  const want = await everyOp(tsOps);
  got.forEach((g, i) => assert.deepEqual(Array.from(g), Array.from(want[i]!), `result ${i}`));
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0]!, /device was lost \(destroyed.*"ts" backend/);
  assert.deepEqual(ctx.warnings, [], "with onWarning, nothing is queued on the context");
});

gpuTest("without onWarning the fallback warning is queued on ctx.warnings", async () => {
  const ctx = await requireDevice();
  const ops = createWebgpuOps(ctx, { cpu: tsOps });
  ctx.device.destroy();
  await ops.reduce(randnF32([2, 2], 1), "sum", "all");
  await ops.reduce(randnF32([2, 2], 1), "sum", "all");
  assert.equal(ctx.warnings.length, 1);
});
