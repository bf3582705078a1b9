// SPDX-License-Identifier: MIT
/**
 * Llama-family model configuration, parsed from a Hugging Face `config.json`
 * (`LlamaConfig` field names). Unsupported settings are rejected with a message that says
 * what is supported, never silently ignored.
 *
 * @module
 */

/** The configuration quantlab's Llama forward pass understands. */
export interface LlamaConfig {
  /** `model_type` as written in config.json (`llama`, `mistral` without sliding window, `qwen2`-style without biases). */
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads; `numHeads` when absent (multi-head attention); fewer is grouped-query attention. */
  numKvHeads: number;
  headDim: number;
  maxPositions: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
}

/** Model types whose architecture equals Llama's for our purposes (pre-norm, RoPE, SwiGLU, no biases). */
export const SUPPORTED_MODEL_TYPES: readonly string[] = ["llama", "mistral"];

/** Thrown for a config quantlab cannot run; the message lists what is supported. */
export class UnsupportedModelError extends TypeError {
  override name = "UnsupportedModelError";
}

function num(raw: Record<string, unknown>, key: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new UnsupportedModelError(
      `parseLlamaConfig: Cannot read config field "${key}": expected a number, got ${JSON.stringify(raw[key])}`,
    );
  }
  return v;
}

function positiveInt(raw: Record<string, unknown>, key: string, fallback?: number): number {
  const v = num(raw, key, fallback);
  if (!Number.isInteger(v) || v <= 0) {
    throw new UnsupportedModelError(`parseLlamaConfig: Cannot use "${key}" = ${v}: expected a positive integer`);
  }
  return v;
}

/**
 * Parses and validates a Hugging Face Llama-style `config.json` object.
 *
 * @param raw the parsed JSON
 * @returns the validated {@link LlamaConfig}
 * @throws UnsupportedModelError for other architectures, rope scaling, biases, bad sizes
 *
 * @example
 * ```ts
 * import { parseLlamaConfig } from "./config.ts";
 * import assert from "node:assert/strict";
 * const c = parseLlamaConfig({ model_type: "llama", vocab_size: 256, hidden_size: 64,
 *   intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4 });
 * assert.equal(c.numKvHeads, 4);
 * assert.equal(c.headDim, 16);
 * ```
 */
export function parseLlamaConfig(raw: Record<string, unknown>): LlamaConfig {
  const modelType = String(raw.model_type ?? "");
  if (!SUPPORTED_MODEL_TYPES.includes(modelType)) {
    throw new UnsupportedModelError(
      `parseLlamaConfig: Cannot load model_type "${modelType}": supported are ${
        SUPPORTED_MODEL_TYPES.join(", ")
      } (Llama-family decoders: RMSNorm, RoPE, SwiGLU, no biases)`,
    );
  }
  if (raw.rope_scaling !== undefined && raw.rope_scaling !== null) {
    throw new UnsupportedModelError(
      `parseLlamaConfig: Cannot use rope_scaling ${
        JSON.stringify(raw.rope_scaling)
      }: only plain RoPE (rope_scaling absent or null) is supported`,
    );
  }
  for (const key of ["attention_bias", "mlp_bias"]) {
    if (raw[key] === true) {
      throw new UnsupportedModelError(`parseLlamaConfig: Cannot use ${key} = true: linear biases are not supported`);
    }
  }
  if (raw.hidden_act !== undefined && raw.hidden_act !== "silu") {
    throw new UnsupportedModelError(
      `parseLlamaConfig: Cannot use hidden_act "${raw.hidden_act}": only "silu" (SwiGLU) is supported`,
    );
  }
  if (typeof raw.sliding_window === "number") {
    throw new UnsupportedModelError(
      `parseLlamaConfig: Cannot use sliding_window attention: only full causal attention`,
    );
  }
  const hiddenSize = positiveInt(raw, "hidden_size");
  const numHeads = positiveInt(raw, "num_attention_heads");
  const numKvHeads = positiveInt(raw, "num_key_value_heads", numHeads);
  const headDim = positiveInt(raw, "head_dim", hiddenSize / numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new UnsupportedModelError(
      `parseLlamaConfig: Cannot group ${numHeads} attention heads into ${numKvHeads} key/value heads: num_attention_heads must be a multiple of num_key_value_heads`,
    );
  }
  if (headDim % 2 !== 0) {
    throw new UnsupportedModelError(`parseLlamaConfig: Cannot apply RoPE with head_dim ${headDim}: it must be even`);
  }
  return {
    modelType,
    vocabSize: positiveInt(raw, "vocab_size"),
    hiddenSize,
    intermediateSize: positiveInt(raw, "intermediate_size"),
    numLayers: positiveInt(raw, "num_hidden_layers"),
    numHeads,
    numKvHeads,
    headDim,
    maxPositions: positiveInt(raw, "max_position_embeddings", 2048),
    rmsNormEps: num(raw, "rms_norm_eps", 1e-6),
    ropeTheta: num(raw, "rope_theta", 10000),
    tieWordEmbeddings: raw.tie_word_embeddings === true,
  };
}

/** The names of the seven linear layers of decoder block `layer`, in forward order. */
export function linearNames(layer: number): string[] {
  const p = `model.layers.${layer}`;
  return [
    `${p}.self_attn.q_proj`,
    `${p}.self_attn.k_proj`,
    `${p}.self_attn.v_proj`,
    `${p}.self_attn.o_proj`,
    `${p}.mlp.gate_proj`,
    `${p}.mlp.up_proj`,
    `${p}.mlp.down_proj`,
  ];
}

/** Expected `[out, in]` shape of every weight of the model, keyed by tensor name. */
export function expectedShapes(c: LlamaConfig): Map<string, [number, number] | [number]> {
  const m = new Map<string, [number, number] | [number]>();
  const d = c.hiddenSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
  m.set("model.embed_tokens.weight", [c.vocabSize, d]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    m.set(`${p}.input_layernorm.weight`, [d]);
    m.set(`${p}.post_attention_layernorm.weight`, [d]);
    m.set(`${p}.self_attn.q_proj.weight`, [q, d]);
    m.set(`${p}.self_attn.k_proj.weight`, [kv, d]);
    m.set(`${p}.self_attn.v_proj.weight`, [kv, d]);
    m.set(`${p}.self_attn.o_proj.weight`, [d, q]);
    m.set(`${p}.mlp.gate_proj.weight`, [c.intermediateSize, d]);
    m.set(`${p}.mlp.up_proj.weight`, [c.intermediateSize, d]);
    m.set(`${p}.mlp.down_proj.weight`, [d, c.intermediateSize]);
  }
  m.set("model.norm.weight", [d]);
  if (!c.tieWordEmbeddings) m.set("lm_head.weight", [c.vocabSize, d]);
  return m;
}
