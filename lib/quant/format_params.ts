// SPDX-License-Identifier: MIT
/**
 * Range-based parameters for every scaled format, and fake quantization with them on an
 * {@link Ops} backend. Range setting happens once (`groupRanges`: per-group min/max, f64);
 * a clipping ratio α per group then shrinks the range, which is all an observer (min-max,
 * MSE search, percentile) has to choose:
 *
 * - int: range `[α·min(x,0), α·max(x,0)]` → `scale`, `zero` (GPTQ's `find_params`);
 * - fp / codebook: `scale = α·absmax / max|level|`;
 * - log2: `scale = α·max` (values must be ≥ 0);
 * - mx: the shared power-of-two scale of the OCP spec (α must be 1).
 *
 * @module
 */
import { assertFinite, dims2, Tensor } from "../tensor/tensor.ts";
import type { IntQuantParams, Ops } from "../ops/ops.ts";
import { groupParams } from "./minmax.ts";
import { MX_BLOCK_SIZE, paramGrid, type QuantSpec } from "./spec.ts";
import { minifloatLevels } from "./minifloat.ts";
import { codebookLevels, maxAbsLevel } from "./codebook.ts";
import { mxElementLevels, mxScales } from "./mx.ts";
import { log2Quantize } from "./log2.ts";

/** Per-group parameters of any format: `scale` f32 `[R, G]`; int formats add `zero` and `maxq`. */
export type FormatParams = IntQuantParams | { scale: Tensor<"f32">; zero?: undefined; maxq?: undefined };

/** Per-group ranges of W for a spec: lo = min(x, 0), hi = max(x, 0), f64 `[R·G]`. */
export interface GroupRanges {
  /** Rows of parameters (1 when per-tensor). */
  R: number;
  /** Groups per row. */
  G: number;
  /** f64 `[R·G]` min(x, 0) per group. */
  lo: Float64Array;
  /** f64 `[R·G]` max(x, 0) per group. */
  hi: Float64Array;
}

/** Levels a codebook-style spec snaps to (fp, codebook, mx); undefined for int and log2. */
export function specLevels(spec: QuantSpec): Float32Array | undefined {
  if (spec.format === "fp") return minifloatLevels(spec.element);
  if (spec.format === "codebook") return codebookLevels(spec.name, spec.levels);
  if (spec.format === "mx") return mxElementLevels(spec.element);
  return undefined;
}

/**
 * Per-group ranges of W `[rows, cols]` (validates the spec against the shape; rejects NaN/Inf).
 *
 * @throws {RangeError} on NaN/Inf, bad bits, a group size not dividing cols, negative values for log2
 */
export function groupRanges(fn: string, W: Tensor<"f32">, spec: QuantSpec): GroupRanges {
  const [rows, cols] = dims2(fn, "W", W);
  const { R, G } = paramGrid(fn, spec, rows, cols);
  assertFinite(fn, "W", W);
  const gs = cols / G;
  const lo = new Float64Array(R * G), hi = new Float64Array(R * G);
  for (let r = 0; r < rows; r++) {
    const pr = R === 1 ? 0 : r * G;
    for (let j = 0; j < cols; j++) {
      const v = W.data[r * cols + j] as number;
      const k = pr + Math.floor(j / gs);
      if (v < (lo[k] as number)) lo[k] = v;
      if (v > (hi[k] as number)) hi[k] = v;
    }
  }
  if (spec.format === "log2") {
    const k = lo.findIndex((v) => v < 0);
    if (k >= 0) {
      throw new RangeError(`${fn}: Cannot use the log2 format on negative values (group ${k} has min ${lo[k]})`);
    }
  }
  return { R, G, lo, hi };
}

/**
 * Parameters from ranges shrunk by `clip` (one ratio for all groups, or one per group `[R·G]`).
 * An all-zero group gets a unit-sized range.
 */
