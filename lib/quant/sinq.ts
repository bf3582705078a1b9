// SPDX-License-Identifier: MIT
/**
 * SINQ: Sinkhorn-normalized quantization (calibration-free; huawei-csl/SINQ `dual_shift.py`).
 * Each tile — all rows × one group of `groupSize` columns — gets a per-row scale μ₂ and a
 * per-column scale μ₁ found by Sinkhorn–Knopp-style iterations in the log domain that
 * alternately divide columns and rows by their standard deviation, which lowers the
 * **matrix imbalance** `max std / min std` over all rows and columns. An iteration that
 * would raise the imbalance ends the loop and is discarded (the reference's
 * `stop_on_increasing_imbalance`), so the recorded imbalance never increases.
 * The normalized tile `W / (μ₂ μ₁ᵀ)` is then quantized (RTN per row and tile, or any scaled
 * format such as NF4), and dequantized as `ŵ_ij = μ₂_i · s · (q_ij − z) · μ₁_j`: μ₂ merges into
 * the group scale, μ₁ is one extra f16 per column.
 *
 * Symbols: `W` `[rows, cols]`, `μ₁` (colScale) `[cols]`, `μ₂` (rowScale) `[rows, G]`.
 *
 * @module
 */
import { assertFinite, dims2, Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import { tsOps } from "../ops/ts/mod.ts";
import type { QuantSpec } from "./spec.ts";
import { encodeWith, formatParams } from "./format_params.ts";
import { buildQuantized } from "./quantize.ts";
import { dequantize, type QuantizedTensor } from "./quantized_tensor.ts";

/** Standard deviations are clamped to [STD_MIN, STD_MAX] (the reference's clip_min/clip_max). */
const STD_MIN = 1e-3, STD_MAX = 1e3;

/** Population std of rows (`axis` 1) or columns (`axis` 0) of a row-major `[m, n]` f64 array. */
function stds(a: Float64Array, m: number, n: number, axis: 0 | 1): Float64Array {
  const k = axis === 1 ? m : n, len = axis === 1 ? n : m;
  const s1 = new Float64Array(k), s2 = new Float64Array(k);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const v = a[i * n + j] as number, t = axis === 1 ? i : j;
      s1[t]! += v;
      s2[t]! += v * v;
    }
  }
  for (let t = 0; t < k; t++) {
    const mean = (s1[t] as number) / len;
    s1[t] = Math.sqrt(Math.max(0, (s2[t] as number) / len - mean * mean));
  }
  return s1;
}

function imbalanceOf(a: Float64Array, m: number, n: number): number {
  let lo = Infinity, hi = 0;
  for (const s of [stds(a, m, n, 1), stds(a, m, n, 0)]) {
    for (const v of s) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  return hi / Math.max(lo, 1e-12);
}

/**
 * Matrix imbalance: max over rows and columns of the standard deviation divided by the min.
 *
 * @example
 * ```ts
 * import { matrixImbalance } from "./sinq.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * assert.equal(matrixImbalance(new Tensor("f32", [2, 2], new Float32Array([1, -1, -1, 1]))), 1);
 * ```
 */
export function matrixImbalance(M: Tensor<"f32">): number {
  const [m, n] = dims2("matrixImbalance", "M", M);
  return imbalanceOf(Float64Array.from(M.data), m, n);
}

/** Result of {@link sinkhornNormalize}. */
export interface SinkhornResult {
  /** f32 `[rows, cols]` W / (μ₂ μ₁ᵀ). */
  normalized: Tensor<"f32">;
  /** f32 `[rows, G]` μ₂ per row and tile. */
  rowScale: Tensor<"f32">;
  /** f32 `[cols]` μ₁ per column. */
  colScale: Tensor<"f32">;
  /** Per tile, the imbalance before and after each accepted iteration (non-increasing). */
  imbalance: Float64Array[];
}

/**
 * Sinkhorn normalization of W per tile of `groupSize` columns (0: one tile).
 *
 * @param W f32 `[rows, cols]` finite
 * @param groupSize tile width (default 64, SINQ's), dividing cols; 0 for the whole row
 * @param iterations at most this many iterations per tile (default 16)
 */
export function sinkhornNormalize(W: Tensor<"f32">, groupSize = 64, iterations = 16): SinkhornResult {
  const fn = "sinkhornNormalize";
  const [rows, cols] = dims2(fn, "W", W);
  assertFinite(fn, "W", W);
  const gs = groupSize === 0 ? cols : groupSize;
  if (!Number.isInteger(gs) || gs < 1 || cols % gs !== 0) {
    throw new RangeError(
      `${fn}: Cannot group ${cols} columns into groups of ${groupSize}: cols must be divisible by groupSize`,
    );
  }
  const G = cols / gs;
  const out = new Float32Array(rows * cols), mu2 = new Float32Array(rows * G), mu1 = new Float32Array(cols);
  const histories: Float64Array[] = [];
  for (let g = 0; g < G; g++) {
    const T = new Float64Array(rows * gs); // [rows, gs] tile
    for (let i = 0; i < rows; i++) for (let j = 0; j < gs; j++) T[i * gs + j] = W.data[i * cols + g * gs + j] as number;
    const clampStd = (v: number) => Math.min(STD_MAX, Math.max(STD_MIN, v));
    const target = Math.min(...stds(T, rows, gs, 1).map(clampStd), ...stds(T, rows, gs, 0).map(clampStd));
    let l1 = new Float64Array(gs), l2 = new Float64Array(rows); // log μ₁, log μ₂
    const apply = (a1: Float64Array, a2: Float64Array) => {
      const c = new Float64Array(rows * gs);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < gs; j++) {
          c[i * gs + j] = (T[i * gs + j] as number) / Math.exp((a1[j] as number) + (a2[i] as number));
        }
      }
      return c;
    };
    let cur = T;
    const history = [imbalanceOf(cur, rows, gs)];
    for (let it = 0; it < iterations; it++) {
      const n1 = l1.slice(), n2 = l2.slice();
      const sc = stds(cur, rows, gs, 0);
      for (let j = 0; j < gs; j++) n1[j]! += Math.log(clampStd(sc[j] as number) / target);
      const mid = apply(n1, n2);
      const sr = stds(mid, rows, gs, 1);
      for (let i = 0; i < rows; i++) n2[i]! += Math.log(clampStd(sr[i] as number) / target);
      const next = apply(n1, n2);
      const ib = imbalanceOf(next, rows, gs);
      if (!(ib <= (history[history.length - 1] as number))) break; // stop on increasing imbalance
      history.push(ib);
      [l1, l2, cur] = [n1, n2, next];
    }
    histories.push(Float64Array.from(history));
    for (let j = 0; j < gs; j++) mu1[g * gs + j] = Math.exp(l1[j] as number);
    for (let i = 0; i < rows; i++) {
      mu2[i * G + g] = Math.exp(l2[i] as number);
      for (let j = 0; j < gs; j++) {
        // Divide by the f32 scales actually stored, so dequantization multiplies them back exactly.
        out[i * cols + g * gs + j] = (T[i * gs + j] as number) /
          ((mu2[i * G + g] as number) * (mu1[g * gs + j] as number));
      }
    }
  }
  return {
    normalized: new Tensor("f32", [rows, cols], out),
    rowScale: new Tensor("f32", [rows, G], mu2),
    colScale: new Tensor("f32", [cols], mu1),
    imbalance: histories,
  };
}

