// SPDX-License-Identifier: MIT
/**
 * Rotation and scale folding on the architecture fixtures with biases and q/k norms
 * (tests/fixtures/arch): QuaRot on Qwen2 (q/k/v biases, tied), Qwen3 (q/k norms, GQA,
 * head_dim ≠ hidden/heads) and Llama with attention + MLP biases; SmoothQuant and AWQ scales on
 * Qwen2. Each transform must keep the logits; the counter-checks show that leaving one bias
 * unmoved breaks the invariance, so the checks can fail.
 */
import assert from "node:assert/strict";
import { loadLlama } from "../../lib/model/load.ts";
import type { LlamaModel } from "../../lib/model/llama.ts";
import { quarotRotate } from "../../lib/rotate/quarot.ts";
import { checkInvariance, InvarianceError } from "../../lib/rotate/invariance.ts";
import { smoothQuant } from "../../lib/rotate/smoothquant.ts";
import { awqModel } from "../../lib/rotate/awq_model.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { assertThrowsMessage } from "../_assert.ts";
import { type ArchVariant, fixtureDir, golden } from "../model/_arch_fixtures.ts";

/**
 * Bound on |Δ logits| of a function-preserving transform: f32 rounding on these fixtures' logits
 * (up to ~30 for the tied variants) stays well below it.
 */
const LOGIT_ATOL = 1e-4;

async function fixture(variant: ArchVariant): Promise<{ model: LlamaModel; ids: Int32Array; T: number }> {
  const model = await loadLlama(fixtureDir(variant), { ops: tsOps });
  const g = await golden(variant);
  return { model, ids: g.ids, T: g.T };
}

/** The transformed model with one tensor put back to the original's value. */
function revert(transformed: LlamaModel, original: LlamaModel, name: string): LlamaModel {
  return transformed.withWeights(new Map([[name, original.weight(name)]]));
}

for (const variant of ["qwen2", "qwen3", "llama-bias"] as const) {
  Deno.test(`quarotRotate (R1–R4) keeps the logits of ${variant} within ${LOGIT_ATOL}`, async () => {
    const { model, ids, T } = await fixture(variant);
    const rotated = await quarotRotate(model, { seed: 3 });
    const r = await checkInvariance(model, rotated, ids, T, { atol: LOGIT_ATOL });
    assert.ok(r.maxAbsDiff <= LOGIT_ATOL, `${variant}: ${r.maxAbsDiff}`);
    if (variant === "qwen3") {
      // q/k norms are untouched: R1 acts on the input side of q_proj/k_proj (see quarot.ts).
      const name = "model.layers.1.self_attn.q_norm.weight";
      assert.equal(rotated.weight(name), model.weight(name));
    }
  });
}

Deno.test("quarotRotate fails the invariance check if a bias is left unrotated", async () => {
  const qwen2 = await fixture("qwen2"); // v bias turns with R2
  const rotated = await quarotRotate(qwen2.model, { seed: 3 });
  const bad = revert(rotated, qwen2.model, "model.layers.0.self_attn.v_proj.bias");
  const e = await assertThrowsMessage(
    () => checkInvariance(qwen2.model, bad, qwen2.ids, qwen2.T, { atol: LOGIT_ATOL }),
    InvarianceError,
  );
  assert.equal((e as InvarianceError).layer, "model.layers.0");
  const llama = await fixture("llama-bias"); // o_proj and down_proj biases turn with R1
  const rotatedLlama = await quarotRotate(llama.model, { seed: 3 });
  for (const name of ["model.layers.1.self_attn.o_proj.bias", "model.layers.1.mlp.down_proj.bias"]) {
    await assertThrowsMessage(
      () => checkInvariance(llama.model, revert(rotatedLlama, llama.model, name), llama.ids, llama.T),
      InvarianceError,
      "model.layers.1",
    );
  }
});

Deno.test("SmoothQuant and AWQ scales keep the logits of qwen2 (biases) and llama-bias", async () => {
  for (const variant of ["qwen2", "llama-bias"] as const) {
    const { model, ids, T } = await fixture(variant);
    const { model: smoothed } = await smoothQuant(model, ids, { seqLen: T, alpha: 0.5 });
    const rs = await checkInvariance(model, smoothed, ids, T, { atol: LOGIT_ATOL });
    assert.ok(rs.maxAbsDiff <= LOGIT_ATOL, `smoothquant ${variant}: ${rs.maxAbsDiff}`);
    const spec = { format: "int", bits: 3, groupSize: 0, symmetric: false } as const;
    const awq = await awqModel(model, ids, { spec, seqLen: T, clip: false, nGrid: 5 });
    // Some group must really scale, or the check would be vacuous.
    assert.ok(awq.groups.some((g) => g.alpha > 0), `${variant}: every AWQ α is 0`);
    const ra = await checkInvariance(model, awq.model, ids, T, { atol: LOGIT_ATOL });
    assert.ok(ra.maxAbsDiff <= LOGIT_ATOL, `awq ${variant}: ${ra.maxAbsDiff}`);
  }
});

Deno.test("AWQ fails the invariance check if a scaled bias is left unscaled", async () => {
  const spec = { format: "int", bits: 3, groupSize: 0, symmetric: false } as const;
  const cases = [
    ["qwen2", "model.layers.0.self_attn.v_proj.bias"], // v → o group (H = KV)
    ["llama-bias", "model.layers.0.mlp.up_proj.bias"], // up → down group
  ] as const;
  for (const [variant, bias] of cases) {
    const { model, ids, T } = await fixture(variant);
    const awq = await awqModel(model, ids, { spec, seqLen: T, clip: false, nGrid: 5 });
    const prev = bias.replace(/\.bias$/, "");
    const alpha = awq.groups.find((g) => g.prev === prev)?.alpha;
    assert.ok(alpha !== undefined && alpha > 0, `${variant}: ${prev} group must scale (α = ${alpha})`);
    await assertThrowsMessage(
      () => checkInvariance(model, revert(awq.model, model, bias), ids, T, { atol: LOGIT_ATOL }),
      InvarianceError,
    );
  }
});
