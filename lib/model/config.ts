// SPDX-License-Identifier: MIT
/**
 * Llama-family model configuration, parsed from a Hugging Face `config.json` for the
 * architectures of {@link ARCHITECTURES} (`llama`, `mistral`, `qwen2`, `qwen3`). Every field is
 * validated (type and range), absent fields take the defaults of transformers' config class,
 * and a field or value quantlab cannot honour is an {@link UnsupportedModelError} naming it —
 * never silently ignored. {@link expectedShapes} is the single list of the tensors an
 * architecture consumes; the loader rejects any checkpoint tensor not on it.
 *
 * @module
 */
import { ARCHITECTURES, COMMON_FIELDS, NO_EFFECT_FIELDS, SUPPORTED_MODEL_TYPES } from "./architectures.ts";
import { ConfigFields, fieldError, MAX_SIZE, parseRopeScaling, UnsupportedModelError } from "./_config_fields.ts";
import type { RopeScaling } from "./rope.ts";
import { checkNoEffectFields, resolveLayerTypes } from "./_config_checks.ts";

export { SUPPORTED_MODEL_TYPES, UnsupportedModelError };
export type { RopeScaling };

/** Attention kind of one decoder layer (transformers' `layer_types` values). */
export type LayerType = "full_attention" | "sliding_attention";

/** The configuration quantlab's forward pass understands (camelCase of the config.json fields). */
export interface LlamaConfig {
  /** `model_type` as written in config.json: `llama`, `mistral`, `qwen2` or `qwen3`. */
  modelType: string;
  /** `vocab_size`: rows of the embedding and of lm_head. */
  vocabSize: number;
  /** `hidden_size` d: width of the residual stream. */
  hiddenSize: number;
  /** `intermediate_size`: width of the SwiGLU MLP. */
  intermediateSize: number;
  /** `num_hidden_layers`: decoder blocks. */
  numLayers: number;
  /** `num_attention_heads` H. */
  numHeads: number;
  /** Key/value heads; `numHeads` when absent (multi-head attention); fewer is grouped-query attention. */
  numKvHeads: number;
  /** Head dimension hd: `head_dim`, else hidden/heads (Qwen3: 128 when absent, as transformers). */
  headDim: number;
  /** `max_position_embeddings`: the longest sequence the forward pass accepts. */
  maxPositions: number;
  /** `rms_norm_eps` (every RMSNorm, q/k norms included). */
  rmsNormEps: number;
  /** `rope_theta` θ, the RoPE base. */
  ropeTheta: number;
  /** RoPE scaling (`linear` or `llama3`); null for plain RoPE. */
  ropeScaling: RopeScaling | null;
  /** `tie_word_embeddings`: lm_head is the embedding matrix. */
  tieWordEmbeddings: boolean;
  /** q_proj, k_proj, v_proj carry biases (Qwen2; Llama/Qwen3 with `attention_bias`). */
  qkvBias: boolean;
  /** o_proj carries a bias (Llama/Qwen3 with `attention_bias`). */
  oBias: boolean;
  /** gate_proj, up_proj, down_proj carry biases (Llama with `mlp_bias`). */
  mlpBias: boolean;
  /** Per-head RMSNorm `q_norm`/`k_norm` (weight `[hd]`, eps `rmsNormEps`) before RoPE (Qwen3). */
  qkNorm: boolean;
  /** Window W of the layers with `sliding_attention` (position i attends to j when i − W < j ≤ i); null if none. */
  slidingWindow: number | null;
  /** Per layer, `[numLayers]`: full causal or sliding-window attention. */
  layerTypes: readonly LayerType[];
}

/** Most decoder layers a config may declare (the largest public models have ~130). */
export const MAX_LAYERS = 10_000;

/** Most elements one weight tensor may have (2^31; f32 typed arrays of that size are 8 GiB). */
export const MAX_TENSOR_ELEMENTS = 2 ** 31;

