// SPDX-License-Identifier: MIT
/**
 * The decoder's building blocks against plain f64 references: SwiGLU (SIMD chunks and scalar
 * tail, aliasing `out`), RMSNorm in place, the masked softmax rows, and the blocked causal
 * attention (GQA, sliding windows crossing query blocks) on each CPU backend; then the model's
 * buffer discipline: in-place blocks, hooks that keep what they were given, concurrent calls.
 */
import assert from "node:assert/strict";
import { headRmsNorm, rmsNorm, swiglu } from "../../lib/model/layers.ts";
import { causalAttention, maskedSoftmaxRows, QUERY_BLOCK } from "../../lib/model/_attention.ts";
import { loadLlama } from "../../lib/model/load.ts";
import { Workspace } from "../../lib/ops/workspace.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { assertAllClose } from "../_assert.ts";
import { cpuBackends } from "../_backends.ts";
import { fixtureDir, golden } from "./_arch_fixtures.ts";

function randn(shape: number[], seed: number, std = 1): Tensor<"f32"> {
  const rng = new Rng(seed), t = new Tensor("f32", shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * std;
  return t;
}

Deno.test("swiglu matches silu(g)·u in f64 over chunks, a tail and extreme gates; out may alias gate", () => {
  const n = 2 * 8192 + 7; // two SIMD chunks, a partial one and a scalar tail
  const g = randn([n], 1, 6), u = randn([n], 2);
  g.data.set([-120, -90, -20, 0, 20, 90, 120], 0);
  const expected = new Float32Array(n);
  for (let i = 0; i < n; i++) expected[i] = (g.data[i]! / (1 + Math.exp(-g.data[i]!))) * u.data[i]!;
  const y = swiglu(g, u);
  assertAllClose(y.data, expected, { atol: 1e-30, rtol: 4e-7 });
  const inPlace = swiglu(g, u, g);
  assert.equal(inPlace, g);
  assertAllClose(g.data, y.data, { atol: 0, rtol: 0 });
});

Deno.test("rmsNorm into out (also in place) equals the fresh result bit for bit; headRmsNorm per head", () => {
  const x = randn([5, 12], 3), w = randn([12], 4);
  const fresh = rmsNorm(x, w, 1e-6);
  const copy = new Tensor("f32", [5, 12], x.data.slice());
  assert.equal(rmsNorm(copy, w, 1e-6, copy), copy);
  assertAllClose(copy.data, fresh.data, { atol: 0, rtol: 0 });
  const hw = randn([4], 5), heads = new Tensor("f32", [5, 12], x.data.slice());
  headRmsNorm(heads, hw, 1e-6);
  const expected = rmsNorm(new Tensor("f32", [15, 4], x.data.slice()), hw, 1e-6);
  assertAllClose(heads.data, expected.data, { atol: 0, rtol: 0 });
});

/** f64 masked softmax of one row: kept columns (lo..last) normalised, the rest 0. */
function softmaxRef(row: Float32Array, lo: number, last: number): Float64Array {
  const out = new Float64Array(row.length);
  let max = -Infinity, sum = 0;
  for (let c = lo; c <= last; c++) max = Math.max(max, row[c]!);
  for (let c = lo; c <= last; c++) sum += out[c] = Math.exp(row[c]! - max);
  for (let c = lo; c <= last; c++) out[c]! /= sum;
  return out;
}

Deno.test("maskedSoftmaxRows: causal and windowed rows sum to 1, masked entries are exactly 0", () => {
  for (const [rows, n, first, window] of [[7, 13, 6, null], [5, 9, 4, 3], [6, 6, 0, 1], [3, 11, 8, 5]] as const) {
    const S = randn([rows, n], 10 + n, 8).data;
    const expected = new Float64Array(rows * n);
    for (let r = 0; r < rows; r++) {
      const last = first + r, lo = window === null ? 0 : Math.max(0, last - window + 1);
      expected.set(softmaxRef(S.subarray(r * n, (r + 1) * n), lo, last), r * n);
    }
    maskedSoftmaxRows(S, rows, n, first, window);
    assertAllClose(S, expected, { atol: 1e-9, rtol: 1e-6, msg: `rows ${rows}, n ${n}, window ${window}: ` });
    for (let i = 0; i < S.length; i++) if (expected[i] === 0) assert.equal(S[i], 0);
  }
});

/** Dense f64 attention of one (sequence, head): the specification the blocked version must match. */
function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, s: {
  B: number;
  T: number;
  H: number;
  KV: number;
  hd: number;
  window: number | null;
}): Float32Array {
  const { B, T, H, KV, hd, window } = s, qW = H * hd, kW = KV * hd;
  const out = new Float32Array(B * T * qW);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kc = Math.floor(h / (H / KV)) * hd;
      for (let p = 0; p < T; p++) {
        const lo = window === null ? 0 : Math.max(0, p - window + 1), w = new Float64Array(T);
        let max = -Infinity, sum = 0;
        for (let j = lo; j <= p; j++) {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += q[(b * T + p) * qW + h * hd + i]! * k[(b * T + j) * kW + kc + i]!;
          w[j] = dot / Math.sqrt(hd);
          max = Math.max(max, w[j]!);
        }
        for (let j = lo; j <= p; j++) sum += w[j] = Math.exp(w[j]! - max);
        for (let i = 0; i < hd; i++) {
          let acc = 0;
          for (let j = lo; j <= p; j++) acc += w[j]! * v[(b * T + j) * kW + kc + i]!;
          out[(b * T + p) * qW + h * hd + i] = acc / sum;
        }
      }
    }
  }
  return out;
}

