// SPDX-License-Identifier: MIT
/** The `queryKey` forward hook added to lib/model/llama.ts for online Q/K transforms (QuaRot's R3). */
import assert from "node:assert/strict";
import { hadamardRotation } from "../../lib/rotate/hadamard.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose } from "../_assert.ts";
import { randomIds, randomLlama } from "./_model.ts";

const ATOL = 1e-5;
const T = 8;

Deno.test("queryKey is called once per layer and sequence, after RoPE, with [T, heads·hd] views", async () => {
  const model = randomLlama(tsOps, { kvHeads: 2 });
  const calls: string[] = [];
  await model.forward(randomIds(2 * T, 48), T, {
    hooks: {
      queryKey: (layer, q, k, t, H, KV, hd) => {
        assert.equal(q.length, t * H * hd);
        assert.equal(k.length, t * KV * hd);
        calls.push(`${layer}:${t}:${H}:${KV}:${hd}`);
      },
    },
  });
  assert.deepEqual(calls, ["0:8:4:2:16", "0:8:4:2:16", "1:8:4:2:16", "1:8:4:2:16"]);
});

Deno.test("queryKey sees queries after RoPE: position 0 equals the projection, later positions do not", async () => {
  const model = randomLlama(tsOps);
  let X: Tensor<"f32"> | undefined, q0: Float32Array | undefined;
  await model.forward(randomIds(T, 48), T, {
    hooks: {
      linearInput: (n, x) => void (n === "model.layers.0.self_attn.q_proj" && (X = x)),
      queryKey: (l, q) => void (l === 0 && (q0 = q.slice())),
    },
  });
  const proj = await tsOps.matmul(X!, model.weight("model.layers.0.self_attn.q_proj.weight"), { transB: true });
  assertAllClose(q0!.subarray(0, 64), proj.data.subarray(0, 64), { atol: ATOL, rtol: 0 }); // RoPE(0) = identity
  assert.ok(q0!.subarray(64, 128).some((v, i) => Math.abs(v - proj.data[64 + i]!) > 1e-4));
});

Deno.test("in-place changes are used: an orthogonal map on Q and K keeps outputs, zeroing K does not", async () => {
  const model = randomLlama(tsOps);
  const ids = randomIds(2 * T, 48);
  const base = await model.forward(ids, T);
  const R = hadamardRotation(16, { seed: 3 });
  const rotate = async (x: Float32Array, rows: number) =>
    x.set((await R.apply(new Tensor("f32", [rows, 16], x), tsOps)).data);
  const rotated = await model.forward(ids, T, {
    hooks: { queryKey: async (_l, q, k, t, H, KV) => void (await rotate(q, t * H), await rotate(k, t * KV)) },
  });
  assertAllClose(rotated, base, { atol: ATOL, rtol: 0 });
  const zeroed = await model.forward(ids, T, { hooks: { queryKey: (_l, _q, k) => void k.fill(0) } });
  assert.ok(zeroed.data.some((v, i) => Math.abs(v - base.data[i]!) > 1e-3));
});
