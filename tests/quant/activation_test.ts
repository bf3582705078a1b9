// SPDX-License-Identifier: MIT
/** Per-token activation fake quantization, static thresholds, hooks on a model, kernel fraction. */
import assert from "node:assert/strict";
import { activationQuantHooks, quantizeActivations } from "../../lib/quant/activation.ts";
import { withOnlineHooks } from "../../lib/rotate/hooked_model.ts";
import { quantizationKernelFraction } from "../../lib/calib/metrics.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { tinyIds, tinyModel } from "../calib/_tiny_model.ts";

Deno.test("per-token int8: each token's error ≤ its own half step", async () => {
  const X = randnF32([8, 32], 1);
  for (let j = 0; j < 32; j++) X.data[3 * 32 + j]! *= 100; // one loud token
  const Y = await quantizeActivations(X, { format: "int", bits: 8, groupSize: 0, symmetric: true });
  for (let t = 0; t < 8; t++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(X.data[t * 32 + j]!));
    const step = (2 * amax) / 255;
    for (let j = 0; j < 32; j++) assert.ok(Math.abs(X.data[t * 32 + j]! - Y.data[t * 32 + j]!) <= step / 2 + 1e-6);
  }
  // Per-tensor: the loud token sets the scale, so quiet tokens mostly round to zero.
  const T = await quantizeActivations(X, { format: "int", bits: 4, groupSize: 0, symmetric: true, perTensor: true });
  assert.ok(quantizationKernelFraction(X, T) > 0.5);
  assert.ok(quantizationKernelFraction(X, Y) < 0.05);
});

Deno.test("a static threshold clips to [−t, t]", async () => {
  const X = new Tensor("f32", [1, 4], new Float32Array([-10, -1, 0.5, 10]));
  const Y = await quantizeActivations(X, { format: "int", bits: 8, groupSize: 0, symmetric: true }, { threshold: 2 });
  assert.ok(Math.abs(Y.data[0]! + 2) < 0.02 && Math.abs(Y.data[3]! - 2) < 0.02);
  assert.ok(Math.abs(Y.data[1]! + 1) < 0.01);
  const F = await quantizeActivations(X, { format: "fp", element: "e4m3", groupSize: 0 }, { threshold: 448 });
  assert.deepEqual(Array.from(F.data), [-10, -1, 0.5, 10]); // exactly representable in E4M3 with scale 1
});

Deno.test("activation hooks quantize decoder linear inputs and report the kernel fraction", async () => {
  const model = tinyModel(4);
  const ids = tinyIds(2, 16, 5);
  const ref = await model.forward(ids, 16);
  const seen = new Map<string, number>();
  const a8 = await model.forward(ids, 16, {
    hooks: activationQuantHooks({ format: "int", bits: 8, groupSize: 0, symmetric: true }, {
      onKernelFraction: (n, f) => seen.set(n, f),
    }),
  });
  assert.equal(seen.size, 14); // 7 linears × 2 layers, lm_head excluded
  const a2 = await withOnlineHooks(
    model,
    activationQuantHooks({ format: "int", bits: 2, groupSize: 0, symmetric: true }),
  ).forward(ids, 16);
  let d8 = 0, d2 = 0;
  for (let i = 0; i < ref.size; i++) {
    d8 += (a8.data[i]! - ref.data[i]!) ** 2;
    d2 += (a2.data[i]! - ref.data[i]!) ** 2;
  }
  const norm = ref.data.reduce((s, v) => s + v * v, 0);
  assert.ok(d8 < 1e-3 * norm, `8-bit per-token relative error ${d8 / norm}`); // nearly lossless
  assert.ok(d2 > 10 * d8);
});
