// SPDX-License-Identifier: MIT
/** parseLlamaConfig: per-architecture flags and defaults, and a typed error naming the field for every bad value. */
import assert from "node:assert/strict";
import { expectedShapes, MAX_LAYERS, parseLlamaConfig, UnsupportedModelError } from "../../lib/model/config.ts";
import { toHfConfig } from "../../lib/model/hf_config.ts";
import { assertThrowsMessage } from "../_assert.ts";

const BASE = {
  "model_type": "llama",
  "vocab_size": 64,
  "hidden_size": 32,
  "intermediate_size": 64,
  "num_hidden_layers": 2,
  "num_attention_heads": 4,
  "num_key_value_heads": 2,
};

const rejects = (raw: Record<string, unknown>, ...parts: string[]) =>
  assertThrowsMessage(() => parseLlamaConfig(raw), UnsupportedModelError, ...parts);

Deno.test("each architecture's flags and transformers' defaults", () => {
  const llama = parseLlamaConfig(BASE);
  assert.deepEqual(
    [llama.qkvBias, llama.oBias, llama.mlpBias, llama.qkNorm, llama.slidingWindow, llama.ropeScaling],
    [false, false, false, false, null, null],
  );
  assert.equal(llama.rmsNormEps, 1e-6);
  assert.equal(llama.ropeTheta, 10000);
  const biased = parseLlamaConfig({ ...BASE, "attention_bias": true, "mlp_bias": true });
  assert.deepEqual([biased.qkvBias, biased.oBias, biased.mlpBias], [true, true, true]);
  // Mistral: sliding_window defaults to 4096 when absent, null switches it off.
  const mistral = parseLlamaConfig({ ...BASE, "model_type": "mistral" });
  assert.equal(mistral.slidingWindow, 4096);
  assert.deepEqual(mistral.layerTypes, ["sliding_attention", "sliding_attention"]);
  assert.equal(parseLlamaConfig({ ...BASE, "model_type": "mistral", "sliding_window": null }).slidingWindow, null);
  // Qwen2: biases always, window only with use_sliding_window and from max_window_layers on.
  const qwen2 = parseLlamaConfig({ ...BASE, "model_type": "qwen2", "sliding_window": 4096 });
  assert.deepEqual([qwen2.qkvBias, qwen2.oBias, qwen2.slidingWindow], [true, false, null]);
  const windowed = parseLlamaConfig({
    ...BASE,
    "model_type": "qwen2",
    "use_sliding_window": true,
    "sliding_window": 16,
    "max_window_layers": 1,
  });
  assert.deepEqual(windowed.layerTypes, ["full_attention", "sliding_attention"]);
  assert.equal(windowed.slidingWindow, 16);
  // Qwen3: q/k norms; head_dim defaults to 128, not hidden/heads.
  const qwen3 = parseLlamaConfig({ ...BASE, "model_type": "qwen3" });
  assert.deepEqual([qwen3.qkNorm, qwen3.headDim, qwen3.qkvBias], [true, 128, false]);
  assert.deepEqual(expectedShapes(qwen3).get("model.layers.1.self_attn.k_norm.weight"), [128]);
  assert.deepEqual(expectedShapes(qwen3).get("model.layers.0.self_attn.o_proj.weight"), [32, 512]);
});

Deno.test("rope_scaling llama3 and linear, and transformers v5 rope_parameters", () => {
  const llama3 = {
    "rope_type": "llama3",
    factor: 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192,
  };
  assert.deepEqual(parseLlamaConfig({ ...BASE, "rope_scaling": llama3 }).ropeScaling, {
    type: "llama3",
    factor: 8,
    lowFreqFactor: 1,
    highFreqFactor: 4,
    originalMaxPositions: 8192,
  });
  assert.deepEqual(parseLlamaConfig({ ...BASE, "rope_scaling": { type: "linear", factor: 2 } }).ropeScaling, {
    type: "linear",
    factor: 2,
  });
  assert.equal(parseLlamaConfig({ ...BASE, "rope_scaling": { "rope_type": "default" } }).ropeScaling, null);
  const v5 = parseLlamaConfig({
    ...BASE,
    "rope_parameters": { "rope_type": "linear", "rope_theta": 500000, factor: 2 },
  });
  assert.deepEqual([v5.ropeTheta, v5.ropeScaling?.type], [500000, "linear"]);
});