/** Result of {@link sinqQuantize}. */
export interface SinqResult extends SinkhornResult {
  /** Dequantized weight f32 `[rows, cols]`. */
  weight: Tensor<"f32">;
  /** Packed codes; `scale` has μ₂ merged in and `colScale` = μ₁. */
  quantized: QuantizedTensor;
}

/**
 * SINQ: Sinkhorn-normalize per tile, then quantize the normalized weights with `spec`
 * (groups equal to the tiles: use a per-group int, fp or codebook spec; not per-tensor, not MX or log2).
 *
 * @param W f32 `[rows, cols]`
 * @param spec format with `groupSize` = tile width (e.g. `int4-g64-asym`, `nf4-g64`)
 * @param options `ops` (default tsOps), `iterations` (default 16)
 *
 * @example
 * ```ts
 * import { sinqQuantize } from "./sinq.ts";
 * import { randnF32 } from "../tensor/create.ts";
 * import assert from "node:assert/strict";
 * const W = randnF32([16, 128], 1);
 * const r = await sinqQuantize(W, { format: "int", bits: 4, groupSize: 64, symmetric: false });
 * assert.ok(r.imbalance.every((h) => h[h.length - 1]! <= h[0]!));
 * ```
 */
export async function sinqQuantize(
  W: Tensor<"f32">,
  spec: QuantSpec,
  options: { ops?: Ops; iterations?: number } = {},
): Promise<SinqResult> {
  if (spec.format === "mx" || spec.format === "log2" || spec.perTensor) {
    throw new RangeError(
      `sinqQuantize: Cannot combine SINQ with a ${spec.format}${
        spec.format !== "mx" && spec.perTensor ? " per-tensor" : ""
      } format: use a per-group int, fp or codebook spec`,
    );
  }
  const ops = options.ops ?? tsOps;
  const s = sinkhornNormalize(W, spec.groupSize, options.iterations ?? 16);
  const rows = W.shape[0] as number;
  const params = formatParams(s.normalized, spec);
  const G = params.scale.shape[1] as number;
  const merged = new Float32Array(rows * G); // [rows, G] s · μ₂
  for (let k = 0; k < merged.length; k++) merged[k] = (params.scale.data[k] as number) * (s.rowScale.data[k] as number);
  const { codes } = await encodeWith(s.normalized, spec, params, ops);
  const quantized = buildQuantized(spec, codes, { ...params, scale: new Tensor("f32", [rows, G], merged) }, {
    colScale: s.colScale,
  });
  // The weight is what the stored form dequantizes to (same f32 rounding as export).
  return { ...s, weight: dequantize(quantized), quantized };
}
