// SPDX-License-Identifier: MIT
/**
 * AWQ's two searches, model-agnostic (Lin et al., arXiv:2306.00978 §3.2–3.3; checked against
 * mit-han-lab/llm-awq `awq/quantize/auto_scale.py` `_search_module_scale` and `auto_clip.py`
 * `auto_clip_layer`):
 *
 * 1. **Scale search.** For linears W_i `[out_i, n]` reading the same input X `[tokens, n]`:
 *    `s = s_X^α` with `s_X = mean|X_j|`, normalised by √(max s · min s), for α on the grid
 *    {0, 1/N, …, (N−1)/N}; the loss is the layer-output error
 *    `Σ_i ‖(Q(W_i·diag(s))·diag(s)^{-1} − W_i)·Xᵀ‖² / tokens`, evaluated from the second moment
 *    `XᵀX` as `Σ_r Δ_r·XᵀX·Δ_rᵀ` (so the tokens need not be kept). α = 0 is s = 1, so the best
 *    loss is never worse than no scaling.
 * 2. **Clip search.** Per output row and quantization group: clamp W to ±ratio·max|W_g| for
 *    ratio = 1 − i/N, i < maxShrink·N, and keep the ratio with the least output error
 *    `Δ_g·(XᵀX)_gg·Δ_gᵀ` of the quantized clamped weights against the original. The clamped
 *    weights are the result: any quantizer applied afterwards sees them.
 *
 * Symbols: W `[out, n]`, X `[tokens, n]`, XᵀX f64 `[n, n]`, s `[n]`, Q(·) a fake quantizer.
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import { sliceCols } from "../tensor/manip.ts";
import { Tensor } from "../tensor/tensor.ts";
import { minmaxParams } from "../quant/minmax.ts";
import { groupsPerRow, type IntSpec } from "../quant/spec.ts";
import { scaleColumns } from "./fuse.ts";

/** A fake quantizer: W f32 `[out, in]` → dequantized f32 of the same shape. */
export type FakeQuantizer = (W: Tensor<"f32">) => Promise<Tensor<"f32">>;

/** Min–max round-to-nearest fake quantization with `spec` (AWQ's own pseudo-quantizer). */
export function rtnFakeQuantizer(spec: IntSpec, ops: Ops): FakeQuantizer {
  return (W) => ops.fakeQuantize(W, minmaxParams(W, spec));
}

/** Input statistics the searches need. */
export interface AwqInputStats {
  /** f64 or f32 `[n]`: mean |X[:, j]|. */
  meanAbs: ArrayLike<number>;
  /** f64 `[n, n]`: Σ XᵀX over `tokens` tokens. */
  xtx: Tensor<"f64">;
  /** Tokens summed into `xtx`. */
  tokens: number;
}

/** Result of {@link awqScaleSearch}. */
export interface AwqScaleResult {
  /** f32 `[n]`: the best scales (X is divided by s, W multiplied). */
  scale: Float32Array;
  /** The best α. */
  alpha: number;
  /** The α grid. */
  grid: Float64Array;
  /** Loss at each grid point. */
  losses: Float64Array;
  /** Loss without scaling (α = 0). */
  baseLoss: number;
  /** Best loss (≤ baseLoss). */
  loss: number;
}

function toF32(H: Tensor<"f64">): Tensor<"f32"> {
  return new Tensor("f32", H.shape, Float32Array.from(H.data));
}

/** Σ_r Δ_r·H·Δ_rᵀ / tokens for Δ f32 `[rows, n]`, H f32 `[n, n]`. */
async function outputError(delta: Tensor<"f32">, H: Tensor<"f32">, tokens: number, ops: Ops): Promise<number> {
  const E = await ops.matmul(delta, H); // [rows, n]
  let sum = 0;
  for (let i = 0; i < E.data.length; i++) sum += (E.data[i] as number) * (delta.data[i] as number);
  return sum / tokens;
}

/** AWQ scales for one α: s = meanAbs^α (≥ 1e-4), normalised by √(max·min). */
export function awqScales(meanAbs: ArrayLike<number>, alpha: number): Float32Array {
  const n = meanAbs.length, s = new Float64Array(n);
  let mx = 0, mn = Infinity;
  for (let j = 0; j < n; j++) {
    s[j] = Math.max((meanAbs[j] as number) ** alpha, 1e-4);
    mx = Math.max(mx, s[j] as number);
    mn = Math.min(mn, s[j] as number);
  }
  const norm = Math.sqrt(mx * mn);
  return Float32Array.from(s, (v) => v / norm);
}

/**
 * Grid search of AWQ's per-input-channel scale for linears sharing one input.
 *
 * @param stats mean |X| `[n]` and XᵀX `[n, n]` of the shared input
 * @param weights the linears' weights, each f32 `[out_i, n]`
 * @param options `quantize` (the quantizer the scales are tuned for), `nGrid` (default 20), `ops`
 * @returns best scales, α, the loss curve and the unscaled loss
 *
 * @example
 * ```ts ignore
 * const r = await awqScaleSearch(stats, [Wq, Wk, Wv], { quantize: rtnFakeQuantizer(spec, ops), ops });
 * r.loss <= r.baseLoss; // always
 * ```
 */