Deno.test("unsupported architectures, rope types, activations and fields name what is wrong", async () => {
  await rejects({ ...BASE, "model_type": "gpt2" }, "gpt2", "llama, mistral, qwen2, qwen3");
  await rejects({ ...BASE, "model_type": "constructor" }, "constructor");
  await rejects({ ...BASE, "rope_scaling": { "rope_type": "dynamic", factor: 2 } }, "rope_scaling", "dynamic");
  await rejects({ ...BASE, "rope_scaling": { type: "linear", factor: 2, "beta_fast": 32 } }, "rope_scaling.beta_fast");
  await rejects({ ...BASE, "rope_scaling": { type: "linear", "rope_type": "llama3", factor: 2 } }, "disagree");
  await rejects(
    {
      ...BASE,
      "rope_scaling": {
        "rope_type": "llama3",
        factor: 8,
        "low_freq_factor": 4,
        "high_freq_factor": 1,
        "original_max_position_embeddings": 64,
      },
    },
    "rope_scaling.high_freq_factor",
  );
  await rejects(
    { ...BASE, "rope_parameters": { "rope_type": "default", "rope_theta": 1e4 }, "rope_theta": 5e5 },
    "rope_theta",
  );
  await rejects({ ...BASE, "hidden_act": "gelu_pytorch_tanh" }, "hidden_act", "silu");
  await rejects({ ...BASE, "sliding_window": 4096 }, "sliding_window", "LlamaForCausalLM");
  await rejects({ ...BASE, "model_type": "qwen2", "attention_bias": false }, "attention_bias", "Qwen2ForCausalLM");
  await rejects({ ...BASE, "some_new_flag": true }, "some_new_flag");
  await rejects(
    { ...BASE, "model_type": "qwen2", "use_sliding_window": true, "sliding_window": null },
    "sliding_window",
  );
  await rejects(
    { ...BASE, "model_type": "qwen3", "layer_types": ["full_attention", "sliding_attention"] },
    "layer_types",
    "use_sliding_window",
  );
  await rejects({ ...BASE, "model_type": "qwen3", "layer_types": ["full_attention"] }, "layer_types", "2 entries");
});

Deno.test("every numeric field has a range (issue 17)", async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ "rms_norm_eps": -1 }, "rms_norm_eps"],
    [{ "rms_norm_eps": 0 }, "rms_norm_eps"],
    [{ "rms_norm_eps": "1e-6" }, "rms_norm_eps"],
    [{ "rope_theta": 0 }, "rope_theta"],
    [{ "rope_theta": -10000 }, "rope_theta"],
    [{ "rope_scaling": { type: "linear", factor: 0 } }, "rope_scaling.factor"],
    [{ "vocab_size": 0 }, "vocab_size"],
    [{ "hidden_size": 32.5 }, "hidden_size"],
    [{ "intermediate_size": -64 }, "intermediate_size"],
    [{ "num_hidden_layers": 0 }, "num_hidden_layers"],
    [{ "num_hidden_layers": 1e9 }, "num_hidden_layers"],
    [{ "num_attention_heads": 3, "num_key_value_heads": 3 }, "head_dim"], // 32 / 3 is no integer
    [{ "num_key_value_heads": 3 }, "num_key_value_heads"],
    [{ "head_dim": 7 }, "head_dim"],
    [{ "max_position_embeddings": 0 }, "max_position_embeddings"],
    [{ "tie_word_embeddings": "yes" }, "tie_word_embeddings"],
    [{ "attention_bias": 1 }, "attention_bias"],
    [{ "bos_token_id": -1 }, "bos_token_id"],
    [{ "eos_token_id": [1, "2"] }, "eos_token_id"],
    [{ "attention_dropout": 2 }, "attention_dropout"],
    [{ "pretraining_tp": 0 }, "pretraining_tp"],
    [{ "model_type": "mistral", "sliding_window": 0 }, "sliding_window"],
    [{ "model_type": "qwen2", "max_window_layers": -1 }, "max_window_layers"],
  ];
  for (const [fields, name] of cases) await rejects({ ...BASE, ...fields }, `"${name}"`);
  assert.ok(MAX_LAYERS >= 1000);
});

Deno.test("sizes too large to allocate are rejected before any allocation", async () => {
  await rejects({ ...BASE, "vocab_size": 2 ** 20, "hidden_size": 2 ** 12 }, "vocab_size × hidden_size", "2147483648");
  await rejects({ ...BASE, "hidden_size": 2 ** 31 }, "hidden_size");
});

Deno.test("toHfConfig writes a config.json that parses back to the same config", () => {
  const raws: Record<string, unknown>[] = [
    { ...BASE, "attention_bias": true, "rope_scaling": { type: "linear", factor: 4 }, "tie_word_embeddings": true },
    { ...BASE, "model_type": "mistral", "sliding_window": 8 },
    { ...BASE, "model_type": "qwen2", "use_sliding_window": true, "sliding_window": 6, "max_window_layers": 1 },
    { ...BASE, "model_type": "qwen3", "head_dim": 16, "rope_theta": 1e6 },
  ];
  for (const raw of raws) {
    const c = parseLlamaConfig(raw);
    assert.deepEqual(parseLlamaConfig(toHfConfig(c)), c);
  }
});
