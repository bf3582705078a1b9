// SPDX-License-Identifier: MIT
// deno-lint-ignore-file camelcase -- tokenizer.json keys are snake_case by format
import assert from "node:assert/strict";
import { ByteTokenizer, HfTokenizer, loadTokenizer } from "../../lib/model/tokenizer.ts";
import { assertThrowsMessage } from "../_assert.ts";

/** A tiny byte-level BPE tokenizer.json in the Hugging Face format (its snake_case keys are the format's). */
const TINY_BPE = {
  version: "1.0",
  added_tokens: [{ id: 30, content: "<s>", special: true }],
  normalizer: null,
  pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: null,
  decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  model: {
    type: "BPE",
    dropout: null,
    unk_token: null,
    fuse_unk: false,
    byte_fallback: false,
    vocab: Object.fromEntries([..."abcdefghijklmnopqrstuvwxyz", "Ġ", "th", "the", "Ġthe"].map((t, i) => [t, i])),
    merges: ["t h", "th e", "Ġ the"],
  },
};

Deno.test("byte tokenizer round-trips UTF-8", () => {
  const tok = new ByteTokenizer();
  const text = "Mr. Speaker — 1790 ✓";
  assert.equal(tok.decode(tok.encode(text)), text);
  assert.equal(tok.encode("é").length, 2);
});

Deno.test("tokenizer.json BPE applies merges and decodes", () => {
  const tok = new HfTokenizer(TINY_BPE);
  assert.deepEqual([...tok.encode("the cat the")], [28, 26, 2, 0, 19, 29]);
  assert.equal(tok.decode(tok.encode("the cat the")), "the cat the");
  assert.equal(tok.vocabSize, 31);
});

Deno.test("loadTokenizer picks tokenizer.json, byte config, or explains what is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertThrowsMessage(() => loadTokenizer(dir), RangeError, "tokenizer.json", dir);
    await Deno.writeTextFile(`${dir}/tokenizer_config.json`, JSON.stringify({ type: "bytes" }));
    assert.ok((await loadTokenizer(dir)) instanceof ByteTokenizer);
    await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(TINY_BPE));
    assert.ok((await loadTokenizer(dir)) instanceof HfTokenizer);
    await Deno.writeTextFile(`${dir}/tokenizer.json`, "{ not json");
    await assertThrowsMessage(() => loadTokenizer(dir), TypeError, "tokenizer.json");
    await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify({ model: {} }));
    await assertThrowsMessage(() => loadTokenizer(dir), TypeError, "vocab");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
