// SPDX-License-Identifier: MIT
/**
 * MSE / Lp clipping search (GPTQ's `Quantizer.find_params(mse=True)`; the white paper's
 * "MSE range setting"): for α on a grid from 1 down to `1 − maxShrink`, shrink every group's
 * range by α, quantize on the backend, and keep per group the α with the smallest error.
 *
 * Objectives:
 * - weight space (default): `Σ_j |w_j − Q_α(w)_j|^p` per group (p = `norm`, GPTQ uses 2.4);
 * - output space (`H` given): `Δw_g H_gg Δw_gᵀ` per (row, group), i.e. `‖(W − Q_α(W)) X‖²`
 *   through `H ∝ XᵀX` restricted to the group's diagonal block (AWQ's `auto_clip` does the
 *   same); exact for one group per row.
 *
 * α = 1 is always a candidate, so the result is never worse than min-max on its objective.
 *
 * @module
 */
import { formatShape, Tensor } from "../tensor/tensor.ts";
import { sliceCols } from "../tensor/manip.ts";
import type { Ops } from "../ops/ops.ts";
import { tsOps } from "../ops/ts/mod.ts";
import type { QuantSpec } from "./spec.ts";
import {
  fakeQuantizeWith,
  type FormatParams,
  type GroupRanges,
  groupRanges,
  paramsFromRanges,
} from "./format_params.ts";

/** Options of {@link mseSearch} and {@link clipErrorCurve}. */
export interface ClipSearchOptions {
  /** Backend of the quantization (default `tsOps`). */
  ops?: Ops;
  /** Grid resolution: α = 1 − i/grid (default 100). */
  grid?: number;
  /** Largest shrink: α ≥ 1 − maxShrink (default 0.8, GPTQ's). */
  maxShrink?: number;
  /** Exponent p of the weight-space error (default 2). */
  norm?: number;
  /** f64 `[cols, cols]` Hessian for the output-space objective. */
  H?: Tensor<"f64">;
}

/** Result of {@link mseSearch}. */
export interface ClipSearchResult {
  /** Parameters at the chosen ratios. */
  params: FormatParams;
  /** f32 `[R·G]` chosen clipping ratio per group. */
  clip: Float32Array;
  /** f64 `[R·G]` objective per group at the chosen ratio. */
  loss: Float64Array;
  /** f64 `[R·G]` objective per group at α = 1 (min-max). */
  minmaxLoss: Float64Array;
}

/** Diagonal blocks H_gg as f32 `[gs, gs]` (one per group; a single block when G = 1). */
function hessianBlocks(fn: string, H: Tensor<"f64">, cols: number, G: number): Tensor<"f32">[] {
  if (H.rank !== 2 || H.shape[0] !== cols || H.shape[1] !== cols) {
    throw new TypeError(
      `${fn}: Cannot use H of shape ${formatShape(H.shape)} for W with ${cols} columns: expected [${cols}, ${cols}]`,
    );
  }
  const gs = cols / G;
  const blocks: Tensor<"f32">[] = [];
  for (let g = 0; g < G; g++) {
    const b = new Float32Array(gs * gs); // [gs, gs]
    for (let i = 0; i < gs; i++) {
      for (let j = 0; j < gs; j++) b[i * gs + j] = H.data[(g * gs + i) * cols + g * gs + j] as number;
    }
    blocks.push(new Tensor("f32", [gs, gs], b));
  }
  return blocks;
}

/** Objective per group `[R·G]` of Q against W. */
async function groupLoss(
  W: Tensor<"f32">,
  Q: Tensor<"f32">,
  ranges: GroupRanges,
  norm: number,
  blocks: Tensor<"f32">[] | null,
  ops: Ops,
): Promise<Float64Array> {
  const [rows, cols] = W.shape as [number, number];
  const { R, G } = ranges;
  const gs = cols / G;
  const loss = new Float64Array(R * G);
  if (blocks) {
    const E = new Float32Array(rows * cols); // [rows, cols] W − Q
    for (let i = 0; i < E.length; i++) E[i] = (W.data[i] as number) - (Q.data[i] as number);
    const Et = new Tensor("f32", [rows, cols], E);
    for (let g = 0; g < G; g++) {
      const Eg = G === 1 ? Et : sliceCols(Et, g * gs, (g + 1) * gs); // [rows, gs]
      const P = await ops.matmul(Eg, blocks[g] as Tensor<"f32">); // [rows, gs] = E_g H_gg
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let j = 0; j < gs; j++) s += (P.data[r * gs + j] as number) * (Eg.data[r * gs + j] as number);
        loss[(R === 1 ? 0 : r * G) + g]! += s;
      }
    }
    return loss;
  }
  const w = W.data, q = Q.data;
  for (let r = 0; r < rows; r++) {
    const pr = R === 1 ? 0 : r * G;
    for (let g = 0; g < G; g++) {
      const o = r * cols + g * gs;
      let s = 0;
      if (norm === 2) {
        for (let j = o; j < o + gs; j++) {
          const e = (w[j] as number) - (q[j] as number);
          s += e * e;
        }
      } else {
        for (let j = o; j < o + gs; j++) s += Math.abs((w[j] as number) - (q[j] as number)) ** norm;
      }
      loss[pr + g]! += s;
    }
  }
  return loss;
}

