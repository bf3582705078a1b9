// SPDX-License-Identifier: MIT
/** Norm folding and QuaRot rotation keep the full-precision logits (small random Llama, ts and blas). */
import assert from "node:assert/strict";
import { foldNorms } from "../../lib/rotate/fuse.ts";
import { quarotRotate } from "../../lib/rotate/quarot.ts";
import { checkInvariance } from "../../lib/rotate/invariance.ts";
import { HookedLlamaModel, withOnlineHooks } from "../../lib/rotate/hooked_model.ts";
import { hadamardRotation } from "../../lib/rotate/hadamard.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { cpuBackends } from "../_backends.ts";
import { randomIds, randomLlama } from "./_model.ts";

/** The bound on |Δ logits| for function-preserving transforms in f32. */
const LOGIT_ATOL = 1e-4;
const T = 16;

for (const ops of cpuBackends()) {
  Deno.test(`foldNorms keeps logits and sets every norm to ones on ${ops.name}`, async () => {
    for (const tie of [false, true]) {
      const model = randomLlama(ops, { tie });
      const folded = foldNorms(model);
      for (const [name, w] of folded.weights) {
        if (name.endsWith("norm.weight")) assert.ok(w.data.every((v) => v === 1), name);
      }
      assert.equal(folded.config.tieWordEmbeddings, false);
      const r = await checkInvariance(model, folded, randomIds(2 * T, 48), T, { atol: LOGIT_ATOL });
      assert.ok(r.maxAbsDiff < LOGIT_ATOL && r.kl < 1e-8, `tie=${tie}: ${r.maxAbsDiff}`);
    }
  });

  Deno.test(`quarotRotate keeps logits within 1e-4 (R1 hadamard/orthogonal, R2, R3, R4) on ${ops.name}`, async () => {
    const cases = [
      { kv: 4, opts: {} },
      { kv: 4, opts: { r1: "orthogonal" as const, r2: "orthogonal" as const, seed: 3 } },
      { kv: 2, opts: { seed: 5 } }, // grouped-query attention
      { kv: 4, opts: { r2: false as const, r3: false, r4: false } },
    ];
    for (const { kv, opts } of cases) {
      const model = randomLlama(ops, { kvHeads: kv, seed: 11 });
      const rotated = await quarotRotate(model, opts);
      assert.ok(rotated instanceof HookedLlamaModel);
      const r = await checkInvariance(model, rotated, randomIds(2 * T, 48, 3), T, { atol: LOGIT_ATOL });
      assert.ok(r.maxAbsDiff < LOGIT_ATOL, `${JSON.stringify(opts)}: ${r.maxAbsDiff}`);
      assert.equal(r.layers.length, model.config.numLayers + 2);
      // the residual stream really is rotated: weights changed
      const name = "model.layers.0.self_attn.q_proj.weight";
      assert.ok(Math.abs(rotated.weight(name).data[0]! - model.weight(name).data[0]!) > 1e-6);
    }
  });
}

Deno.test("online R3/R4 are forward-pass steps: removing them breaks invariance, withWeights keeps them", async () => {
  const model = randomLlama(tsOpsOf());
  const rotated = await quarotRotate(model, { seed: 1 });
  assert.ok(rotated.rotations.r3 && rotated.rotations.r4 && rotated.rotations.r1 && rotated.rotations.r2);
  const ids = randomIds(T, 48);
  const base = await model.forward(ids, T);
  // same weights without the online R4 → wrong (W_down expects the rotated input)
  const { LlamaModel } = await import("../../lib/model/llama.ts");
  const bare = new LlamaModel(rotated.config, rotated.weights, rotated.ops);
  const broken = await bare.forward(ids, T);
  assert.ok(Math.abs(broken.data[0]! - base.data[0]!) > 1e-3);
  // withWeights (what quantizeModelWeights uses) keeps the online steps
  const name = "model.layers.1.mlp.up_proj.weight";
  const again = rotated.withWeights(new Map([[name, rotated.weight(name)]]));
  assert.ok(again instanceof HookedLlamaModel);
  assertAllClose(await again.forward(ids, T), base, { atol: LOGIT_ATOL, rtol: 0 });
  // R3 alone changes no weight: dropping only R3 keeps logits
  const noR3 = await quarotRotate(model, { seed: 1, r3: false });
  assertAllClose(await noR3.forward(ids, T), base, { atol: LOGIT_ATOL, rtol: 0 });
  // extra hooks compose after the online ones
  const seen: number[] = [];
  const hooked = withOnlineHooks(rotated, {
    linearInput: (n, X) => void (n.endsWith("layers.0.mlp.down_proj") && seen.push(X.shape[1]!)),
  });
  await hooked.forward(ids, T);
  assert.deepEqual(seen, [96]);
});

Deno.test("quarotRotate rejects a rotated model and a wrong-size rotation", async () => {
  const model = randomLlama(tsOpsOf());
  const rotated = await quarotRotate(model);
  await assertThrowsMessage(() => quarotRotate(rotated), TypeError, "already carries online");
  await assertThrowsMessage(() => quarotRotate(model, { r1: hadamardRotation(32) }), TypeError, "size 32", "R1", "64");
  await assertThrowsMessage(() => quarotRotate(randomLlama(tsOpsOf(), { ffn: 100 })), RangeError, "size 100");
});

function tsOpsOf() {
  return cpuBackends()[0]!;
}
