// SPDX-License-Identifier: MIT
/**
 * Each supported architecture against independent PyTorch goldens (tests/fixtures/arch, made by
 * tools/make_arch_fixtures.py), the loader mistakes that the goldens catch, and checkpoints that
 * must be rejected with a message naming the tensor or config field.
 */
import assert from "node:assert/strict";
import { BUNDLED_MODEL_DIR, CheckpointError, loadLlama } from "../../lib/model/load.ts";
import { type LlamaConfig, UnsupportedModelError } from "../../lib/model/config.ts";
import { LlamaModel } from "../../lib/model/llama.ts";
import { openSafetensors } from "../../lib/tensor/safetensors_read.ts";
import { writeSafetensors } from "../../lib/tensor/safetensors_write.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { assertThrowsMessage } from "../_assert.ts";
import { cpuBackends } from "../_backends.ts";
import { ARCH_VARIANTS, type ArchVariant, fixtureDir, golden, maxAbsDiff } from "./_arch_fixtures.ts";

/** Our forward pass vs the PyTorch golden (f32 on both sides). */
const GOLDEN_ATOL = 1e-4;
/** A loader mistake must move some logit by more than this (100× the golden tolerance). */
const MISTAKE_MIN_DIFF = 1e-2;

for (const ops of cpuBackends()) {
  for (const variant of ARCH_VARIANTS) {
    Deno.test(`${variant} matches its PyTorch golden logits within ${GOLDEN_ATOL} on ${ops.name}`, async () => {
      const model = await loadLlama(fixtureDir(variant), { ops });
      const g = await golden(variant);
      const logits = await model.forward(g.ids, g.T);
      assert.deepEqual(logits.shape, g.logits.shape);
      const diff = maxAbsDiff(logits.data, g.logits.data);
      assert.ok(diff <= GOLDEN_ATOL, `${variant}: max |Δ logits| = ${diff.toExponential(2)} > ${GOLDEN_ATOL}`);
    });
  }
}

/** The fixture's logits when the config is changed by `mistake` (same weights). */
async function mistakeDiff(variant: ArchVariant, mistake: (c: LlamaConfig) => LlamaConfig): Promise<number> {
  const model = await loadLlama(fixtureDir(variant), { ops: tsOps });
  const g = await golden(variant);
  const wrong = new LlamaModel(mistake(model.config), model.weights, tsOps);
  return maxAbsDiff((await wrong.forward(g.ids, g.T)).data, g.logits.data);
}

const fullAttention = (c: LlamaConfig): LlamaConfig => ({
  ...c,
  slidingWindow: null,
  layerTypes: c.layerTypes.map(() => "full_attention" as const),
});

const MISTAKES: [string, ArchVariant, (c: LlamaConfig) => LlamaConfig, number][] = [
  ["plain RoPE instead of llama3 scaling", "llama-llama3", (c) => ({ ...c, ropeScaling: null }), MISTAKE_MIN_DIFF],
  ["plain RoPE instead of linear scaling", "llama-linear", (c) => ({ ...c, ropeScaling: null }), MISTAKE_MIN_DIFF],
  ["ignoring Mistral's sliding window", "mistral-window", fullAttention, MISTAKE_MIN_DIFF],
  ["ignoring Qwen2's per-layer sliding window", "qwen2-window", fullAttention, MISTAKE_MIN_DIFF],
  [
    "a sliding window on every Qwen2 layer (ignoring max_window_layers)",
    "qwen2-window",
    (c) => ({ ...c, layerTypes: c.layerTypes.map(() => "sliding_attention" as const) }),
    MISTAKE_MIN_DIFF,
  ],
  // The window boundary (i − W < j ≤ i) is pinned by the golden: one more visible key per query is a mistake.
  [
    "an off-by-one window (i − W ≤ j)",
    "mistral-window",
    (c) => ({ ...c, slidingWindow: (c.slidingWindow as number) + 1 }),
    MISTAKE_MIN_DIFF,
  ],
  ["dropping Qwen2's q/k/v biases", "qwen2", (c) => ({ ...c, qkvBias: false }), MISTAKE_MIN_DIFF],
  [
    "dropping Llama's o_proj and MLP biases",
    "llama-bias",
    (c) => ({ ...c, oBias: false, mlpBias: false }),
    MISTAKE_MIN_DIFF,
  ],
  ["dropping Qwen3's q/k norms", "qwen3", (c) => ({ ...c, qkNorm: false }), MISTAKE_MIN_DIFF],
];

for (const [what, variant, mistake, minDiff] of MISTAKES) {
  Deno.test(`loader mistake moves logits beyond tolerance: ${what} (${variant})`, async (t) => {
    const diff = await mistakeDiff(variant, mistake);
    await t.step(`max |Δ logits| = ${diff.toExponential(2)}, must exceed ${minDiff}`, () => {
      assert.ok(diff > minDiff, `${what}: max |Δ logits| = ${diff.toExponential(2)}, expected > ${minDiff}`);
    });
  });
}