function checkOptions(fn: string, o: ClipSearchOptions): { grid: number; maxShrink: number; norm: number } {
  const grid = o.grid ?? 100, maxShrink = o.maxShrink ?? 0.8, norm = o.norm ?? 2;
  if (!Number.isInteger(grid) || grid < 1) {
    throw new RangeError(`${fn}: Cannot search a grid of ${grid}: expected a positive integer`);
  }
  if (!(maxShrink >= 0 && maxShrink < 1)) {
    throw new RangeError(`${fn}: Cannot shrink by ${maxShrink}: expected 0 ≤ maxShrink < 1`);
  }
  if (!(norm > 0)) throw new RangeError(`${fn}: Cannot use norm ${norm}: expected > 0`);
  return { grid, maxShrink, norm };
}

/**
 * Per-group clipping search minimising the weight-space Lp error or the output-space error.
 *
 * @param W f32 `[rows, cols]` weights
 * @param spec any format except MX (whose scale cannot be clipped)
 * @param options `ops`, `grid`, `maxShrink`, `norm`, `H`
 * @returns parameters, chosen ratio and loss per group, and the min-max loss per group
 *
 * @example Never worse than min-max
 * ```ts
 * import { mseSearch } from "./mse.ts";
 * import { randnF32 } from "../tensor/create.ts";
 * import assert from "node:assert/strict";
 * const W = randnF32([4, 64], 0);
 * const r = await mseSearch(W, { format: "int", bits: 3, groupSize: 32, symmetric: false });
 * assert.ok(r.loss.every((l, k) => l <= r.minmaxLoss[k]!));
 * ```
 */
export async function mseSearch(
  W: Tensor<"f32">,
  spec: QuantSpec,
  options: ClipSearchOptions = {},
): Promise<ClipSearchResult> {
  const fn = "mseSearch";
  const { grid, maxShrink, norm } = checkOptions(fn, options);
  if (spec.format === "mx") {
    throw new RangeError(`${fn}: Cannot search a clipping ratio for MX formats: their scale is fixed`);
  }
  const ops = options.ops ?? tsOps;
  const ranges = groupRanges(fn, W, spec);
  const blocks = options.H ? hessianBlocks(fn, options.H, W.shape[1] as number, ranges.G) : null;
  const n = ranges.R * ranges.G;
  const best = new Float64Array(n).fill(Infinity), clip = new Float32Array(n).fill(1);
  let minmaxLoss: Float64Array = new Float64Array(0);
  const steps = Math.max(1, Math.floor(maxShrink * grid));
  for (let i = 0; i < steps; i++) {
    const alpha = 1 - i / grid;
    const Q = await fakeQuantizeWith(W, spec, paramsFromRanges(spec, ranges, alpha), ops);
    const loss = await groupLoss(W, Q, ranges, norm, blocks, ops);
    if (i === 0) minmaxLoss = loss;
    for (let k = 0; k < n; k++) {
      if ((loss[k] as number) < (best[k] as number)) {
        best[k] = loss[k] as number;
        clip[k] = alpha;
      }
    }
  }
  return { params: paramsFromRanges(spec, ranges, clip), clip, loss: best, minmaxLoss };
}

/**
 * Total objective (summed over groups) for each clipping ratio: the error-vs-clipping curve.
 *
 * @param W f32 `[rows, cols]`
 * @param spec any format except MX
 * @param ratios α values in (0, 1]
 * @param options `ops`, `norm`, `H`
 * @returns f64 `[ratios.length]`
 */
export async function clipErrorCurve(
  W: Tensor<"f32">,
  spec: QuantSpec,
  ratios: readonly number[],
  options: ClipSearchOptions = {},
): Promise<Float64Array> {
  const fn = "clipErrorCurve";
  const { norm } = checkOptions(fn, options);
  const ops = options.ops ?? tsOps;
  const ranges = groupRanges(fn, W, spec);
  const blocks = options.H ? hessianBlocks(fn, options.H, W.shape[1] as number, ranges.G) : null;
  const out = new Float64Array(ratios.length);
  for (const [i, a] of ratios.entries()) {
    if (!(a > 0 && a <= 1)) throw new RangeError(`${fn}: Cannot clip with ratio ${a}: expected (0, 1]`);
    const Q = await fakeQuantizeWith(W, spec, paramsFromRanges(spec, ranges, a, W), ops);
    out[i] = (await groupLoss(W, Q, ranges, norm, blocks, ops)).reduce((s, v) => s + v, 0);
  }
  return out;
}
