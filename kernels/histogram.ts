// SPDX-License-Identifier: MIT
/**
 * Histogram on WebGPU (kernel: `histogram.wgsl`): per-workgroup histograms in workgroup
 * memory merged with atomics; bins agree exactly with the CPU's f64 rule.
 *
 * @module
 */
import { Tensor } from "../lib/tensor/tensor.ts";
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
  bindings: ["read", "read", "rw", "uniform"],
  params: defineParams([
    ["count", "u32"],
    ["bins", "u32"],
    ["lo", "f32"],
    ["inv_width", "f32"],
    ["use_local", "u32"],
    ["per_wg", "u32"],
  ]),
};

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** Maps an f32 to an integer key with the same order (−∞ < ... < −0 < +0 < ... < +∞). */
function keyOf(v: number): number {
  F32[0] = v;
  const u = U32[0] as number;
  return u >= 0x80000000 ? 0xffffffff - u : u + 0x80000000;
}

/** Inverse of {@link keyOf}. */
function valueOf(key: number): number {
  U32[0] = key >= 0x80000000 ? key - 0x80000000 : 0xffffffff - key;
  return F32[0] as number;
}

/**
 * Bin edges as f32: `edges[b]` is the smallest f32 v that the CPU's f64 rule
 * `floor((v − lo) · (bins / (hi − lo)))` puts in bin ≥ b; `edges[0] = −∞`, `edges[bins] = +∞`.
 * The kernel corrects its f32 estimate against them, so both backends bin identically.
 * Each edge is a bisection over f32 values (ordered as integer keys) around `lo + b / k`.
 */
export function binEdges(bins: number, lo: number, hi: number): Float32Array {
  const k = bins / (hi - lo);
  const minKey = keyOf(-Infinity);
  const maxKey = keyOf(Infinity);
  const edges = new Float32Array(bins + 1);
  edges[0] = -Infinity;
  edges[bins] = Infinity;
  for (let b = 1; b < bins; b++) {
    const reaches = (key: number) => Math.floor((valueOf(key) - lo) * k) >= b;
    // Bracket (below, above] with reaches(above) and not reaches(below), by doubling steps.
    const guess = keyOf(Math.fround(lo + b / k));
    let below = guess;
    let above = guess;
    if (reaches(guess)) {
      for (let step = 1; below > minKey && reaches(below); step *= 2) below = Math.max(minKey, guess - step);
    } else {
      for (let step = 1; above < maxKey && !reaches(above); step *= 2) above = Math.min(maxKey, guess + step);
    }
    while (above - below > 1) {
      const mid = Math.floor((below + above) / 2);
      if (reaches(mid)) above = mid;
      else below = mid;
    }
    edges[b] = valueOf(above);
  }
  return edges;
}

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
  using edges = upload(ctx, new Tensor("f32", [bins + 1], binEdges(bins, lo, hi)));
  try {
    await runKernels(ctx, "histogram", [{
      kernel: HISTOGRAM_KERNEL,
      tensors: [x, edges, hist],
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
 * end bins (same contract as `Ops.histogram`, identical counts: see {@link binEdges}).
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
