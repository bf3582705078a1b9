// SPDX-License-Identifier: MIT
/** The bundled model through the user-facing loader: golden logits from PyTorch, hooks, errors. */
import assert from "node:assert/strict";
import { BUNDLED_MODEL_DIR, CheckpointError, loadLlama } from "../../lib/model/load.ts";
import { UnsupportedModelError } from "../../lib/model/config.ts";
import { openSafetensors } from "../../lib/tensor/safetensors_read.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { sliceRows } from "../../lib/tensor/manip.ts";
import { zeros } from "../../lib/tensor/create.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { cpuBackends } from "../_backends.ts";

/** Our forward pass vs PyTorch on the golden inputs (f32 on both sides). */
const GOLDEN_ATOL = 1e-4;

async function golden() {
  const f = await openSafetensors(`${BUNDLED_MODEL_DIR}/golden.safetensors`);
  try {
    return {
      ids: (await f.read("input_ids")) as Tensor<"i32">,
      logits: (await f.read("logits")) as Tensor<"f32">,
      hidden0: (await f.read("hidden_layer0")) as Tensor<"f32">,
    };
  } finally {
    f.close();
  }
}

for (const ops of cpuBackends()) {
  Deno.test(`bundled model matches PyTorch golden logits on ${ops.name}`, async () => {
    const model = await loadLlama(BUNDLED_MODEL_DIR, { ops });
    const g = await golden();
    const [B, T] = g.ids.shape as [number, number];
    const h0 = await model.block(0, model.embed(g.ids.data), T);
    assertAllClose(h0.data, g.hidden0.data, { atol: GOLDEN_ATOL, rtol: 0, msg: "layer 0 hidden: " });
    const logits = await model.forward(g.ids.data, T);
    assert.deepEqual(logits.shape, [B * T, model.config.vocabSize]);
    assertAllClose(logits.data, g.logits.data, { atol: GOLDEN_ATOL, rtol: 0, msg: "logits: " });
  });
}

Deno.test("forward hooks capture and replace linear inputs; withWeights swaps one weight", async () => {
  const model = await loadLlama(BUNDLED_MODEL_DIR, { ops: tsOps });
  const ids = new Int32Array(32).map((_, i) => 65 + (i % 26));
  const seen = new Map<string, number[]>();
  const base = await model.forward(ids, 32, {
    hooks: { linearInput: (name, X) => void seen.set(name, [...X.shape]) },
  });
  assert.equal(seen.size, 7 * model.config.numLayers + 1);
  assert.deepEqual(seen.get("model.layers.0.mlp.down_proj"), [32, model.config.intermediateSize]);
  // Zeroing the input of one linear must change the output; identity replacement must not.
  const same = await model.forward(ids, 32, { hooks: { linearInput: (_n, X) => X } });
  assertAllClose(same, base, { atol: 0, rtol: 0 });
  const zeroed = await model.forward(ids, 32, {
    hooks: { linearInput: (n, X) => (n.endsWith("layers.1.mlp.down_proj") ? zeros(X.shape) : X) },
  });
  assert.ok(Math.abs(zeroed.data[0]! - base.data[0]!) > 1e-6);
  const name = "model.layers.0.self_attn.q_proj.weight";
  const swapped = model.withWeights(new Map([[name, zeros(model.weight(name).shape)]]));
  assert.notEqual(swapped.weight(name), model.weight(name));
  assert.equal(swapped.weight("lm_head.weight"), model.weight("lm_head.weight"));
  await assertThrowsMessage(
    () => model.withWeights(new Map([[name, sliceRows(model.weight(name), 0, 1)]])),
    TypeError,
    name,
    "[1, 256]",
  );
});

Deno.test("damaged or inconsistent checkpoints give clear errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = JSON.parse(await Deno.readTextFile(`${BUNDLED_MODEL_DIR}/config.json`));
    // A config whose hidden size contradicts the tensors.
    await Deno.copyFile(`${BUNDLED_MODEL_DIR}/model.safetensors`, `${dir}/model.safetensors`);
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ ...config, intermediate_size: 512 }));
    await assertThrowsMessage(() => loadLlama(dir, { ops: tsOps }), CheckpointError, "gate_proj", "[512, 256]");
    // More layers than the file holds.
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ ...config, num_hidden_layers: 5 }));
    await assertThrowsMessage(() => loadLlama(dir, { ops: tsOps }), CheckpointError, "model.layers.4");
    // Unsupported settings.
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ ...config, rope_scaling: { type: "linear" } }));
    await assertThrowsMessage(() => loadLlama(dir, { ops: tsOps }), UnsupportedModelError, "rope_scaling");
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ ...config, model_type: "gpt2" }));
    await assertThrowsMessage(() => loadLlama(dir, { ops: tsOps }), UnsupportedModelError, "gpt2", "llama");
    // A truncated safetensors file.
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
    const bytes = await Deno.readFile(`${BUNDLED_MODEL_DIR}/model.safetensors`);
    await Deno.writeFile(`${dir}/model.safetensors`, bytes.subarray(0, bytes.length - 1000));
    await assertThrowsMessage(() => loadLlama(dir, { ops: tsOps }), Error, "model.safetensors");
    // A sharded checkpoint with a missing shard.
    await Deno.remove(`${dir}/model.safetensors`);
    await Deno.writeTextFile(
      `${dir}/model.safetensors.index.json`,
      JSON.stringify({ weight_map: { "model.embed_tokens.weight": "model-00001-of-00002.safetensors" } }),
    );
    await assertThrowsMessage(() => loadLlama(dir, { ops: tsOps }), Error, "model-00001-of-00002.safetensors");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
