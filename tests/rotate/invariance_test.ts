// SPDX-License-Identifier: MIT
/** The invariance check catches deliberately broken folds and names the first diverging layer. */
import assert from "node:assert/strict";
import { checkInvariance, InvarianceError } from "../../lib/rotate/invariance.ts";
import { foldNorms, rebuildModel, scaleColumns } from "../../lib/rotate/fuse.ts";
import { quarotRotate } from "../../lib/rotate/quarot.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import type { LlamaModel } from "../../lib/model/llama.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { assertThrowsMessage } from "../_assert.ts";
import { randomIds, randomLlama } from "./_model.ts";

const LOGIT_ATOL = 1e-4;
const T = 16;

function replaced(model: LlamaModel, name: string, W: Tensor<"f32">): LlamaModel {
  return rebuildModel(model, new Map([...model.weights, [name, W]]));
}

async function expectDivergence(original: LlamaModel, broken: LlamaModel, layer: string) {
  const e = await assertThrowsMessage(
    () => checkInvariance(original, broken, randomIds(2 * T, 48), T, { atol: LOGIT_ATOL }),
    InvarianceError,
    `first diverge at ${layer}`,
    "logits differ by up to",
  ) as InvarianceError;
  assert.equal(e.layer, layer);
  assert.ok(e.report.maxAbsDiff > LOGIT_ATOL && e.report.kl > 0);
}

Deno.test("a norm whose weight is not folded is caught at its layer", async () => {
  const model = randomLlama(tsOps, { layers: 3 });
  const folded = foldNorms(model);
  // layer 1's input_layernorm reset to ones without scaling q/k/v: the scale is lost
  const name = "model.layers.1.input_layernorm.weight";
  const ones = new Tensor("f32", [64], new Float32Array(64).fill(1));
  await expectDivergence(model, replaced(model, name, ones), "model.layers.1");
  // folded twice in layer 2's MLP: γ kept in the norm and folded into gate/up
  const gamma = model.weight("model.layers.2.post_attention_layernorm.weight");
  await expectDivergence(
    model,
    replaced(folded, "model.layers.2.post_attention_layernorm.weight", gamma),
    "model.layers.2",
  );
});

Deno.test("a broken rotation is caught where it happens (embedding, block, head)", async () => {
  const model = randomLlama(tsOps, { layers: 3 });
  const rotated = await quarotRotate(model, { seed: 2 });
  const E = model.weight("model.embed_tokens.weight"); // unrotated embedding in a rotated model
  await expectDivergence(model, replaced(rotated, "model.embed_tokens.weight", E), "model.embed_tokens");
  const o = "model.layers.2.self_attn.o_proj.weight"; // o_proj written without R1ᵀ
  await expectDivergence(model, replaced(rotated, o, model.weight(o)), "model.layers.2");
  const head = rotated.weight("lm_head.weight"); // lm_head scaled after the last block
  const scaled = scaleColumns(head, new Float32Array(64).fill(1.5));
  await expectDivergence(model, replaced(rotated, "lm_head.weight", scaled), "model.norm / lm_head");
});

Deno.test("per-stage rows compare the rotated residual mapped back through R1ᵀ", async () => {
  const model = randomLlama(tsOps);
  const rotated = await quarotRotate(model, { seed: 2 });
  // R1 comes from the HookedLlamaModel: every stage agrees after mapping back
  const r = await checkInvariance(model, rotated, randomIds(T, 48), T);
  assert.ok(r.layers.every((row) => row.relDiff < 1e-5), JSON.stringify(r.layers));
  // a wrong residual rotation: logits still agree (so it passes), but the layer rows show it
  const wrong = await checkInvariance(model, rotated, randomIds(T, 48), T, {
    residual: (await quarotRotate(model, { seed: 9 })).rotations.r1!,
  });
  assert.ok(wrong.layers[0]!.relDiff > 1e-2 && wrong.maxAbsDiff < LOGIT_ATOL);
});

Deno.test("checkInvariance rejects models of different widths", async () => {
  await assertThrowsMessage(
    () => checkInvariance(randomLlama(tsOps), randomLlama(tsOps, { hidden: 32, heads: 2 }), randomIds(T, 48), T),
    TypeError,
    "64 and 32",
  );
});
