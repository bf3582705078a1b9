// SPDX-License-Identifier: MIT
/**
 * Histogram on WebGPU (kernel: `histogram.wgsl`): per-workgroup histograms in workgroup
 * memory merged with atomics.
 *
 * @module
 */
import type { Tensor } from "../lib/tensor/tensor.ts";
import { emptyTensor, type GpuTensor, upload } from "./runtime/buffers.ts";
import type { GpuContext } from "./runtime/device.ts";
import { grid, type KernelSpec, runKernels } from "./runtime/dispatch.ts";
import { defineParams } from "./runtime/params.ts";
import { checkDType } from "./_checks.ts";
import { HISTOGRAM_WGSL } from "./_wgsl.gen.ts";

/** Bins of the workgroup-private histogram (`LOCAL_BINS` override, 8 KiB of workgroup memory). */
const LOCAL_BINS = 2048;
/** Elements counted by one workgroup. */
const PER_WORKGROUP = 4096;

/** The `histogram.wgsl` kernel and its `Params` layout. */
export const HISTOGRAM_KERNEL: KernelSpec = {
  name: "histogram",
  code: HISTOGRAM_WGSL,
  bindings: ["read", "rw", "uniform"],
  params: defineParams([
    ["count", "u32"],
    ["bins", "u32"],
    ["lo", "f32"],
    ["inv_width", "f32"],
    ["use_local", "u32"],
    ["per_wg", "u32"],
  ]),
};

function checkHistogramArgs(bins: number, lo: number, hi: number): void {
  const fn = "histogram";
  if (!Number.isInteger(bins) || bins < 1) {
    throw new RangeError(`${fn}: Cannot use ${bins} bins: bins must be a positive integer`);
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
    throw new RangeError(`${fn}: Cannot bin over [${lo}, ${hi}]: bounds must be finite with lo < hi`);
  }
}

/**
 * Histogram of a device tensor.
 *
 * @param ctx device context
 * @param x f32, any shape (NaN lands in an unspecified bin; the host wrapper rejects NaN)
 * @param bins positive integer
 * @param lo finite lower edge
 * @param hi finite upper edge, > lo
 * @returns u32 `[bins]` (caller disposes)
 */
export async function histogramGpu(
  ctx: GpuContext,
  x: GpuTensor,
  bins: number,
  lo: number,
  hi: number,
): Promise<GpuTensor<"u32">> {
  checkDType("histogram", "x", x, "f32");
  checkHistogramArgs(bins, lo, hi);
  const hist = emptyTensor(ctx, "u32", [bins]);
  const count = x.size;
  if (count === 0) return hist;
  try {
    await runKernels(ctx, "histogram", [{
      kernel: HISTOGRAM_KERNEL,
      tensors: [x, hist],
      params: {
        count,
        bins,
        lo,
        inv_width: bins / (hi - lo),
        use_local: bins <= LOCAL_BINS ? 1 : 0,
        per_wg: PER_WORKGROUP,
      },
      workgroups: grid(ctx, Math.ceil(count / PER_WORKGROUP)),
      constants: { LOCAL_BINS },
    }]);
  } catch (e) {
    hist.dispose();
    throw e;
  }
  return hist;
}

/**
 * Histogram of all elements into `bins` equal bins over [lo, hi]; values outside land in the
 * end bins (same contract as `Ops.histogram`; bins computed in f32, so a value within an ulp
 * of an edge may be counted in the neighbouring bin compared to the f64 CPU reference).
 *
 * @param ctx device context
 * @param x f32 tensor of any shape (no NaN)
 * @param bins positive integer
 * @param lo finite lower edge
 * @param hi finite upper edge, > lo
 * @returns u32 `[bins]` counts
 * @throws {RangeError} on bad bins or bounds, or a NaN in x
 */
export async function histogram(
  ctx: GpuContext,
  x: Tensor<"f32">,
  bins: number,
  lo: number,
  hi: number,
): Promise<Tensor<"u32">> {
  checkDType("histogram", "x", x, "f32");
  checkHistogramArgs(bins, lo, hi);
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    if (Number.isNaN(d[i])) {
      throw new RangeError(
        `histogram: Cannot use 'x' of shape [${x.shape.join(", ")}]: element ${i} is NaN (NaN/Inf not allowed)`,
      );
    }
  }
  using gx = upload(ctx, x);
  using hist = await histogramGpu(ctx, gx, bins, lo, hi);
  return await hist.read();
}
