// SPDX-License-Identifier: MIT
/**
 * A Llama LM exported to ONNX (`torch.onnx.export`), quantized through the ONNX path, with
 * the twin {@link LlamaModel} that carries exactly the same dequantized weights — so the
 * exported file run by onnxruntime-web and quantlab's own forward pass can be compared
 * number for number.
 *
 * The ONNX MatMul weights are paired with the checkpoint's linears by value (see match.ts):
 * torch names them `onnx::MatMul_NNN` and stores them transposed.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { LlamaModel } from "../model/llama.ts";
import type { OnnxModel } from "./load.ts";
import { findWeights, readWeight } from "./weights.ts";
import { matchWeightsByValue } from "./match.ts";
import type { WeightStats } from "./capture.ts";
import { type OnnxQuantized, type OnnxQuantizeOptions, quantizeOnnxWeights } from "./quantize.ts";

/** Result of {@link quantizeOnnxLlama}. */
export interface OnnxLlamaQuantized {
  /** ONNX weight name → quantized weight (for the exporters). */
  quantized: Map<string, OnnxQuantized>;
  /** ONNX weight name → checkpoint name (e.g. `model.layers.0.self_attn.q_proj.weight`). */
  names: Map<string, string>;
  /** The checkpoint model with the same dequantized weights. */
  model: LlamaModel;
}

/**
 * Quantizes the MatMul weights of an ONNX Llama that match the checkpoint's linears.
 *
 * @param onnx the exported model
 * @param llama the checkpoint it was exported from
 * @param options recipe and format (AWQ/GPTQ need `stats` from `calibrateOnnx`)
 * @throws {RangeError} when no ONNX weight matches a checkpoint weight
 */
export async function quantizeOnnxLlama(
  onnx: OnnxModel,
  llama: LlamaModel,
  options: OnnxQuantizeOptions & { stats?: Map<string, WeightStats> },
): Promise<OnnxLlamaQuantized> {
  const items = findWeights(onnx, { ops: ["MatMul"] }).map((w) => ({ weight: w, W: readWeight(onnx, w) }));
  const names = matchWeightsByValue(items, llama.weights);
  if (names.size === 0) {
    throw new RangeError(
      `quantizeOnnxLlama: Cannot pair any MatMul weight of "${onnx.source}" with the checkpoint "${llama.source}"`,
    );
  }
  const matched = items.filter((i) => names.has(i.weight.name));
  const quantized = await quantizeOnnxWeights(matched, options.stats, options);
  const swaps = new Map<string, Tensor<"f32">>();
  for (const [onnxName, q] of quantized) swaps.set(names.get(onnxName) as string, q.dequantized);
  return { quantized, names, model: llama.withWeights(swaps) };
}