/**
 * Parses and validates a Hugging Face `config.json` object of a Llama-family architecture.
 *
 * @param raw the parsed JSON
 * @returns the validated {@link LlamaConfig}
 * @throws UnsupportedModelError naming the field: other architectures, unknown fields, unsupported
 *   rope scaling types or activations, values out of range (sizes, eps, θ), sizes too large to allocate
 *
 * @example
 * ```ts
 * import { parseLlamaConfig } from "./config.ts";
 * import assert from "node:assert/strict";
 * const c = parseLlamaConfig({ model_type: "qwen2", vocab_size: 256, hidden_size: 64,
 *   intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 });
 * assert.equal(c.headDim, 16);
 * assert.equal(c.qkvBias, true);
 * assert.equal(c.slidingWindow, null); // use_sliding_window is false by default
 * ```
 */
export function parseLlamaConfig(raw: Record<string, unknown>): LlamaConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new UnsupportedModelError(
      `parseLlamaConfig: Cannot parse a config of type ${typeof raw}: expected an object`,
    );
  }
  const modelType = raw.model_type;
  const spec = typeof modelType === "string" && Object.hasOwn(ARCHITECTURES, modelType)
    ? ARCHITECTURES[modelType]
    : undefined;
  if (!spec || typeof modelType !== "string") {
    throw new UnsupportedModelError(
      `parseLlamaConfig: Cannot load model_type ${JSON.stringify(modelType)}: supported are ${
        SUPPORTED_MODEL_TYPES.join(", ")
      } (Llama-family decoders: RMSNorm, RoPE, SwiGLU)`,
    );
  }
  const known = new Set([...COMMON_FIELDS, ...NO_EFFECT_FIELDS, ...spec.fields]);
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) {
      throw fieldError(
        key,
        raw[key],
        `${spec.hfClass} (model_type "${modelType}") does not define this field and quantlab ignores nothing silently; remove it if it does not change the forward pass`,
      );
    }
  }
  checkNoEffectFields(raw);
  const F = new ConfigFields(raw, { rope_theta: 10000, ...spec.defaults });
  const act = F.get("hidden_act") ?? "silu";
  if (act !== "silu" && act !== "swish") {
    throw fieldError("hidden_act", act, `only "silu" (SwiGLU; "swish" is the same function) is supported`);
  }
  const hiddenSize = F.int("hidden_size");
  const intermediateSize = F.int("intermediate_size");
  const vocabSize = F.int("vocab_size");
  const numLayers = F.int("num_hidden_layers");
  if (numLayers > MAX_LAYERS) throw fieldError("num_hidden_layers", numLayers, `at most ${MAX_LAYERS} layers`);
  const numHeads = F.int("num_attention_heads");
  const numKvHeads = F.int("num_key_value_heads", { fallback: numHeads });
  if (numHeads % numKvHeads !== 0) {
    throw fieldError(
      "num_key_value_heads",
      numKvHeads,
      `num_attention_heads ${numHeads} must be a multiple of it (grouped-query attention)`,
    );
  }
  const derivedHeadDim = hiddenSize / numHeads;
  if (F.get("head_dim") === undefined && !Number.isInteger(derivedHeadDim)) {
    throw fieldError(
      "head_dim",
      undefined,
      `hidden_size ${hiddenSize} / num_attention_heads ${numHeads} is no integer`,
    );
  }
  const headDim = F.int("head_dim", { fallback: derivedHeadDim });
  if (headDim % 2 !== 0) throw fieldError("head_dim", headDim, "RoPE needs an even head dimension");
  const big = [
    ["vocab_size × hidden_size", vocabSize * hiddenSize],
    ["intermediate_size × hidden_size", intermediateSize * hiddenSize],
    ["num_attention_heads × head_dim × hidden_size", numHeads * headDim * hiddenSize],
  ] as const;
  for (const [what, n] of big) {
    if (n > MAX_TENSOR_ELEMENTS) {
      throw new UnsupportedModelError(
        `parseLlamaConfig: Cannot allocate a weight of ${what} = ${n} elements: at most ${MAX_TENSOR_ELEMENTS} per tensor`,
      );
    }
  }
  const { ropeTheta, ropeScaling } = parseRope(raw, F);
  const flag = (rule: boolean | string) => (typeof rule === "boolean" ? rule : F.bool(rule));
  const { slidingWindow, layerTypes } = resolveLayerTypes(spec.window, F, numLayers);
  return {
    modelType,
    vocabSize,
    hiddenSize,
    intermediateSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    maxPositions: F.int("max_position_embeddings", { fallback: 2048 }),
    rmsNormEps: F.number("rms_norm_eps", { gt: 0, lt: 1 }),
    ropeTheta,
    ropeScaling,
    tieWordEmbeddings: F.bool("tie_word_embeddings"),
    qkvBias: flag(spec.qkvBias),
    oBias: flag(spec.oBias),
    mlpBias: flag(spec.mlpBias),
    qkNorm: spec.qkNorm,
    slidingWindow,
    layerTypes,
  };
}

