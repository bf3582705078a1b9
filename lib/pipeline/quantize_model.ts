// SPDX-License-Identifier: MIT
/**
 * Applies a per-linear weight quantizer to every linear layer of a model (the embedding,
 * norms and lm_head stay in full precision, as in the GPTQ/AWQ papers' tables) and
 * records a per-layer error row for each.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { LlamaModel } from "../model/llama.ts";
import { linearNames } from "../model/config.ts";

/** Per-layer error of a quantized weight. */
export interface LayerErrorRow {
  /** Linear name, e.g. `model.layers.0.mlp.down_proj`. */
  name: string;
  /** Output features (rows of W). */
  rows: number;
  /** Input features (columns of W). */
  cols: number;
  /** Mean squared error of the weights. */
  mse: number;
  /** Signal-to-quantization-noise ratio in dB: 10·log10(‖W‖² / ‖W − Q‖²). */
  sqnr: number;
}

/** A function that quantizes one weight; returns the dequantized f32 weight of the same shape. */
export type WeightQuantizer = (name: string, W: Tensor<"f32">) => Promise<Tensor<"f32">>;

/** Weight error statistics of Q against W. */
export function weightError(name: string, W: Tensor<"f32">, Q: Tensor<"f32">): LayerErrorRow {
  let se = 0, ss = 0;
  for (let i = 0; i < W.size; i++) {
    const w = W.data[i] as number;
    se += (w - (Q.data[i] as number)) ** 2;
    ss += w * w;
  }
  return {
    name,
    rows: W.shape[0] as number,
    cols: W.shape[1] as number,
    mse: se / W.size,
    sqnr: 10 * Math.log10(ss / Math.max(se, 1e-300)),
  };
}

/**
 * Quantizes the weights of every decoder linear with `quantizer`.
 * @returns the model with dequantized weights swapped in, and one error row per linear
 */
export async function quantizeModelWeights(
  model: LlamaModel,
  quantizer: WeightQuantizer,
  options: { onProgress?: (done: number, total: number, name: string) => void } = {},
): Promise<{ model: LlamaModel; layers: LayerErrorRow[] }> {
  const names: string[] = [];
  for (let l = 0; l < model.config.numLayers; l++) names.push(...linearNames(l));
  const overrides = new Map<string, Tensor<"f32">>();
  const layers: LayerErrorRow[] = [];
  for (const [i, name] of names.entries()) {
    const W = model.weight(`${name}.weight`);
    const Q = await quantizer(name, W);
    overrides.set(`${name}.weight`, Q);
    layers.push(weightError(name, W, Q));
    options.onProgress?.(i + 1, names.length, name);
  }
  return { model: model.withWeights(overrides), layers };
}

/**
 * Bits per weight over all decoder linears of a model for a per-layer bit cost
 * `bitsOf(cols, rows)` (e.g. `(cols, rows) => bitsPerWeight(spec, cols, rows)`), weighted by layer size.
 *
 * @param model the model whose linear shapes are used
 * @param bitsOf bits per weight of one `[rows, cols]` linear
 * @returns the size-weighted mean bits per weight
 */
export function modelBitsPerWeight(model: LlamaModel, bitsOf: (cols: number, rows: number) => number): number {
  let bits = 0, count = 0;
  for (let l = 0; l < model.config.numLayers; l++) {
    for (const name of linearNames(l)) {
      const [rows, cols] = model.weight(`${name}.weight`).shape as [number, number];
      bits += bitsOf(cols, rows) * rows * cols;
      count += rows * cols;
    }
  }
  return bits / count;
}
