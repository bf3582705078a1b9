// SPDX-License-Identifier: MIT
/**
 * Round-to-nearest (RTN) weight quantization: range setting per group, then one
 * `fakeQuantize` / `quantizeCodes` on the chosen backend. The baseline every PTQ paper
 * reports first.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { IntQuantParams, Ops } from "../ops/ops.ts";
import { minmaxParams } from "./minmax.ts";
import type { IntSpec } from "./spec.ts";

/** Result of {@link quantizeRtn}. */
export interface RtnResult {
  /** Dequantized weights f32 `[rows, cols]`. */
  weight: Tensor<"f32">;
  /** Integer codes u8 `[rows, cols]`. */
  codes: Tensor<"u8">;
  /** The parameters used (scale/zero f32 `[rows, G]`). */
  params: IntQuantParams;
}

/**
 * Quantizes W `[rows, cols]` with round-to-nearest.
 *
 * @param W f32 `[rows, cols]` weights
 * @param spec integer format (bits, groupSize, symmetric)
 * @param options `ops` backend; `params` to reuse precomputed parameters (else min-max)
 */
export async function quantizeRtn(
  W: Tensor<"f32">,
  spec: IntSpec,
  options: { ops: Ops; params?: IntQuantParams },
): Promise<RtnResult> {
  const params = options.params ?? minmaxParams(W, spec);
  const [weight, codes] = await Promise.all([
    options.ops.fakeQuantize(W, params),
    options.ops.quantizeCodes(W, params),
  ]);
  return { weight, codes, params };
}
