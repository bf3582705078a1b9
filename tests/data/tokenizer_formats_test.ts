// SPDX-License-Identifier: MIT
// deno-lint-ignore-file camelcase -- tokenizer.json keys are snake_case by format
// The trained byte-level BPE through loadTokenizer, and the tokenizer.json layouts of real
// checkpoints (Llama-3, Qwen2, Mistral/Llama-2) built around small vocabularies: the same
// normalizers, pre-tokenizers, post-processors and decoders as the published files.
import assert from "node:assert/strict";
import { byteLevelTokenizerConfig, byteLevelTokenizerJson, trainByteLevelBpe } from "../../lib/data/bpe_train.ts";
import { HfTokenizer, loadTokenizer, TokenizerError } from "../../lib/model/tokenizer.ts";
import { loadSplit } from "../../lib/calib/corpus.ts";
import { assertThrowsMessage } from "../_assert.ts";

const SAMPLE = "Mr. Speaker, the State of the Union is strong — 1790's ✓ naïve\n\n  tabs\tand  spaces; 12345 café.";
const train = async () => new TextDecoder().decode((await loadSplit("train")).subarray(0, 200_000));

Deno.test("trained byte-level BPE: loadTokenizer reads it, round-trips any text, BOS only when asked", async () => {
  const bpe = trainByteLevelBpe(await train(), { vocabSize: 512 });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(byteLevelTokenizerJson(bpe)));
    await Deno.writeTextFile(`${dir}/tokenizer_config.json`, JSON.stringify(byteLevelTokenizerConfig(bpe)));
    const tok = await loadTokenizer(dir);
    assert.ok(tok instanceof HfTokenizer);
    assert.equal(tok.vocabSize, 512);
    const ids = tok.encode(SAMPLE);
    assert.equal(tok.decode(ids), SAMPLE);
    assert.ok(ids.length < new TextEncoder().encode(SAMPLE).length * 0.8, "merges shorten the text");
    assert.ok(ids.every((id) => id < 510), "no special token without asking");
    const withBos = tok.encode(SAMPLE, { addSpecialTokens: true });
    assert.deepEqual([...withBos], [510, ...ids], "<|begin_of_text|> once, at the start");
    assert.deepEqual(trainByteLevelBpe(await train(), { vocabSize: 512 }).merges, bpe.merges, "deterministic");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

Deno.test("Llama-3 and Qwen2 layouts: Split regex + ByteLevel, ignore_merges, templates", async () => {
  const bpe = trainByteLevelBpe(await train(), { vocabSize: 400 });
  const base = byteLevelTokenizerJson(bpe) as Record<string, Record<string, unknown>>;
  const split = (pattern: string) => ({
    type: "Sequence",
    pretokenizers: [
      { type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  });
  const llama3 = {
    ...base,
    pre_tokenizer: split(LLAMA3_SPLIT),
    post_processor: {
      type: "Sequence",
      processors: [
        { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
        base.post_processor,
      ],
    },
    model: { ...base.model, ignore_merges: true, merges: bpe.merges }, // merges as pairs, as tokenizers ≥ 0.20 writes
  };
  const qwen2 = {
    ...base,
    normalizer: { type: "NFC" },
    pre_tokenizer: split(QWEN2_SPLIT),
    post_processor: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
  };
  for (const [name, json, bos] of [["llama3", llama3, [398]], ["qwen2", qwen2, []]] as const) {
    const tok = new HfTokenizer(json, { clean_up_tokenization_spaces: false });
    const ids = tok.encode(SAMPLE);
    assert.equal(tok.decode(ids), SAMPLE.normalize("NFC"), name);
    assert.deepEqual([...tok.encode(SAMPLE, { addSpecialTokens: true })], [...bos, ...ids], name);
  }
  // Qwen2 splits digits one by one, Llama-3 in groups of up to three ("123" | "45").
  const pieces = (json: Record<string, unknown>) => {
    const tok = new HfTokenizer(json);
    return [...tok.encode("12345")].map((id) => tok.decode([id]));
  };
  assert.deepEqual(pieces(qwen2), ["1", "2", "3", "4", "5"]);
  assert.ok(pieces(llama3).every((p) => !p.includes("34")) && pieces(llama3).join("") === "12345");
});

Deno.test("Mistral/Llama-2 layout: sentencepiece BPE with byte fallback and a BOS template", () => {
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
  const pieces = ["▁", ..."abcdefghijklmnopqrstuvwxyzMS,.", "▁t", "he", "▁the", "▁s", "at", "▁state"];
  const vocab = Object.fromEntries(["<unk>", "<s>", "</s>", ...bytes, ...pieces].map((t, i) => [t, i]));
  const json = {
    version: "1.0",
    added_tokens: ["<unk>", "<s>", "</s>"].map((content, id) => ({ id, content, special: true, normalized: false })),
    normalizer: {
      type: "Sequence",
      normalizers: [{ type: "Prepend", prepend: "▁" }, { type: "Replace", pattern: { String: " " }, content: "▁" }],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      unk_token: "<unk>",
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: ["▁ t", "h e", "▁t he", "▁ s", "a t", "▁s t", "▁st at", "▁stat e"].filter((m) =>
        m.split(" ").join("") in vocab
      ),
    },
  };
  const tok = new HfTokenizer(json, { legacy: false, clean_up_tokenization_spaces: false });
  const text = "the state ✓";
  const ids = tok.encode(text);
  assert.equal(tok.decode(ids), text);
  assert.ok(ids.includes(vocab["<0xE2>"]!), "✓ falls back to its UTF-8 bytes");
  assert.equal(tok.encode(text, { addSpecialTokens: true })[0], 1, "<s> first");
  assert.equal(tok.vocabSize, 3 + 256 + pieces.length);
});

Deno.test("large vocabularies (152k entries) load; malformed tokenizer.json is a TokenizerError", async () => {
  const vocab: Record<string, number> = {};
  for (let i = 0; i < 152_000; i++) vocab[`t${i}`] = i;
  const tok = new HfTokenizer({
    model: { type: "BPE", vocab, merges: [] },
    decoder: { type: "ByteLevel" },
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    added_tokens: [{ id: 152_063, content: "<x>" }],
  });
  assert.equal(tok.vocabSize, 152_064);
  await assertThrowsMessage(
    () => new HfTokenizer({ model: { type: "BPE", vocab: { a: -1 } } }),
    TokenizerError,
    "id -1",
  );
  await assertThrowsMessage(
    () => new HfTokenizer({ model: { type: "BPE", vocab: { a: 0 } }, added_tokens: 3 }),
    TokenizerError,
    "added_tokens",
  );
  await assertThrowsMessage(
    () => new HfTokenizer({ model: { type: "Nope", vocab: { a: 0 } } }),
    TokenizerError,
    "build",
  );
});
