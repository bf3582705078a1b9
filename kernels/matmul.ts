// SPDX-License-Identifier: MIT
/**
 * Tiled f32 matrix multiplication on WebGPU (kernel: `matmul.wgsl`), with transposed and
 * batched operands.
 *
 * @module
 */
import type { MatmulOptions } from "../lib/ops/ops.ts";
import { formatShape, type Tensor } from "../lib/tensor/tensor.ts";
import { emptyTensor, type GpuTensor, upload } from "./runtime/buffers.ts";
import type { GpuContext } from "./runtime/device.ts";
import { type KernelSpec, runKernels } from "./runtime/dispatch.ts";
import { defineParams } from "./runtime/params.ts";
import { matmulShape as checkMatmul } from "../lib/ops/ts/_matmul_shape.ts";
import { checkDType } from "./_checks.ts";
import { MATMUL_WGSL } from "./_wgsl.gen.ts";

/** Output tile edge of `matmul.wgsl` with the default `WG = 16`. */
const TILE = 64;

/** The `matmul.wgsl` kernel and its `Params` layout. */
export const MATMUL_KERNEL: KernelSpec = {
  name: "matmul",
  code: MATMUL_WGSL,
  bindings: ["read", "read", "rw", "uniform"],
  params: defineParams([
    ["m", "u32"],
    ["n", "u32"],
    ["k", "u32"],
    ["trans_a", "u32"],
    ["trans_b", "u32"],
    ["stride_a", "u32"],
    ["stride_b", "u32"],
  ]),
};

interface MatmulShape {
  batch: number;
  m: number;
  n: number;
  k: number;
  strideA: number;
  strideB: number;
  /** Output shape: 2-D when both inputs are 2-D, else `[batch, M, N]`. */
  out: number[];
}

/** Resolves shapes: 2-D or 3-D operands; a 2-D operand broadcasts over the other's batch. */
function matmulShape(
  A: { shape: readonly number[] },
  B: { shape: readonly number[] },
  transA: boolean,
  transB: boolean,
): MatmulShape {
  const rankA = A.shape.length;
  const rankB = B.shape.length;
  if ((rankA !== 2 && rankA !== 3) || (rankB !== 2 && rankB !== 3)) {
    throw new TypeError(
      `matmul: Cannot multiply A of shape ${formatShape(A.shape)} by B of shape ${formatShape(B.shape)}: ` +
        `expected 2-D or 3-D tensors`,
    );
  }
  const [ra, ca] = A.shape.slice(-2) as [number, number];
  const [rb, cb] = B.shape.slice(-2) as [number, number];
  const [m, ka] = transA ? [ca, ra] : [ra, ca];
  const [kb, n] = transB ? [cb, rb] : [rb, cb];
  if (ka !== kb) {
    throw new TypeError(
      `matmul: Cannot multiply A of shape ${formatShape(A.shape)} by B of shape ${formatShape(B.shape)}: ` +
        `inner dimensions differ (${ka} != ${kb})`,
    );
  }
  const batchA = rankA === 3 ? A.shape[0] as number : 0;
  const batchB = rankB === 3 ? B.shape[0] as number : 0;
  if (rankA === 3 && rankB === 3 && batchA !== batchB) {
    throw new TypeError(
      `matmul: Cannot multiply A of shape ${formatShape(A.shape)} by B of shape ${formatShape(B.shape)}: ` +
        `batch sizes differ (${batchA} != ${batchB})`,
    );
  }
  const batched = rankA === 3 || rankB === 3;
  const batch = batched ? Math.max(batchA, batchB) : 1;
  return {
    batch,
    m,
    n,
    k: ka,
    strideA: rankA === 3 ? m * ka : 0,
    strideB: rankB === 3 ? ka * n : 0,
    out: batched ? [batch, m, n] : [m, n],
  };
}

/**
 * C = op(A) · op(B) on device tensors.
 *
 * @param ctx device context
 * @param A f32 `[M, K]` or `[batch, M, K]` (`[.., K, M]` with `transA`)
 * @param B f32 `[K, N]` or `[batch, K, N]` (`[.., N, K]` with `transB`); a 2-D operand is
 *   shared by every batch of a 3-D one
 * @param options `transA`, `transB`
 * @returns f32 `[M, N]`, or `[batch, M, N]` when an operand is 3-D (caller disposes)
 */
export async function matmulGpu(
  ctx: GpuContext,
  A: GpuTensor,
  B: GpuTensor,
  options: MatmulOptions = {},
): Promise<GpuTensor<"f32">> {
  checkDType("matmul", "A", A, "f32");
  checkDType("matmul", "B", B, "f32");
  const s = matmulShape(A, B, options.transA ?? false, options.transB ?? false);
  const C = emptyTensor(ctx, "f32", s.out);
  if (C.size === 0) return C;
  try {
    await runKernels(ctx, "matmul", [{
      kernel: MATMUL_KERNEL,
      tensors: [A, B, C],
      params: {
        m: s.m,
        n: s.n,
        k: s.k,
        trans_a: options.transA ? 1 : 0,
        trans_b: options.transB ? 1 : 0,
        stride_a: s.strideA,
        stride_b: s.strideB,
      },
      workgroups: [Math.ceil(s.n / TILE), Math.ceil(s.m / TILE), s.batch],
    }]);
  } catch (e) {
    C.dispose();
    throw e;
  }
  return C;
}

/**
 * C = op(A) · op(B) in f32 (same contract as `Ops.matmul`).
 *
 * @param ctx device context
 * @param A f32 `[M, K]` or `[batch, M, K]` (`[.., K, M]` with `transA`)
 * @param B f32 `[K, N]` or `[batch, K, N]` (`[.., N, K]` with `transB`)
 * @param options `transA`, `transB`
 * @returns f32 `[M, N]` or `[batch, M, N]`
 */
export async function matmul(
  ctx: GpuContext,
  A: Tensor<"f32">,
  B: Tensor<"f32">,
  options: MatmulOptions = {},
): Promise<Tensor<"f32">> {
  checkMatmul(A, B, options); // the CPU backend's validation: same errors, before uploading
  using gA = upload(ctx, A);
  using gB = upload(ctx, B);
  using gC = await matmulGpu(ctx, gA, gB, options);
  return await gC.read();
}
