// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { evaluateLogits, type LogitsFn } from "../../lib/eval/perplexity.ts";
import { referenceStatsBytes } from "../../lib/eval/reference_stats.ts";
import { assertThrowsMessage } from "../_assert.ts";

/** A deterministic stand-in LM: logits depend on the current token, the position and `noise`. */
function fakeLm(V: number, noise: number, calls?: string[], label = ""): LogitsFn {
  return (ids, T) => {
    calls?.push(`${label}:${ids.length / T}:${ids[0]}`);
    const out = new Float32Array(ids.length * V);
    for (let r = 0; r < ids.length; r++) {
      const x = ids[r]!;
      for (let j = 0; j < V; j++) {
        out[r * V + j] = 3 * Math.cos(0.37 * j * (x + 1)) + noise * Math.sin(1.3 * j + 0.7 * x + 0.11 * (r % T));
      }
    }
    return Promise.resolve(new Tensor("f32", [ids.length, V], out));
  };
}

function tokens(n: number, V: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (i * 7 + (i >> 3)) % V);
}

/** The protocol written out directly on all logits at once: the oracle. */
async function oracle(model: LogitsFn, ref: LogitsFn, V: number, ids: Int32Array, T: number, W: number) {
  const x = ids.slice(0, W * T);
  const [q, p] = [await model(x, T), await ref(x, T)];
  const logSoftmax = (d: Float32Array, r: number) => {
    const row = Array.from(d.subarray(r * V, (r + 1) * V));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    return row.map((v) => v - lse);
  };
  let nll = 0, kl = 0, agree = 0, n = 0;
  for (let w = 0; w < W; w++) {
    for (let t = 0; t < T - 1; t++) {
      const r = w * T + t, lq = logSoftmax(q.data, r), lp = logSoftmax(p.data, r);
      nll -= lq[x[r + 1]!]!;
      kl += lp.reduce((s, v, j) => s + Math.exp(v) * (v - lq[j]!), 0);
      if (lp.indexOf(Math.max(...lp)) === lq.indexOf(Math.max(...lq))) agree++;
      n++;
    }
  }
  return { perplexity: Math.exp(nll / n), kl: kl / n, top1: agree / n };
}

Deno.test("evaluateLogits with a reference model matches the protocol written out", async () => {
  const V = 37, T = 16, ids = tokens(T * 11 + 5, V);
  const model = fakeLm(V, 0.8), ref = fakeLm(V, 0);
  const r = await evaluateLogits(model, V, ids, { seqLen: T, batchSize: 3, reference: ref });
  const o = await oracle(model, ref, V, ids, T, 11);
  assert.equal(r.windows, 11);
  assert.ok(Math.abs(r.perplexity - o.perplexity) < 1e-9 * o.perplexity);
  assert.ok(Math.abs(r.kl! - o.kl) < 1e-10);
  assert.ok(o.kl > 0.01, "the two models differ");
  assert.equal(r.top1Agreement, o.top1);
});

Deno.test("reference is evaluated on each batch right before the candidate; onWindow counts every window", async () => {
  const V = 11, T = 8, calls: string[] = [], seen: number[] = [];
  await evaluateLogits(fakeLm(V, 0.5, calls, "q"), V, tokens(T * 5, V), {
    seqLen: T,
    batchSize: 2,
    reference: fakeLm(V, 0, calls, "p"),
    onWindow: (done, total) => seen.push(done * 100 + total),
  });
  assert.deepEqual(calls.map((c) => c.split(":").slice(0, 2).join(":")), ["p:2", "q:2", "p:2", "q:2", "p:1", "q:1"]);
  assert.deepEqual(seen, [105, 205, 305, 405, 505]);
});

Deno.test("top-k reference stats: exact at k = V, a lower bound below, top-1 and perplexity exact", async () => {
  const V = 29, T = 12, ids = tokens(T * 6, V);
  const model = fakeLm(V, 1.2), ref = fakeLm(V, 0);
  const exact = await evaluateLogits(model, V, ids, { seqLen: T, reference: ref });
  const full = (await evaluateLogits(ref, V, ids, { seqLen: T, recordTopK: V })).referenceStats!;
  const viaFull = await evaluateLogits(model, V, ids, { seqLen: T, reference: full });
  assert.ok(Math.abs(viaFull.kl! - exact.kl!) < 1e-12);
  assert.ok(viaFull.klTailMass! < 1e-12);
  let previous = 0;
  for (const k of [1, 2, 4, 8, 16]) {
    const stats = (await evaluateLogits(ref, V, ids, { seqLen: T, recordTopK: k })).referenceStats!;
    const r = await evaluateLogits(model, V, ids, { seqLen: T, reference: stats });
    assert.ok(r.kl! <= exact.kl! + 1e-12 && r.kl! >= previous - 1e-12, `k=${k}: ${previous} ≤ ${r.kl} ≤ ${exact.kl}`);
    assert.equal(r.top1Agreement, exact.top1Agreement);
    assert.equal(r.perplexity, exact.perplexity);
    assert.ok(r.klTailMass! > 0 && r.klTailMass! < 1);
    previous = r.kl!;
  }
});

Deno.test("reference stats hold O(k) numbers per token, independent of the vocabulary", async () => {
  const T = 16, k = 4;
  const bytesOf = async (V: number, W: number) => {
    const r = await evaluateLogits(fakeLm(V, 0), V, tokens(T * W, V), { seqLen: T, recordTopK: k });
    return referenceStatsBytes(r.referenceStats!);
  };
  const perPrediction = k * (4 + 8) + 8; // ids i32, log-probs f64, tail f64
  assert.equal(await bytesOf(64, 4), 4 * (T - 1) * perPrediction);
  assert.equal(await bytesOf(1024, 4), 4 * (T - 1) * perPrediction, "a 16× larger vocabulary costs nothing");
  assert.equal(await bytesOf(64, 8), 8 * (T - 1) * perPrediction);
});

Deno.test("reference stats of other windows are rejected", async () => {
  const V = 13, T = 8;
  const stats = (await evaluateLogits(fakeLm(V, 0), V, tokens(T * 4, V), { seqLen: T, recordTopK: 2 })).referenceStats!;
  await assertThrowsMessage(
    () => evaluateLogits(fakeLm(V, 1), V, tokens(T * 4, V).reverse(), { seqLen: T, reference: stats }),
    RangeError,
    "other tokens",
  );
  await assertThrowsMessage(
    () => evaluateLogits(fakeLm(V, 1), V, tokens(T * 4, V), { seqLen: T, maxWindows: 3, reference: stats }),
    RangeError,
    "4 windows",
  );
});
