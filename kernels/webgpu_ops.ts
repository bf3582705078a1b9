// SPDX-License-Identifier: MIT
/**
 * The WebGPU implementation of the `Ops` interface. Every op uploads its inputs, runs its
 * kernels with the data staying on the device, and reads the results back once. Cholesky
 * and triangular solves stay on the CPU by design (sequential, f64): they go to the CPU ops
 * given at construction, as does every op once the device is lost (with one warning).
 *
 * @module
 */
import type { Ops } from "../lib/ops/ops.ts";
import { scaleProductInto } from "../lib/ops/ts/matmul.ts";
import { codebookQuantize } from "./codebook_quantize.ts";
import { dequantMatvec } from "./dequant_matvec.ts";
import { fwht } from "./fwht.ts";
import { gptqBlock } from "./gptq_block.ts";
import { accumulateHessian } from "./hessian.ts";
import { histogram } from "./histogram.ts";
import { matmul } from "./matmul.ts";
import { pack } from "./pack.ts";
import { fakeQuantize, quantizeCodes } from "./quantize.ts";
import { reduce } from "./reduce.ts";
import { describeContext, type GetDeviceOptions, type GpuContext, requireDevice } from "./runtime/device.ts";
import { GpuUnavailableError } from "./runtime/errors.ts";
import { unpack } from "./unpack.ts";

/** Options of {@link createWebgpuOps}. */
export interface WebgpuOpsOptions {
  /** CPU backend for Cholesky/triangular ops and for fallback after a device loss (required). */
  cpu: Ops;
  /** Receives the fallback warning; default: appended to `ctx.warnings`. */
  onWarning?: (message: string) => void;
}

/** How long to wait for `device.lost` after a failed op before deciding it was a real error. */
const LOST_GRACE_MS = 100;

/**
 * Wraps a device context as an {@link Ops}.
 *
 * @param ctx device context from `getDevice()`
 * @param options `cpu` ops (required), `onWarning`
 * @returns ops named "webgpu"
 *
 * @example Use the GPU when there is a real one
 * ```ts ignore
 * const ctx = await getDevice();
 * const ops = ctx && !ctx.isFallbackAdapter ? createWebgpuOps(ctx, { cpu: tsOps }) : tsOps;
 * const C = await ops.matmul(A, B);
 * ```
 */
export function createWebgpuOps(ctx: GpuContext, options: WebgpuOpsOptions): Ops {
  const { cpu } = options;
  if (cpu === undefined || cpu === null) {
    throw new TypeError("createWebgpuOps: Cannot create WebGPU ops without 'cpu' ops: pass { cpu: tsOps } or blas");
  }
  const warn = options.onWarning ?? ((message: string) => ctx.warnings.push(message));
  let warned = false;

  /** Waits briefly for the loss notification that may trail a failed GPU call. */
  async function deviceWasLost(): Promise<boolean> {
    if (ctx.lost !== null) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), LOST_GRACE_MS));
    const lost = await Promise.race([ctx.device.lost.then(() => true as const), timeout]);
    clearTimeout(timer);
    return lost;
  }

  async function run<T>(op: string, onGpu: () => Promise<T>, onCpu: () => Promise<T>): Promise<T> {
    if (ctx.lost === null) {
      try {
        return await onGpu();
      } catch (e) {
        if (!(e instanceof GpuUnavailableError) && !(await deviceWasLost())) throw e;
      }
    }
    if (!warned) {
      warned = true;
      const why = ctx.lost ? `${ctx.lost.reason}: ${ctx.lost.message}` : "unavailable";
      warn(`webgpu: the device was lost (${why}); ${op} and all later ops run on the "${cpu.name}" backend`);
    }
    return await onCpu();
  }

  return {
    name: "webgpu",
    info: `${describeContext(ctx)}; CPU ops: ${cpu.name}`,
    matmul: (A, B, o) =>
      run(
        "matmul",
        async () =>
          o?.out || o?.alpha !== undefined || o?.beta !== undefined
            // the product on the device; alpha/beta/out applied on the host, as the ts spec
            ? scaleProductInto(await matmul(ctx, A, B, { transA: o.transA, transB: o.transB }), A, B, o)
            : await matmul(ctx, A, B, o),
        () => cpu.matmul(A, B, o),
      ),
    // strided in-place windows of host arrays: the CPU backend's gemm (sgemm on blas)
    gemm: (C, A, B, o) => cpu.gemm(C, A, B, o),
    accumulateHessian: (H, X, alpha, o) =>
      run(
        "accumulateHessian",
        () => accumulateHessian(ctx, H, X, alpha),
        () => cpu.accumulateHessian(H, X, alpha, o),
      ),
    reduce: (x, op, axis) => run("reduce", () => reduce(ctx, x, op, axis), () => cpu.reduce(x, op, axis)),
    histogram: (x, bins, lo, hi) =>
      run("histogram", () => histogram(ctx, x, bins, lo, hi), () => cpu.histogram(x, bins, lo, hi)),
    fakeQuantize: (w, p) => run("fakeQuantize", () => fakeQuantize(ctx, w, p), () => cpu.fakeQuantize(w, p)),
    quantizeCodes: (w, p) => run("quantizeCodes", () => quantizeCodes(ctx, w, p), () => cpu.quantizeCodes(w, p)),
    codebookQuantize: (x, levels, scale) =>
      run(
        "codebookQuantize",
        () => codebookQuantize(ctx, x, levels, scale),
        () => cpu.codebookQuantize(x, levels, scale),
      ),
    pack: (codes, bits) => run("pack", () => pack(ctx, codes, bits), () => cpu.pack(codes, bits)),
    unpack: (packed) => run("unpack", () => unpack(ctx, packed), () => cpu.unpack(packed)),
    dequantMatvec: (packed, p, x) =>
      run("dequantMatvec", () => dequantMatvec(ctx, packed, p, x), () => cpu.dequantMatvec(packed, p, x)),
    fwht: (x, o) => run("fwht", () => fwht(ctx, x, o), () => cpu.fwht(x, o)),
    gptqBlock: (W, Hinv, p) => run("gptqBlock", () => gptqBlock(ctx, W, Hinv, p), () => cpu.gptqBlock(W, Hinv, p)),
    cholesky: (A) => cpu.cholesky(A),
    triangularInverse: (T, o) => cpu.triangularInverse(T, o),
    triangularSolve: (T, B, o) => cpu.triangularSolve(T, B, o),
  };
}

/** Options of {@link webgpuOps}. */
export interface WebgpuOpsRequest extends WebgpuOpsOptions, GetDeviceOptions {}

/**
 * Acquires a device and wraps it as {@link Ops}.
 *
 * @param options `cpu` ops (required), `onWarning`, `powerPreference`
 * @throws {GpuUnavailableError} when no WebGPU device can be obtained
 */
export async function webgpuOps(options: WebgpuOpsRequest): Promise<Ops> {
  const { cpu, onWarning, ...deviceOptions } = options;
  const ctx = await requireDevice(deviceOptions);
  return createWebgpuOps(ctx, onWarning ? { cpu, onWarning } : { cpu });
}
