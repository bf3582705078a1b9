// SPDX-License-Identifier: MIT
/** SmoothQuant: the scale formula, shared scales per norm, unchanged logits, flatter activations. */
import assert from "node:assert/strict";
import { smoothQuant, smoothQuantScales } from "../../lib/rotate/smoothquant.ts";
import { checkInvariance } from "../../lib/rotate/invariance.ts";
import { captureActivations } from "../../lib/calib/capture.ts";
import { absmaxAccumulator } from "../../lib/calib/accumulators/absmax.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { cpuBackends } from "../_backends.ts";
import { randomIds, randomLlama } from "./_model.ts";

const LOGIT_ATOL = 1e-4;
const SCALE_RTOL = 1e-6;
const T = 16;

Deno.test("smoothQuantScales: s_j = max|X_j|^α / max_group|W_:j|^(1−α)", async () => {
  const Wq = new Tensor("f32", [2, 3], new Float32Array([1, -2, 0.5, 0.25, 1, -4]));
  const Wk = new Tensor("f32", [1, 3], new Float32Array([3, 0.5, 1]));
  const x = new Float32Array([9, 1, 100]);
  const s = smoothQuantScales(x, [Wq, Wk], 0.75);
  const want = [9 ** 0.75 / 3 ** 0.25, 1 / 2 ** 0.25, 100 ** 0.75 / 4 ** 0.25];
  assertAllClose(s, want, { atol: 0, rtol: SCALE_RTOL });
  assertAllClose(smoothQuantScales(x, [Wq], 0), [1, 0.5, 0.25], { atol: 0, rtol: SCALE_RTOL }); // α=0: 1/max|W|
  await assertThrowsMessage(() => smoothQuantScales(x, [Wq], 1.5), RangeError, "alpha 1.5");
  await assertThrowsMessage(
    () => smoothQuantScales(new Float32Array(2), [Wq], 0.5),
    TypeError,
    "[2, 3]",
    "2 activation",
  );
});

for (const ops of cpuBackends()) {
  Deno.test(`smoothQuant keeps logits, shares scales in q/k/v and gate/up, flattens activations on ${ops.name}`, async () => {
    const model = randomLlama(ops, { kvHeads: 2 });
    const calib = randomIds(4 * T, 48, 11);
    const { model: smoothed, scales } = await smoothQuant(model, calib, { seqLen: T, alpha: 0.5 });
    assert.equal(scales.size, 2 * model.config.numLayers);
    const r = await checkInvariance(model, smoothed, randomIds(2 * T, 48), T, { atol: LOGIT_ATOL });
    assert.ok(r.maxAbsDiff < LOGIT_ATOL, String(r.maxAbsDiff));
    // q, k, v columns all scaled by the same s
    const s = scales.get("model.layers.0.input_layernorm")!;
    for (const n of ["q_proj", "k_proj", "v_proj"]) {
      const name = `model.layers.0.self_attn.${n}.weight`;
      const W = model.weight(name), W2 = smoothed.weight(name), cols = W.shape[1]!;
      for (const j of [0, 3, 17]) assertAllClose([W2.data[j]! / W.data[j]!], [s[j]!], { rtol: 1e-5, atol: 0 });
      assert.equal(cols, s.length);
    }
    // outlier channels 3 and 17: the channel absmax spread shrinks after smoothing
    const spread = async (m: typeof model) => {
      const names = ["model.layers.0.self_attn.q_proj"];
      const st = await captureActivations(m, calib, T, { names, accumulators: { absmax: absmaxAccumulator() } });
      const a = st.get("model.layers.0.self_attn.q_proj")!.absmax;
      return Math.max(...a) / Math.min(...a);
    };
    assert.ok((await spread(smoothed)) < (await spread(model)) / 4);
  });
}
