// SPDX-License-Identifier: MIT
/**
 * The format-generic triple: {@link quantize} (W → packed {@link QuantizedTensor} plus the
 * dequantized weight), `dequantize` (in `quantized_tensor.ts`) and {@link fakeQuantize}
 * (quantize then dequantize), for every {@link QuantSpec}, with a choice of observer
 * (range setting) for the weights:
 *
 * | observer | parameters |
 * |---|---|
 * | `minmax` | full range (times `clip`) |
 * | `mse` | per-group clipping ratio minimising the weight-space Lp error |
 * | `mse-output` | same, minimising `‖ΔW X‖²` through `H` (block-diagonal per group) |
 * | `percentile` | clip at a percentile of |w| per group |
 * | `neuqi` | NeUQI scale grid + exact real zero point, weighted by diag(H) (asymmetric int only) |
 *
 * Hot loops run on the injected `ops` (fakeQuantize/quantizeCodes for int, codebookQuantize
 * for fp/codebook/mx).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { IntQuantParams, Ops } from "../ops/ops.ts";
import { tsOps } from "../ops/ts/mod.ts";
import { pack, PACK_BITS } from "../ops/ts/pack.ts";
import { codeBits, formatId, type QuantSpec } from "./spec.ts";
import { encodeWith, type FormatParams, formatParams, specLevels } from "./format_params.ts";
import { log2Levels } from "./log2.ts";
import { type ClipSearchOptions, mseSearch } from "./mse.ts";
import { percentileParams } from "./percentile.ts";
import { type NeuqiOptions, neuqiParams, neuqiQuantize } from "./neuqi.ts";
import type { QuantizedTensor } from "./quantized_tensor.ts";

/** Range-setting method for weights. */
export type WeightObserver = "minmax" | "mse" | "mse-output" | "percentile" | "neuqi";

/** Options of {@link quantize}. */
export interface QuantizeOptions {
  /** Backend (default `tsOps`). */
  ops?: Ops;
  /** Range setting (default `minmax`). */
  observer?: WeightObserver;
  /** Layer Hessian f64 `[cols, cols]` for `mse-output` (required) and `neuqi` (optional). */
  H?: Tensor<"f64">;
  /** Clipping ratio of `minmax` (default 1). */
  clip?: number;
  /** Grid options of `mse` / `mse-output`. */
  mse?: Omit<ClipSearchOptions, "ops" | "H">;
  /** Percentile of `percentile` (default 99.9). */
  percentile?: number;
  /** Options of `neuqi`. */
  neuqi?: Omit<NeuqiOptions, "H">;
}

/** Result of {@link quantize}. */
export interface QuantizeResult {
  /** Dequantized weight f32 `[rows, cols]`. */
  weight: Tensor<"f32">;
  /** Packed codes and parameters, for size accounting and export. */
  quantized: QuantizedTensor;
  /** The parameters used. */
  params: FormatParams;
  /** Clipping ratio per group f32 `[R·G]` for `mse`/`percentile`. */
  clip?: Float32Array;
}

/** Smallest packing width ≥ bits. */
function containerBits(bits: number): number {
  return PACK_BITS.find((b) => b >= bits) ?? 8;
}

/**
 * Packs codes u8 `[rows, cols]` and parameters into a {@link QuantizedTensor} for `spec`.
 *
 * @param extra `zeroBits` (real-valued zeros) and `colScale` (SINQ) when needed
 */
export function buildQuantized(
  spec: QuantSpec,
  codes: Tensor<"u8">,
  params: FormatParams,
  extra: { zeroBits?: number; colScale?: Tensor<"f32"> } = {},
): QuantizedTensor {
  const [rows, cols] = codes.shape as [number, number];
  const bits = codeBits(spec), container = containerBits(bits);
  const base = {
    formatId: formatId(spec),
    shape: [rows, cols] as [number, number],
    codes: pack(codes, container),
    scale: params.scale,
    // Logical width when the container is wider (5–7 bits in 8-bit containers); storageBits counts it densely.
    ...(bits < container ? { codeBits: bits } : {}),
    ...(spec.format === "mx" ? { scaleBits: 8 } : {}),
    ...(extra.colScale ? { colScale: extra.colScale } : {}),
  };
  if (spec.format === "int") {
    const p = params as IntQuantParams;
    return {
      ...base,
      kind: "int",
      zero: p.zero,
      symmetric: spec.symmetric,
      ...(extra.zeroBits !== undefined ? { zeroBits: extra.zeroBits } : {}),
    };
  }
  const builtin = spec.format !== "codebook" || spec.name === "nf4" || spec.name === "nf3";
  const levels = spec.format === "log2" ? log2Levels(spec.bits) : specLevels(spec) as Float32Array;
  return { ...base, kind: "codebook", levels, ...(builtin ? { implicitLevels: true } : {}) };
}

