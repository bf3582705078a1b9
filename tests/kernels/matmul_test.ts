// SPDX-License-Identifier: MIT
/** matmul and accumulateHessian kernels against the CPU reference (lib/ops/ts). */
import assert from "node:assert/strict";
import { accumulateHessian as hessianGpu } from "../../kernels/hessian.ts";
import { matmul as matmulGpu } from "../../kernels/matmul.ts";
import * as ref from "../../lib/ops/ts/mod.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";

/** f32 accumulation on the GPU vs f64 on the CPU, K ≤ 300 terms of N(0, 1) products. */
const MATMUL_ATOL = 2e-5;
const MATMUL_RTOL = 1e-5;
/** XᵀX over ≤ 200 tokens in f32, added to an f64 H. */
const HESSIAN_ATOL = 3e-5;
const HESSIAN_RTOL = 1e-5;

gpuTest("matmul() matches the CPU for sizes that are not tile multiples, 1×N and N×1", async (ctx) => {
  const cases: [number, number, number][] = [[70, 33, 65], [1, 100, 5], [130, 17, 1], [64, 64, 64], [3, 1, 2], [
    5,
    0,
    4,
  ]];
  for (const [m, k, n] of cases) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const A = randnF32(transA ? [k, m] : [m, k], m * 1000 + k);
        const B = randnF32(transB ? [n, k] : [k, n], n * 1000 + k + 1);
        const o = { transA, transB };
        assertAllClose(await matmulGpu(ctx, A, B, o), ref.matmul(A, B, o), {
          atol: MATMUL_ATOL,
          rtol: MATMUL_RTOL,
          msg: `[${m}, ${k}, ${n}] ${JSON.stringify(o)}: `,
        });
      }
    }
  }
});

gpuTest("matmul() handles 3-D batches and broadcasts a 2-D operand", async (ctx) => {
  const A3 = randnF32([3, 20, 9], 1);
  const B3 = randnF32([3, 9, 70], 2);
  const B2 = randnF32([9, 70], 3);
  const A2 = randnF32([20, 9], 4);
  for (const [A, B] of [[A3, B3], [A3, B2], [A2, B3]] as const) {
    const C = await matmulGpu(ctx, A, B);
    assert.deepEqual(C.shape, [3, 20, 70]);
    assertAllClose(C, ref.matmul(A, B), { atol: MATMUL_ATOL, rtol: MATMUL_RTOL });
  }
  const Bt = randnF32([3, 70, 9], 5);
  assertAllClose(await matmulGpu(ctx, A3, Bt, { transB: true }), ref.matmul(A3, Bt, { transB: true }), {
    atol: MATMUL_ATOL,
    rtol: MATMUL_RTOL,
  });
});

gpuTest("matmul() rejects mismatched shapes like the CPU backend", async (ctx) => {
  const A = randnF32([4, 8], 1);
  const B = randnF32([7, 2], 2);
  await assertThrowsMessage(() => matmulGpu(ctx, A, B), TypeError, "inner dimensions differ (8 != 7)", "[4, 8]");
  await assertThrowsMessage(
    () => matmulGpu(ctx, randnF32([2, 3, 4], 1), randnF32([3, 4, 5], 2)),
    TypeError,
    "batch sizes differ (2 != 3)",
  );
});

gpuTest("accumulateHessian() adds alpha·XᵀX into an f64 H and mirrors the upper triangle", async (ctx) => {
  for (const [tokens, n] of [[37, 70], [1, 5], [200, 1], [0, 3]] as const) {
    const X = randnF32([tokens, n], tokens + n);
    const H0 = new Tensor("f64", [n, n], Float64Array.from({ length: n * n }, (_, i) => (i % 7) * 0.25));
    const Hgpu = new Tensor("f64", [n, n], H0.data.slice());
    const Hcpu = new Tensor("f64", [n, n], H0.data.slice());
    await hessianGpu(ctx, Hgpu, X, 2 / Math.max(1, tokens));
    ref.accumulateHessian(Hcpu, X, 2 / Math.max(1, tokens));
    assertAllClose(Hgpu, Hcpu, { atol: HESSIAN_ATOL, rtol: HESSIAN_RTOL, msg: `[${tokens}, ${n}]: ` });
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) assert.equal(Hgpu.data[i * n + j], Hgpu.data[j * n + i]);
    }
  }
});

gpuTest("accumulateHessian() rejects NaN and mismatched shapes like the CPU backend", async (ctx) => {
  const H = new Tensor("f64", [3, 3]);
  await assertThrowsMessage(() => hessianGpu(ctx, H, randnF32([2, 4], 1)), TypeError, "X must have 3 columns");
  const X = randnF32([2, 3], 1);
  X.data[4] = NaN;
  await assertThrowsMessage(() => hessianGpu(ctx, H, X), RangeError, "NaN");
});