export function paramsFromRanges(
  spec: QuantSpec,
  ranges: GroupRanges,
  clip: number | ArrayLike<number> = 1,
  W?: Tensor<"f32">,
): FormatParams {
  const { R, G, lo, hi } = ranges;
  const n = R * G;
  const a = (k: number) => (typeof clip === "number" ? clip : (clip[k] as number));
  const scale = new Float32Array(n); // [R, G]
  if (spec.format === "mx") {
    if (!W) throw new TypeError("paramsFromRanges: Cannot compute MX scales without W");
    if (typeof clip !== "number" || clip !== 1) {
      throw new RangeError(
        "paramsFromRanges: Cannot clip an MX format: its shared scale is fixed by the block maximum",
      );
    }
    return { scale: mxScales(W, spec.element, spec.blockSize ?? MX_BLOCK_SIZE) };
  }
  if (spec.format === "int") {
    const zero = new Float32Array(n), maxq = 2 ** spec.bits - 1;
    for (let k = 0; k < n; k++) {
      const p = groupParams((lo[k] as number) * a(k), (hi[k] as number) * a(k), maxq, spec.symmetric, spec.f16Min);
      scale[k] = p.scale;
      zero[k] = p.zero;
    }
    return { scale: new Tensor("f32", [R, G], scale), zero: new Tensor("f32", [R, G], zero), maxq };
  }
  const levels = specLevels(spec);
  const top = levels ? maxAbsLevel(levels) : 1;
  for (let k = 0; k < n; k++) {
    const amax = Math.max(-(lo[k] as number), hi[k] as number) * a(k);
    scale[k] = amax > 0 ? amax / top : 1;
    if (!(scale[k]! > 0)) scale[k] = 1; // an f32 underflow of a tiny range
  }
  return { scale: new Tensor("f32", [R, G], scale) };
}

/**
 * Min-max parameters of any format with one clipping ratio (default 1).
 *
 * @param W f32 `[rows, cols]`
 * @param spec the format
 * @param clip ratio in (0, 1]
 */
export function formatParams(W: Tensor<"f32">, spec: QuantSpec, clip = 1): FormatParams {
  if (!(clip > 0 && clip <= 1)) throw new RangeError(`formatParams: Cannot clip with ratio ${clip}: expected (0, 1]`);
  return paramsFromRanges(spec, groupRanges("formatParams", W, spec), clip, W);
}

/** Codes (u8 `[rows, cols]`) and dequantized values (f32) of W with given parameters. */
export interface EncodedWeight {
  /** f32 `[rows, cols]` dequantized values. */
  values: Tensor<"f32">;
  /** u8 `[rows, cols]` codes (level indices for codebook formats). */
  codes: Tensor<"u8">;
}

/**
 * Quantizes W with parameters of `spec`: int on `ops.fakeQuantize`/`quantizeCodes`, fp/codebook/mx
 * on `ops.codebookQuantize`, log2 in TypeScript.
 *
 * @param W f32 `[rows, cols]`
 * @param spec the format
 * @param params from {@link formatParams} or an observer
 * @param ops backend
 */
export async function encodeWith(
  W: Tensor<"f32">,
  spec: QuantSpec,
  params: FormatParams,
  ops: Ops,
): Promise<EncodedWeight> {
  if (spec.format === "int") {
    const p = params as IntQuantParams;
    const [values, codes] = await Promise.all([ops.fakeQuantize(W, p), ops.quantizeCodes(W, p)]);
    return { values, codes };
  }
  if (spec.format === "log2") return log2Quantize(W, params.scale, spec.bits);
  return await ops.codebookQuantize(W, specLevels(spec) as Float32Array, params.scale);
}

/** Dequantized W only (no codes): the fast path of observers' searches. */
export async function fakeQuantizeWith(
  W: Tensor<"f32">,
  spec: QuantSpec,
  params: FormatParams,
  ops: Ops,
): Promise<Tensor<"f32">> {
  if (spec.format === "int") return await ops.fakeQuantize(W, params as IntQuantParams);
  return (await encodeWith(W, spec, params, ops)).values;
}
