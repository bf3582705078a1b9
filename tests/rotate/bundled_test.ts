// SPDX-License-Identifier: MIT
/** Rotation, SmoothQuant and AWQ folding keep the bundled model's logits (skipped until the model file exists). */
import assert from "node:assert/strict";
import { BUNDLED_MODEL_DIR, loadLlama } from "../../lib/model/load.ts";
import { quarotRotate } from "../../lib/rotate/quarot.ts";
import { smoothQuant } from "../../lib/rotate/smoothquant.ts";
import { awqModel } from "../../lib/rotate/awq_model.ts";
import { checkInvariance } from "../../lib/rotate/invariance.ts";
import { cpuBackends } from "../_backends.ts";

/** The bound on |Δ logits| (f32). */
const LOGIT_ATOL = 1e-4;
const T = 64;

const present = (() => {
  try {
    return Deno.statSync(`${BUNDLED_MODEL_DIR}/model.safetensors`).isFile;
  } catch {
    return false;
  }
})();

/** Probe and calibration text: plain bytes of the byte-level model. */
const PROBE = new TextEncoder().encode(
  "Mr. Speaker, Mr. Vice President, Members of Congress, my fellow Americans: the state of our Union is strong. " +
    "We have met tonight to take stock of the Nation, its debts, its commerce and its hopes for the years ahead.",
).subarray(0, 2 * T);

for (const ops of cpuBackends()) {
  Deno.test({
    name: `bundled model: quarotRotate and SmoothQuant keep logits within 1e-4 on ${ops.name}`,
    ignore: !present,
    fn: async () => {
      const model = await loadLlama(BUNDLED_MODEL_DIR, { ops });
      for (const r1 of ["hadamard", "orthogonal"] as const) {
        const rotated = await quarotRotate(model, { r1, seed: 0 });
        const r = await checkInvariance(model, rotated, PROBE, T, { atol: LOGIT_ATOL });
        assert.ok(r.maxAbsDiff < LOGIT_ATOL, `${r1}: ${r.maxAbsDiff}`);
      }
      const { model: smoothed } = await smoothQuant(model, PROBE, { seqLen: T });
      assert.ok((await checkInvariance(model, smoothed, PROBE, T, { atol: LOGIT_ATOL })).maxAbsDiff < LOGIT_ATOL);
    },
  });
}

Deno.test({
  name: "bundled model: AWQ scale folding keeps logits within 1e-4",
  ignore: !present,
  fn: async () => {
    const ops = cpuBackends().at(-1)!;
    const model = await loadLlama(BUNDLED_MODEL_DIR, { ops });
    const spec = { format: "int", bits: 4, groupSize: 128, symmetric: false } as const;
    const { model: scaled } = await awqModel(model, PROBE, { spec, seqLen: T, clip: false, nGrid: 5 });
    assert.ok((await checkInvariance(model, scaled, PROBE, T, { atol: LOGIT_ATOL })).maxAbsDiff < LOGIT_ATOL);
  },
});
