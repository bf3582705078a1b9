// SPDX-License-Identifier: MIT
/**
 * GPTQ on the WebGPU ops (block-sweep kernel + GPU matmul; the factorization stays on the CPU
 * in f64) against the ts backend. Runs wherever an adapter exists (lavapipe included).
 *
 * @module
 */
import assert from "node:assert/strict";
import { gptq } from "../../lib/reconstruct/gptq.ts";
import { unpack } from "../../lib/ops/ts/pack.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { createWebgpuOps } from "../../kernels/webgpu_ops.ts";
import { assertAllClose } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { randomHessian, randomWeights } from "./_data.ts";

/**
 * Codes may differ where a value lies within f32 rounding of a grid midpoint: the GPU sums
 * the trailing update in another order (and may fuse multiply-adds). A flip feeds a different
 * error to the rest of its row, so flips come in short runs.
 */
const MAX_CODE_MISMATCH_RATE = 0.01;
const LOSS_AGREEMENT_RTOL = 0.02;

gpuTest("gptq on webgpu gives the same codes as ts (within the tie rate)", async (ctx) => {
  const ops = createWebgpuOps(ctx, { cpu: tsOps });
  const W = randomWeights(32, 128, 1);
  const H = randomHessian(128, 2);
  for (const actOrder of [false, true]) {
    const spec = { format: "int", bits: 3, groupSize: 32, symmetric: false } as const;
    const a = await gptq(W, H, { spec, actOrder, blockSize: 64 });
    const b = await gptq(W, H, { spec, actOrder, blockSize: 64, ops });
    const ca = unpack(a.quantized.codes).data, cb = unpack(b.quantized.codes).data;
    let diff = 0;
    for (let i = 0; i < ca.length; i++) if (ca[i] !== cb[i]) diff++;
    assert.ok(diff / ca.length <= MAX_CODE_MISMATCH_RATE, `${diff} of ${ca.length} codes differ`);
    assertAllClose([b.totalLoss], [a.totalLoss], { rtol: LOSS_AGREEMENT_RTOL, atol: 0 });
  }
});
