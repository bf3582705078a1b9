// SPDX-License-Identifier: MIT
/**
 * The Llama-family architectures quantlab runs, described as data: one entry per Hugging Face
 * `model_type`, saying which config fields its transformers config class defines, the defaults
 * transformers applies when a field is absent, which linears carry biases, whether attention
 * has per-head q/k RMSNorms, and how sliding-window attention is switched on. The parser
 * ({@link parseLlamaConfig}), the tensor list ({@link expectedShapes}) and the forward pass read
 * the flags this table produces; no other file branches on `model_type`.
 *
 * All four share the decoder: pre-RMSNorm, RoPE (`rotate_half`), grouped-query attention with
 * scale hd^−½, SwiGLU MLP, final RMSNorm, lm_head (or the tied embedding).
 *
 * @module
 */

/** Where a bias flag comes from: always present, never present, or a boolean config field. */
export type BiasRule = boolean | "attention_bias" | "mlp_bias";

/** How an architecture switches sliding-window attention on. */
export type WindowRule =
  /** No sliding window: `sliding_window` must be absent or null. */
  | "none"
  /** Mistral: `sliding_window` (int or null) applies to every layer. */
  | "all-layers"
  /** Qwen2/Qwen3: only when `use_sliding_window`, on layers ≥ `max_window_layers` (or as `layer_types` says). */
  | "qwen";

/** One architecture (see the module doc). */
export interface ArchitectureSpec {
  /** The transformers class, for messages. */
  readonly hfClass: string;
  /** Fields of config.json this architecture reads, beyond {@link COMMON_FIELDS}. */
  readonly fields: readonly string[];
  /** Values transformers' config class uses when a field is absent. */
  readonly defaults: Readonly<Record<string, unknown>>;
  /** Bias of q_proj, k_proj and v_proj. */
  readonly qkvBias: BiasRule;
  /** Bias of o_proj. */
  readonly oBias: BiasRule;
  /** Bias of gate_proj, up_proj and down_proj. */
  readonly mlpBias: BiasRule;
  /** Per-head RMSNorm `q_norm`/`k_norm` (weight `[hd]`) after the projections, before RoPE. */
  readonly qkNorm: boolean;
  /** How `sliding_window` is honoured. */
  readonly window: WindowRule;
}

/** Fields every architecture reads (validated by the parser). */
export const COMMON_FIELDS: readonly string[] = [
  "model_type",
  "vocab_size",
  "hidden_size",
  "intermediate_size",
  "num_hidden_layers",
  "num_attention_heads",
  "num_key_value_heads",
  "head_dim",
  "hidden_act",
  "max_position_embeddings",
  "rms_norm_eps",
  "rope_theta",
  "rope_scaling",
  "rope_parameters",
  "tie_word_embeddings",
];

/**
 * Fields that do not change the inference forward pass, accepted with any well-typed value:
 * bookkeeping (`architectures`, `torch_dtype`, versions, token ids), training-only settings
 * (`initializer_range`, `attention_dropout`, `use_cache`), `pretraining_tp` (a mathematically
 * equivalent slicing of the linears) and `quantization_config` (the stored tensors decide: a
 * quantized checkpoint's `qweight`/`scales` tensors are rejected by the loader's tensor check).
 */
export const NO_EFFECT_FIELDS: readonly string[] = [
  "architectures",
  "torch_dtype",
  "dtype",
  "transformers_version",
  "_name_or_path",
  "_attn_implementation_autoset",
  "use_cache",
  "initializer_range",
  "attention_dropout",
  "bos_token_id",
  "eos_token_id",
  "pad_token_id",
  "tokenizer_class",
  "pretraining_tp",
  "quantization_config",
];

const QWEN_WINDOW_FIELDS = ["use_sliding_window", "sliding_window", "max_window_layers", "layer_types"];

/** The supported architectures by `model_type` (transformers' config classes and modeling files). */
export const ARCHITECTURES: Readonly<Record<string, ArchitectureSpec>> = {
  llama: {
    hfClass: "LlamaForCausalLM",
    fields: ["attention_bias", "mlp_bias"],
    defaults: { max_position_embeddings: 2048, rms_norm_eps: 1e-6, attention_bias: false, mlp_bias: false },
    qkvBias: "attention_bias", // LlamaAttention: q/k/v/o all bias=config.attention_bias
    oBias: "attention_bias",
    mlpBias: "mlp_bias",
    qkNorm: false,
    window: "none",
  },
  mistral: {
    hfClass: "MistralForCausalLM",
    fields: ["sliding_window"],
    // MistralConfig: sliding_window defaults to 4096 when the key is absent (v0.1); v0.2+ write null.
    defaults: { max_position_embeddings: 4096 * 32, rms_norm_eps: 1e-6, sliding_window: 4096 },
    qkvBias: false,
    oBias: false,
    mlpBias: false,
    qkNorm: false,
    window: "all-layers",
  },
  qwen2: {
    hfClass: "Qwen2ForCausalLM",
    fields: QWEN_WINDOW_FIELDS,
    defaults: { max_position_embeddings: 32768, rms_norm_eps: 1e-6, ...qwenWindowDefaults() },
    qkvBias: true, // Qwen2Attention: q/k/v bias=True, o_proj bias=False
    oBias: false,
    mlpBias: false,
    qkNorm: false,
    window: "qwen",
  },
  qwen3: {
    hfClass: "Qwen3ForCausalLM",
    fields: ["attention_bias", ...QWEN_WINDOW_FIELDS],
    // Qwen3Config: head_dim defaults to 128 (not hidden/heads) when absent.
    defaults: {
      max_position_embeddings: 32768,
      rms_norm_eps: 1e-6,
      head_dim: 128,
      attention_bias: false,
      ...qwenWindowDefaults(),
    },
    qkvBias: "attention_bias", // Qwen3Attention: q/k/v/o all bias=config.attention_bias
    oBias: "attention_bias",
    mlpBias: false,
    qkNorm: true,
    window: "qwen",
  },
};

function qwenWindowDefaults(): Record<string, unknown> {
  return { use_sliding_window: false, sliding_window: 4096, max_window_layers: 28 };
}

/** The supported `model_type` values. */
export const SUPPORTED_MODEL_TYPES: readonly string[] = Object.keys(ARCHITECTURES);