for (const ops of cpuBackends()) {
  Deno.test(`causalAttention matches dense attention (GQA, windows across query blocks) on ${ops.name}`, async () => {
    const T = QUERY_BLOCK + 13; // two query blocks, the second partial
    for (const window of [null, 5, QUERY_BLOCK + 2]) {
      const s = { B: 2, T, H: 4, KV: 2, hd: 8, window };
      const q = randn([2 * T, 32], 20, 2).data, k = randn([2 * T, 16], 21, 2).data, v = randn([2 * T, 16], 22).data;
      const out = new Float32Array(2 * T * 32).fill(NaN); // every element must be written
      await causalAttention(ops, q, k, v, out, s, new Workspace());
      assertAllClose(out, attentionRef(q, k, v, s), { atol: 2e-5, rtol: 1e-4, msg: `window ${window}: ` });
    }
  });
}

Deno.test("block: inPlace updates and returns hidden, equal to the copying call; without it hidden is untouched", async () => {
  const model = await loadLlama(fixtureDir("qwen3"), { ops: tsOps });
  const { ids, T } = await golden("qwen3");
  const h = model.embed(ids), before = h.data.slice();
  const copied = await model.block(0, h, T);
  assert.notEqual(copied, h);
  assert.deepEqual(h.data, before);
  const inPlace = await model.block(0, h, T, { inPlace: true });
  assert.equal(inPlace, h);
  assertAllClose(inPlace.data, copied.data, { atol: 0, rtol: 0 });
});

Deno.test("hooks keep what they were given: linear inputs, q/k and block outputs are not reused later", async () => {
  const model = await loadLlama(fixtureDir("mistral-window"), { ops: tsOps });
  const { ids, T } = await golden("mistral-window");
  const inputs: [Tensor<"f32">, Float32Array][] = [], qks: [Float32Array, Float32Array][] = [];
  const outputs: [Tensor<"f32">, Float32Array][] = [];
  const logits = await model.forward(ids, T, {
    hooks: {
      linearInput: (_n, X) => void inputs.push([X, X.data.slice()]),
      queryKey: (_l, q, k) => void qks.push([q, q.slice()], [k, k.slice()]),
      blockOutput: (_l, h) => void outputs.push([h, h.data.slice()]),
    },
  });
  for (
    const [kept, copy] of [...inputs.map(([t, c]) => [t.data, c]), ...qks, ...outputs.map(([t, c]) => [t.data, c])]
  ) {
    assert.deepEqual(kept, copy);
  }
  assert.equal(new Set(outputs.map(([t]) => t)).size, model.config.numLayers);
  // the same logits as without hooks (the workspace path)
  assertAllClose(await model.forward(ids, T), logits, { atol: 0, rtol: 0 });
});

Deno.test("queryKey changes made in place are what attention uses", async () => {
  const model = await loadLlama(fixtureDir("llama-plain"), { ops: tsOps });
  const { ids, T } = await golden("llama-plain");
  const base = await model.forward(ids, T);
  // k = 0 makes every kept score 0: uniform attention over the causal prefix
  const flat = await model.forward(ids, T, { hooks: { queryKey: (_l, _q, k) => void k.fill(0) } });
  let diff = 0;
  for (let i = 0; i < base.size; i++) diff = Math.max(diff, Math.abs(base.data[i]! - flat.data[i]!));
  assert.ok(diff > 1e-2, `zeroing k moved the logits by only ${diff}`);
});

Deno.test("concurrent forward calls on one model give the sequential results", async () => {
  const model = await loadLlama(fixtureDir("qwen2-window"), { ops: tsOps });
  const { ids, T } = await golden("qwen2-window");
  const a = ids.subarray(0, T), b = ids.subarray(T, 2 * T);
  const [ya, yb] = await Promise.all([model.forward(a, T), model.forward(b, T)]);
  assertAllClose(ya, await model.forward(a, T), { atol: 0, rtol: 0 });
  assertAllClose(yb, await model.forward(b, T), { atol: 0, rtol: 0 });
});
