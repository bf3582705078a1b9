// SPDX-License-Identifier: MIT
/** SmoothQuant/AWQ input statistics through the activation capture, and activation quantization on a rotated model. */
import assert from "node:assert/strict";
import { captureActivations } from "../../lib/calib/capture.ts";
import { absmaxAccumulator, meanAbsAccumulator, xtxAccumulator } from "../../lib/calib/accumulators/mod.ts";
import { activationQuantHooks } from "../../lib/quant/activation.ts";
import { quarotRotate } from "../../lib/rotate/quarot.ts";
import { withOnlineHooks } from "../../lib/rotate/hooked_model.ts";
import { accumulateHessian } from "../../lib/ops/ts/mod.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose } from "../_assert.ts";
import { randomIds, randomLlama } from "./_model.ts";

const T = 8;

Deno.test("captureActivations: absmax, mean |x| and ΣXᵀX match statistics of the hooked inputs", async () => {
  const model = randomLlama(tsOps);
  const ids = randomIds(3 * T, 48);
  const name = "model.layers.1.mlp.down_proj";
  const parts: Tensor<"f32">[] = [];
  await model.forward(ids.subarray(0, 2 * T), T, {
    hooks: { linearInput: (n, X) => void (n === name && parts.push(X)) },
  });
  await model.forward(ids.subarray(2 * T), T, { hooks: { linearInput: (n, X) => void (n === name && parts.push(X)) } });
  const accumulators = {
    absmax: absmaxAccumulator(),
    meanAbs: meanAbsAccumulator(),
    xtx: xtxAccumulator({ form: "sum" }),
  };
  const stats = (await captureActivations(model, ids, T, { names: [name], accumulators, batchSize: 2 })).get(name)!;
  const n = 96, absmax = new Float32Array(n), mean = new Float64Array(n), H = new Tensor("f64", [n, n]);
  for (const X of parts) {
    X.data.forEach((v, i) => {
      absmax[i % n] = Math.max(absmax[i % n]!, Math.abs(v));
      mean[i % n]! += Math.abs(v) / (3 * T);
    });
    accumulateHessian(H, X, 1);
  }
  assert.equal(stats.tokens, 3 * T);
  assertAllClose(stats.absmax, absmax, { atol: 0, rtol: 0 });
  assertAllClose(stats.meanAbs, mean, { atol: 1e-12, rtol: 1e-9 });
  assertAllClose(stats.xtx!, H, { atol: 1e-9, rtol: 1e-9 });
});

Deno.test("activation quantization composes after the online R4 of a rotated model", async () => {
  const model = await quarotRotate(randomLlama(tsOps));
  const ids = randomIds(T, 48);
  const seen = new Map<string, Tensor<"f32">>();
  const int4 = { format: "int", bits: 4, groupSize: 0, symmetric: true } as const;
  const hooked = withOnlineHooks(model, activationQuantHooks(int4, { ops: tsOps }));
  await hooked.forward(ids, T, { hooks: { linearInput: (n, X) => void seen.set(n, X) } });
  // the down_proj input is rotated (R4) and then quantized: at most 16 values per token
  const X = seen.get("model.layers.0.mlp.down_proj")!;
  for (let r = 0; r < T; r++) assert.ok(new Set(X.data.subarray(r * 96, (r + 1) * 96)).size <= 16);
  assert.ok(new Set(seen.get("lm_head")!.data.subarray(0, 64)).size > 16); // lm_head stays full precision
  const int8 = { ...int4, bits: 8 };
  const w8 = await withOnlineHooks(model, activationQuantHooks(int8, { ops: tsOps })).forward(ids, T);
  assertAllClose(w8, await model.forward(ids, T), { atol: 0.1, rtol: 0.05 });
});
