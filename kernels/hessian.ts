// SPDX-License-Identifier: MIT
/**
 * Hessian accumulation `H += alpha · XᵀX` with XᵀX computed on WebGPU in f32 (kernel:
 * `hessian.wgsl`, upper-triangle tiles only) and added into the f64 H on the host, because
 * WGSL has no f64. Same contract as `Ops.accumulateHessian`: the upper triangle of H is read
 * and the full symmetric matrix written.
 *
 * @module
 */
import { checkHessianArgs } from "../lib/ops/ts/hessian.ts";
import { checkFinite } from "../lib/ops/ts/_check.ts";
import type { Tensor } from "../lib/tensor/tensor.ts";
import { emptyTensor, type GpuTensor, upload } from "./runtime/buffers.ts";
import type { GpuContext } from "./runtime/device.ts";
import { type KernelSpec, runKernels } from "./runtime/dispatch.ts";
import { defineParams } from "./runtime/params.ts";
import { matrix } from "./_checks.ts";
import { HESSIAN_WGSL } from "./_wgsl.gen.ts";

/** Output tile edge of `hessian.wgsl` with the default `WG = 16`. */
const TILE = 64;

/** The `hessian.wgsl` kernel and its `Params` layout. */
export const HESSIAN_KERNEL: KernelSpec = {
  name: "hessian",
  code: HESSIAN_WGSL,
  bindings: ["read", "rw", "uniform"],
  params: defineParams([["tokens", "u32"], ["n", "u32"]]),
};

/**
 * G = XᵀX on the device, upper triangle only (entries below the diagonal are 0).
 *
 * @param ctx device context
 * @param X f32 `[tokens, n]`
 * @returns f32 `[n, n]` with G[i, j] valid for j ≥ i (caller disposes)
 */
export async function gramUpperGpu(ctx: GpuContext, X: GpuTensor): Promise<GpuTensor<"f32">> {
  const [tokens, n] = matrix("accumulateHessian", "X", X);
  const G = emptyTensor(ctx, "f32", [n, n]);
  if (n === 0 || tokens === 0) return G;
  const tiles = Math.ceil(n / TILE);
  try {
    await runKernels(ctx, "accumulateHessian", [{
      kernel: HESSIAN_KERNEL,
      tensors: [X, G],
      params: { tokens, n },
      workgroups: [tiles, tiles],
    }]);
  } catch (e) {
    G.dispose();
    throw e;
  }
  return G;
}

/**
 * In place `H += alpha · XᵀX` (same contract as `Ops.accumulateHessian`).
 *
 * @param ctx device context
 * @param H f64 `[n, n]` symmetric (its upper triangle is read), updated in place
 * @param X f32 `[tokens, n]`, finite
 * @param alpha finite scale (default 1)
 * @throws {TypeError} on dtype/shape mismatch; {RangeError} on NaN/Inf in X or alpha
 */
export async function accumulateHessian(
  ctx: GpuContext,
  H: Tensor<"f64">,
  X: Tensor<"f32">,
  alpha = 1,
): Promise<void> {
  const n = checkHessianArgs("accumulateHessian", H, X, alpha);
  checkFinite("accumulateHessian", "X", X);
  using gX = upload(ctx, X);
  using gG = await gramUpperGpu(ctx, gX);
  const g = (await gG.read()).data;
  const h = H.data;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = (h[i * n + j] as number) + alpha * (g[i * n + j] as number);
      h[i * n + j] = v;
      h[j * n + i] = v;
    }
  }
}
