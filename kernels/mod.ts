// SPDX-License-Identifier: MIT
/**
 * quantlab's WebGPU backend (`@quantlab/quantlab/webgpu`): WGSL kernels for the hot ops,
 * validated against the CPU reference in `lib/ops`, behind the same `Ops` interface.
 *
 * - {@link getDevice} returns a {@link GpuContext} or `null` (never throws at import);
 * - {@link createWebgpuOps} wraps it as `Ops` (Cholesky/triangular ops and device-loss
 *   fallback go to the CPU ops you pass);
 * - per-kernel functions (`matmul(ctx, A, B)`, `fwhtGpu(ctx, gx)`, ...) for direct use, the
 *   `*Gpu` variants taking and returning {@link GpuTensor}s so chains stay on the device.
 *
 * On a software adapter (lavapipe, llvmpipe: `ctx.isFallbackAdapter`) the kernels are
 * correct but slower than the CPU backends.
 *
 * @example Pick the GPU when there is a real one
 * ```ts ignore
 * import { createWebgpuOps, getDevice } from "@quantlab/quantlab/webgpu";
 * const ctx = await getDevice();
 * const ops = ctx && !ctx.isFallbackAdapter ? createWebgpuOps(ctx, { cpu: tsOps }) : tsOps;
 * ```
 *
 * @module
 */
export { describeContext, getDevice, requireDevice } from "./runtime/device.ts";
export type { GetDeviceOptions, GpuAdapterSummary, GpuContext, GpuLostInfo } from "./runtime/device.ts";
export { GpuUnavailableError, ShaderCompileError } from "./runtime/errors.ts";
export type { ShaderMessage } from "./runtime/errors.ts";
export { emptyTensor, GpuTensor, readTensors, upload } from "./runtime/buffers.ts";
export type { GpuDType } from "./runtime/buffers.ts";
export { PipelineCache } from "./runtime/pipeline_cache.ts";
export type { BindingKind, CompiledKernel, KernelDef, OverrideConstants } from "./runtime/pipeline_cache.ts";
export { createWebgpuOps, webgpuOps } from "./webgpu_ops.ts";
export type { WebgpuOpsOptions, WebgpuOpsRequest } from "./webgpu_ops.ts";

export { matmul, matmulGpu } from "./matmul.ts";
export { accumulateHessian, gramUpperGpu } from "./hessian.ts";
export { reduce, reduceGpu } from "./reduce.ts";
export { histogram, histogramGpu } from "./histogram.ts";
export { fakeQuantize, quantizeCodes, quantizeGpu, uploadIntParams } from "./quantize.ts";
export type { GpuIntParams } from "./quantize.ts";
export { codebookQuantize, codebookQuantizeGpu } from "./codebook_quantize.ts";
export { pack, packGpu } from "./pack.ts";
export { unpack, unpackGpu } from "./unpack.ts";
export { dequantMatvec, dequantMatvecGpu } from "./dequant_matvec.ts";
export { fwht, fwhtGpu } from "./fwht.ts";
export type { FwhtGpuOptions, FwhtOptions } from "./fwht.ts";
export { gptqBlock, gptqBlockGpu } from "./gptq_block.ts";
export type { GpuGptqBlockResult } from "./gptq_block.ts";
export { type BackendOptions, getBackend } from "./backend.ts";