/** Copies a fixture into a temp dir with a changed config and/or changed tensors. */
async function variantCopy(
  variant: ArchVariant,
  edit: {
    config?: (raw: Record<string, unknown>) => Record<string, unknown>;
    tensors?: (t: Map<string, Tensor>) => void;
  },
): Promise<string> {
  const src = fixtureDir(variant), dir = await Deno.makeTempDir();
  const raw = JSON.parse(await Deno.readTextFile(`${src}/config.json`));
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(edit.config ? edit.config(raw) : raw));
  using f = await openSafetensors(`${src}/model.safetensors`);
  const tensors = new Map<string, Tensor>();
  for (const name of f.names) tensors.set(name, await f.read(name));
  edit.tensors?.(tensors);
  await writeSafetensors(`${dir}/model.safetensors`, Object.fromEntries(tensors));
  return dir;
}

async function rejects(
  dir: string,
  ErrorClass: typeof CheckpointError | typeof UnsupportedModelError,
  ...parts: string[]
) {
  try {
    await assertThrowsMessage(() => loadLlama(dir, { ops: tsOps }), ErrorClass, ...parts);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a checkpoint with an extra tensor is rejected naming it", async () => {
  const extra = "model.layers.0.self_attn.rotary_emb.inv_freq";
  await rejects(
    await variantCopy("qwen2", { tensors: (t) => void t.set(extra, new Tensor("f32", [8], new Float32Array(8))) }),
    CheckpointError,
    extra,
    "does not consume",
  );
});

Deno.test("a checkpoint with a missing bias or q/k norm is rejected naming it", async () => {
  const bias = "model.layers.1.self_attn.k_proj.bias";
  await rejects(await variantCopy("qwen2", { tensors: (t) => void t.delete(bias) }), CheckpointError, bias);
  const norm = "model.layers.0.self_attn.q_norm.weight";
  await rejects(await variantCopy("qwen3", { tensors: (t) => void t.delete(norm) }), CheckpointError, norm);
});

Deno.test("a Qwen checkpoint whose config says llama is rejected, not run without its biases or norms", async () => {
  const asLlama = (c: Record<string, unknown>) => {
    const { "use_sliding_window": _u, "sliding_window": _s, "max_window_layers": _m, ...rest } = c;
    return { ...rest, "model_type": "llama" };
  };
  await rejects(
    await variantCopy("qwen2", { config: asLlama }),
    CheckpointError,
    "model.layers.0.self_attn.q_proj.bias",
    "does not consume",
  );
  await rejects(
    await variantCopy("qwen3", { config: asLlama }),
    CheckpointError,
    "model.layers.0.self_attn.q_norm.weight",
    "does not consume",
  );
});

Deno.test("unknown rope_scaling types, activations and fields are rejected naming the field", async () => {
  const yarn = { "rope_type": "yarn", factor: 4.0, "original_max_position_embeddings": 32 };
  await rejects(
    await variantCopy("llama-plain", { config: (c) => ({ ...c, "rope_scaling": yarn }) }),
    UnsupportedModelError,
    "rope_scaling",
    "yarn",
  );
  await rejects(
    await variantCopy("llama-plain", { config: (c) => ({ ...c, "hidden_act": "gelu" }) }),
    UnsupportedModelError,
    "hidden_act",
    "gelu",
  );
  await rejects(
    await variantCopy("mistral-window", { config: (c) => ({ ...c, "attention_bias": true }) }),
    UnsupportedModelError,
    "attention_bias",
    "MistralForCausalLM",
  );
  await rejects(
    await variantCopy("qwen2", { config: (c) => ({ ...c, "layer_types": ["full_attention", "chunked_attention"] }) }),
    UnsupportedModelError,
    "layer_types[1]",
    "chunked_attention",
  );
});

Deno.test("a 4-layer checkpoint whose config says 3 layers is rejected naming model.layers.3", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = JSON.parse(await Deno.readTextFile(`${BUNDLED_MODEL_DIR}/config.json`));
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ ...config, "num_hidden_layers": 3 }));
    await Deno.symlink(`${BUNDLED_MODEL_DIR}/model.safetensors`, `${dir}/model.safetensors`);
    await assertThrowsMessage(() => loadLlama(dir, { ops: tsOps }), CheckpointError, "model.layers.3.");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a model holding one layer's tensors runs that block (streaming)", async () => {
  const model = await loadLlama(fixtureDir("qwen3"), { ops: tsOps });
  const g = await golden("qwen3");
  const prefix = "model.layers.1.";
  const one = new Map([...model.weights].filter(([n]) => n.startsWith(prefix)));
  const layerOnly = new LlamaModel(model.config, one, tsOps);
  const h0 = await model.block(0, model.embed(g.ids), g.T);
  const full = await model.block(1, h0, g.T);
  const streamed = await layerOnly.block(1, h0, g.T);
  assert.equal(maxAbsDiff(full.data, streamed.data), 0);
  await assertThrowsMessage(() => layerOnly.block(0, h0, g.T), RangeError, "model.layers.0.");
});