export async function awqScaleSearch(
  stats: AwqInputStats,
  weights: readonly Tensor<"f32">[],
  options: { quantize: FakeQuantizer; nGrid?: number; ops: Ops },
): Promise<AwqScaleResult> {
  const nGrid = options.nGrid ?? 20, ops = options.ops, n = stats.meanAbs.length;
  for (const W of weights) {
    if (W.rank !== 2 || W.shape[1] !== n) {
      throw new TypeError(
        `awqScaleSearch: Cannot use a weight of shape [${W.shape.join(", ")}] with ${n} input channels`,
      );
    }
  }
  const H = toF32(stats.xtx);
  const grid = Float64Array.from({ length: nGrid }, (_, i) => i / nGrid);
  const losses = new Float64Array(nGrid);
  let best = 0;
  for (let g = 0; g < nGrid; g++) {
    const s = awqScales(stats.meanAbs, grid[g] as number), inv = s.map((v) => 1 / v);
    let loss = 0;
    for (const W of weights) {
      const What = scaleColumns(await options.quantize(scaleColumns(W, s)), inv); // Q(W·diag(s))·diag(s)⁻¹
      for (let i = 0; i < What.data.length; i++) What.data[i] = (What.data[i] as number) - (W.data[i] as number);
      loss += await outputError(What, H, stats.tokens, ops);
    }
    losses[g] = loss;
    if (loss < (losses[best] as number)) best = g;
  }
  return {
    scale: awqScales(stats.meanAbs, grid[best] as number),
    alpha: grid[best] as number,
    grid,
    losses,
    baseLoss: losses[0] as number,
    loss: losses[best] as number,
  };
}

/** Result of {@link awqClipSearch}. */
export interface AwqClipResult {
  /** f32 `[out, in]`: W clamped per (row, group) to ±maxVal. */
  weight: Tensor<"f32">;
  /** f32 `[out, G]`: chosen clip thresholds. */
  maxVal: Tensor<"f32">;
  /** Output error of Q(W) before clipping and of Q(clamped W) after (per token). */
  lossBefore: number;
  /** Output error after clipping (≤ lossBefore). */
  lossAfter: number;
}

/**
 * AWQ's weight-clipping search for one linear.
 *
 * @param W f32 `[out, n]`
 * @param stats XᵀX `[n, n]` and token count of the linear's input
 * @param spec the integer format (groups are searched independently)
 * @param options `nGrid` (default 20), `maxShrink` (default 0.5), `ops`
 */
export async function awqClipSearch(
  W: Tensor<"f32">,
  stats: Pick<AwqInputStats, "xtx" | "tokens">,
  spec: IntSpec,
  options: { nGrid?: number; maxShrink?: number; ops: Ops },
): Promise<AwqClipResult> {
  const [rows, n] = W.shape as [number, number];
  const G = groupsPerRow("awqClipSearch", spec, n), gs = n / G, ops = options.ops;
  const nGrid = options.nGrid ?? 20, steps = Math.max(1, Math.floor((options.maxShrink ?? 0.5) * nGrid));
  const H = toF32(stats.xtx);
  const Hg: Tensor<"f32">[] = []; // diagonal blocks [gs, gs]
  for (let g = 0; g < G; g++) {
    Hg.push(sliceCols(new Tensor("f32", [gs, n], H.data.slice(g * gs * n, (g + 1) * gs * n)), g * gs, (g + 1) * gs));
  }
  const orgMax = new Float32Array(rows * G);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      const k = r * G + Math.floor(j / gs);
      orgMax[k] = Math.max(orgMax[k] as number, Math.abs(W.data[r * n + j] as number));
    }
  }
  const clamp = (limit: Float32Array) => {
    const out = new Float32Array(rows * n);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) {
        const m = limit[r * G + Math.floor(j / gs)] as number, v = W.data[r * n + j] as number;
        out[r * n + j] = Math.min(m, Math.max(-m, v));
      }
    }
    return new Tensor("f32", [rows, n], out);
  };
  const groupErrors = async (limit: Float32Array) => {
    const Wc = clamp(limit);
    const delta = await ops.fakeQuantize(Wc, minmaxParams(Wc, spec));
    for (let i = 0; i < delta.data.length; i++) delta.data[i] = (delta.data[i] as number) - (W.data[i] as number);
    const err = new Float64Array(rows * G);
    for (let g = 0; g < G; g++) {
      const D = G === 1 ? delta : sliceCols(delta, g * gs, (g + 1) * gs); // [rows, gs]
      const E = await ops.matmul(D, Hg[g] as Tensor<"f32">);
      for (let r = 0; r < rows; r++) {
        let e = 0;
        for (let j = 0; j < gs; j++) e += (E.data[r * gs + j] as number) * (D.data[r * gs + j] as number);
        err[r * G + g] = e / stats.tokens;
      }
    }
    return err;
  };
  const bestMax = orgMax.slice();
  const bestErr = await groupErrors(orgMax);
  const lossBefore = bestErr.reduce((a, b) => a + b, 0);
  for (let i = 1; i < steps; i++) {
    const limit = orgMax.map((m) => m * (1 - i / nGrid));
    const err = await groupErrors(limit);
    for (let k = 0; k < err.length; k++) {
      if ((err[k] as number) < (bestErr[k] as number)) {
        bestErr[k] = err[k] as number;
        bestMax[k] = limit[k] as number;
      }
    }
  }
  return {
    weight: clamp(bestMax),
    maxVal: new Tensor("f32", [rows, G], bestMax),
    lossBefore,
    lossAfter: bestErr.reduce((a, b) => a + b, 0),
  };
}