/**
 * Quantizes W `[rows, cols]` to any format with the chosen observer.
 *
 * @param W f32 `[rows, cols]` weights, finite
 * @param spec the format
 * @param options `ops`, `observer`, `H`, `clip`, `mse`, `percentile`, `neuqi`
 * @returns the dequantized weight, the packed tensor and the parameters
 * @throws {RangeError} on NaN/Inf, bits out of range, a group size not dividing the row, an
 *   observer that does not apply to the format; {TypeError} on shapes
 *
 * @example FP4 (E2M1) with 32-wide groups
 * ```ts
 * import { quantize } from "./quantize.ts";
 * import { quantizedBitsPerWeight } from "./quantized_tensor.ts";
 * import { randnF32 } from "../tensor/create.ts";
 * import assert from "node:assert/strict";
 * const W = randnF32([8, 64], 0);
 * const { weight, quantized } = await quantize(W, { format: "fp", element: "e2m1", groupSize: 32 });
 * assert.equal(quantized.formatId, "fp4-e2m1-g32");
 * assert.equal(quantizedBitsPerWeight(quantized), 4 + 16 / 32);
 * assert.deepEqual(weight.shape, [8, 64]);
 * ```
 */
export async function quantize(
  W: Tensor<"f32">,
  spec: QuantSpec,
  options: QuantizeOptions = {},
): Promise<QuantizeResult> {
  const ops = options.ops ?? tsOps;
  const observer = options.observer ?? "minmax";
  let params: FormatParams, clip: Float32Array | undefined;
  switch (observer) {
    case "minmax":
      params = formatParams(W, spec, options.clip ?? 1);
      break;
    case "mse":
    case "mse-output": {
      if (observer === "mse-output" && !options.H) {
        throw new RangeError("quantize: Cannot use observer \"mse-output\" without 'H' (the layer Hessian)");
      }
      const r = await mseSearch(W, spec, {
        ...options.mse,
        ops,
        ...(observer === "mse-output" ? { H: options.H! } : {}),
      });
      params = r.params;
      clip = r.clip;
      break;
    }
    case "percentile": {
      const r = percentileParams(W, spec, options.percentile ?? 99.9);
      params = r.params;
      clip = r.clip;
      break;
    }
    case "neuqi": {
      if (spec.format !== "int") {
        throw new RangeError(
          `quantize: Cannot use observer "neuqi" with format ${formatId(spec)}: it needs an asymmetric int format`,
        );
      }
      const p = neuqiParams(W, spec, { ...options.neuqi, ...(options.H ? { H: options.H } : {}) });
      const { weight, codes } = neuqiQuantize(W, p);
      const params = { scale: p.scale, zero: p.zero, maxq: p.maxq };
      return { weight, quantized: buildQuantized(spec, codes, params, { zeroBits: 16 }), params };
    }
    default:
      throw new RangeError(
        `quantize: Cannot use observer "${observer}": expected minmax, mse, mse-output, percentile or neuqi`,
      );
  }
  const { values, codes } = await encodeWith(W, spec, params, ops);
  const result: QuantizeResult = { weight: values, quantized: buildQuantized(spec, codes, params), params };
  if (clip) result.clip = clip;
  return result;
}

/** Quantize then dequantize W (see {@link quantize}); f32 `[rows, cols]`. */
export async function fakeQuantize(
  W: Tensor<"f32">,
  spec: QuantSpec,
  options: QuantizeOptions = {},
): Promise<Tensor<"f32">> {
  return (await quantize(W, spec, options)).weight;
}
