// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { calibrationWindows, DataError, evaluationTokens, randomWindows, tokenizeChecked } from "../../lib/data/mod.ts";
import { calibrationSamples } from "../../lib/calib/corpus.ts";
import { ByteTokenizer } from "../../lib/model/tokenizer.ts";
import { assertThrowsMessage } from "../_assert.ts";

const bytes = new ByteTokenizer();
const enc = (s: string) => Array.from(new TextEncoder().encode(s));

Deno.test("randomWindows: GPTQ's rule, starts in [0, len − T − 1], seeded and deterministic", () => {
  const T = 4, tokens = Int32Array.from({ length: T + 3 }, (_, i) => 100 + i); // starts 0, 1, 2
  const w = randomWindows(tokens, { nSamples: 300, seqLen: T, seed: 5 });
  const starts = new Set<number>();
  for (let s = 0; s < 300; s++) {
    const start = w[s * T]! - 100;
    starts.add(start);
    for (let t = 0; t < T; t++) assert.equal(w[s * T + t], 100 + start + t, "contiguous");
  }
  assert.deepEqual([...starts].sort(), [0, 1, 2], "every start in range is drawn, none past len − T − 1");
  assert.deepEqual(randomWindows(tokens, { nSamples: 300, seqLen: T, seed: 5 }), w);
  assert.notDeepEqual(randomWindows(tokens, { nSamples: 300, seqLen: T, seed: 6 }), w);
  assert.deepEqual(calibrationSamples(tokens, { nSamples: 300, seqLen: T, seed: 5 }), w, "the bundled path agrees");
  assert.throws(() => randomWindows(tokens.subarray(0, T), { seqLen: T }), RangeError);
});

Deno.test("calibrationWindows over documents: a random long-enough document, then a window in it (GPTQ c4)", () => {
  const docs = ["tiny", "x", "0123456789abcdef", "8 tokens", "ABCDEFGHIJKLMNOPQRSTUV"];
  const T = 8, n = 200;
  const w = calibrationWindows(docs, bytes, { nSamples: n, seqLen: T, seed: 3 });
  const used = new Set<number>();
  for (let s = 0; s < n; s++) {
    const text = new TextDecoder().decode(Uint8Array.from(w.subarray(s * T, (s + 1) * T)));
    const d = docs.findIndex((doc) => doc.length > T && doc.includes(text));
    assert.ok(d >= 0, `window "${text}" lies inside one document longer than T`);
    used.add(d);
  }
  assert.deepEqual([...used].sort(), [2, 4]);
  assert.deepEqual(calibrationWindows(docs, bytes, { nSamples: n, seqLen: T, seed: 3 }), w, "deterministic");
  // A document of exactly T tokens is not long enough (GPTQ needs len > seqLen).
  assertDataError(() => calibrationWindows(["12345678", "abc"], bytes, { nSamples: 1, seqLen: 8 }), "none of the 2");
  // stream mode joins with "\n\n" and samples the one stream.
  const s = calibrationWindows(["12345678", "abc"], bytes, { nSamples: 50, seqLen: 8, sampling: "stream" });
  const joined = enc("12345678\n\nabc");
  const starts = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const win = Array.from(s.subarray(i * 8, i * 8 + 8)).join();
    const start = [0, 1, 2, 3, 4].find((k) => joined.slice(k, k + 8).join() === win);
    assert.ok(start !== undefined, "a window of the joined stream, start ≤ len − T − 1 = 4");
    starts.add(start);
  }
  assert.equal(starts.size, 5);
});

function assertDataError(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof DataError && e.message.includes(message));
}

Deno.test("evaluationTokens: documents joined with \\n\\n, tokenized once, optional window cut", async () => {
  const docs = ["Mr. Speaker,", "", "the state of the union"];
  const t = evaluationTokens(docs, bytes);
  assert.deepEqual(Array.from(t), enc("Mr. Speaker,\n\n\n\nthe state of the union"));
  assert.equal(evaluationTokens(docs, bytes, { seqLen: 8, maxWindows: 2 }).length, 16);
  assert.equal(evaluationTokens(docs, bytes, { seqLen: 8, maxWindows: 100 }).length, t.length);
  await assertThrowsMessage(() => evaluationTokens(["abc"], bytes, { seqLen: 8 }), DataError, "only 3 tokens");
});

Deno.test("token ids ≥ vocab_size are an error naming the id", async () => {
  await assertThrowsMessage(
    () => tokenizeChecked("AB", bytes, { vocabSize: 66, file: "x.txt" }),
    DataError,
    "token id 66 at position 1",
    "vocab_size is 66",
    "x.txt",
  );
  await assertThrowsMessage(
    () => calibrationWindows(["hello world, hello"], bytes, { nSamples: 1, seqLen: 4, vocabSize: 100 }),
    DataError,
    "token id 104",
  );
});
