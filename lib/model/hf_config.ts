// SPDX-License-Identifier: MIT
/**
 * The inverse of {@link parseLlamaConfig}: a Hugging Face `config.json` object for a
 * {@link LlamaConfig}, so an exported checkpoint loads back (here and in transformers) as the same
 * architecture — RoPE scaling, biases, q/k norms and sliding windows included.
 *
 * @module
 */
import { ARCHITECTURES } from "./architectures.ts";
import type { LlamaConfig } from "./config.ts";

function ropeScalingJson(c: LlamaConfig): Record<string, unknown> | null {
  const s = c.ropeScaling;
  if (s === null) return null;
  if (s.type === "linear") return { "rope_type": "linear", factor: s.factor };
  return {
    "rope_type": "llama3",
    factor: s.factor,
    "low_freq_factor": s.lowFreqFactor,
    "high_freq_factor": s.highFreqFactor,
    "original_max_position_embeddings": s.originalMaxPositions,
  };
}

/**
 * Hugging Face `config.json` fields of a {@link LlamaConfig} (`torch_dtype` is the caller's).
 *
 * @param c a parsed config
 * @returns a JSON-ready object that {@link parseLlamaConfig} maps back to `c`
 *
 * @example
 * ```ts
 * import { parseLlamaConfig } from "./config.ts";
 * import { toHfConfig } from "./hf_config.ts";
 * import assert from "node:assert/strict";
 * const c = parseLlamaConfig({ "model_type": "mistral", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 64,
 *   "num_hidden_layers": 2, "num_attention_heads": 4, "sliding_window": 8 });
 * assert.deepEqual(parseLlamaConfig(toHfConfig(c)), c);
 * ```
 */
export function toHfConfig(c: LlamaConfig): Record<string, unknown> {
  const spec = ARCHITECTURES[c.modelType];
  if (!spec) throw new TypeError(`toHfConfig: Cannot write model_type "${c.modelType}": not a supported architecture`);
  const out: Record<string, unknown> = {
    architectures: [spec.hfClass],
    "model_type": c.modelType,
    "vocab_size": c.vocabSize,
    "hidden_size": c.hiddenSize,
    "intermediate_size": c.intermediateSize,
    "num_hidden_layers": c.numLayers,
    "num_attention_heads": c.numHeads,
    "num_key_value_heads": c.numKvHeads,
    "head_dim": c.headDim,
    "max_position_embeddings": c.maxPositions,
    "rms_norm_eps": c.rmsNormEps,
    "rope_theta": c.ropeTheta,
    "rope_scaling": ropeScalingJson(c),
    "tie_word_embeddings": c.tieWordEmbeddings,
    "hidden_act": "silu",
  };
  if (spec.qkvBias === "attention_bias") out.attention_bias = c.qkvBias;
  if (spec.mlpBias === "mlp_bias") out.mlp_bias = c.mlpBias;
  if (spec.window === "all-layers") out.sliding_window = c.slidingWindow;
  if (spec.window === "qwen") {
    out.use_sliding_window = c.slidingWindow !== null;
    out.sliding_window = c.slidingWindow;
    out.layer_types = [...c.layerTypes];
  }
  return out;
}