/** θ and the scaling from `rope_theta` + `rope_scaling` (transformers v4) or `rope_parameters` (v5). */
function parseRope(
  raw: Record<string, unknown>,
  F: ConfigFields,
): { ropeTheta: number; ropeScaling: RopeScaling | null } {
  const params = raw.rope_parameters;
  if (params === undefined || params === null) {
    return {
      ropeTheta: F.number("rope_theta", { gt: 0 }),
      ropeScaling: parseRopeScaling(raw.rope_scaling, "rope_scaling"),
    };
  }
  if (typeof params !== "object" || Array.isArray(params)) {
    throw fieldError("rope_parameters", params, "expected an object with rope_type and rope_theta");
  }
  if (raw.rope_scaling !== undefined && raw.rope_scaling !== null) {
    throw fieldError("rope_scaling", raw.rope_scaling, "rope_parameters is given too; keep one of them");
  }
  const p = params as Record<string, unknown>;
  const theta = new ConfigFields(p, { rope_theta: F.get("rope_theta") ?? 10000 }).number("rope_theta", { gt: 0 });
  if (raw.rope_theta !== undefined && raw.rope_theta !== theta) {
    throw fieldError("rope_theta", raw.rope_theta, `rope_parameters.rope_theta says ${theta}`);
  }
  return { ropeTheta: theta, ropeScaling: parseRopeScaling(p, "rope_parameters") };
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

/**
 * Whether linear `name` (without `.weight`, e.g. `model.layers.0.self_attn.q_proj`) carries a
 * `.bias` in this architecture. lm_head and a tied head never do.
 */
export function hasBias(c: LlamaConfig, name: string): boolean {
  if (/\.self_attn\.[qkv]_proj$/.test(name)) return c.qkvBias;
  if (name.endsWith(".self_attn.o_proj")) return c.oBias;
  if (/\.mlp\.(gate|up|down)_proj$/.test(name)) return c.mlpBias;
  return false;
}

/** The sliding window of decoder layer `layer`, or null for full causal attention. */
export function attentionWindow(c: LlamaConfig, layer: number): number | null {
  return c.layerTypes[layer] === "sliding_attention" ? c.slidingWindow : null;
}

/**
 * Every tensor the architecture consumes with its shape (`[out, in]` for linears, `[n]` for
 * norms and biases), keyed by name, in load order. The loader rejects a checkpoint that lacks
 * one of them or holds any other tensor.
 */
export function expectedShapes(c: LlamaConfig): Map<string, [number, number] | [number]> {
  const m = new Map<string, [number, number] | [number]>();
  const d = c.hiddenSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim, ffn = c.intermediateSize;
  m.set("model.embed_tokens.weight", [c.vocabSize, d]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const linears: [string, number, number][] = [
      [`${p}.self_attn.q_proj`, q, d],
      [`${p}.self_attn.k_proj`, kv, d],
      [`${p}.self_attn.v_proj`, kv, d],
      [`${p}.self_attn.o_proj`, d, q],
      [`${p}.mlp.gate_proj`, ffn, d],
      [`${p}.mlp.up_proj`, ffn, d],
      [`${p}.mlp.down_proj`, d, ffn],
    ];
    m.set(`${p}.input_layernorm.weight`, [d]);
    m.set(`${p}.post_attention_layernorm.weight`, [d]);
    for (const [name, out, inp] of linears) {
      m.set(`${name}.weight`, [out, inp]);
      if (hasBias(c, name)) m.set(`${name}.bias`, [out]);
    }
    if (c.qkNorm) {
      m.set(`${p}.self_attn.q_norm.weight`, [c.headDim]);
      m.set(`${p}.self_attn.k_norm.weight`, [c.headDim]);
    }
  }
  m.set("model.norm.weight", [d]);
  if (!c.tieWordEmbeddings) m.set("lm_head.weight", [c.vocabSize, d]);
  return m;
}

export { MAX_SIZE };
