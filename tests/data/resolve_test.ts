// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { DataError, resolveModelData } from "../../lib/data/mod.ts";
import { calibrationSamples, loadSplit } from "../../lib/calib/corpus.ts";
import { BUNDLED_MODEL_DIR } from "../../lib/model/load.ts";
import { ByteTokenizer, HfTokenizer } from "../../lib/model/tokenizer.ts";
import { byteLevelTokenizerConfig, byteLevelTokenizerJson, trainByteLevelBpe } from "../../lib/data/bpe_train.ts";
import { assertThrowsMessage } from "../_assert.ts";

const TEXT = "The state of the union is strong. We the people of the United States, the Congress and the nation. ";

Deno.test("bundled byte-level model: the bundled corpus is the default", async () => {
  const d = await resolveModelData(BUNDLED_MODEL_DIR, { vocabSize: 256 }, undefined, {
    nSamples: 3,
    seqLen: 64,
    seed: 1,
    maxWindows: 5,
  });
  assert.ok(d.tokenizer instanceof ByteTokenizer, "tokenizer_config.json type bytes");
  assert.deepEqual(d.calibration, calibrationSamples(await loadSplit("train"), { nSamples: 3, seqLen: 64, seed: 1 }));
  assert.deepEqual(d.evaluation, Int32Array.from((await loadSplit("test")).subarray(0, 5 * 64)));
  assert.equal(d.calibDescription, "train 3×64 seed 1");
  assert.equal(d.evalDescription, "test");
});

Deno.test("non-byte vocabulary: no data is an error, the user's files are tokenized with its tokenizer", async () => {
  const bpe = trainByteLevelBpe(TEXT.repeat(20), { vocabSize: 300 });
  const tok = new HfTokenizer(byteLevelTokenizerJson(bpe), byteLevelTokenizerConfig(bpe));
  const config = { vocabSize: 300 };
  await assertThrowsMessage(
    () => resolveModelData("/ckpt", config, tok, { need: { evaluation: false } }),
    DataError,
    "not byte-level",
    "--calib-data",
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/calib.jsonl`,
      [TEXT.repeat(3), "short"].map((t) => JSON.stringify({ text: t })).join("\n"),
    );
    await Deno.writeTextFile(`${dir}/eval.txt`, TEXT.repeat(4));
    await assertThrowsMessage(
      () => resolveModelData("/ckpt", config, tok, { calibData: `${dir}/calib.jsonl`, seqLen: 16 }),
      DataError,
      "--eval-data",
    );
    const d = await resolveModelData("/ckpt", config, tok, {
      calibData: `${dir}/calib.jsonl`,
      evalData: `${dir}/eval.txt`,
      nSamples: 4,
      seqLen: 16,
    });
    assert.equal(d.calibration!.length, 64);
    assert.deepEqual(d.evaluation, tok.encode(TEXT.repeat(4)));
    assert.ok(d.evaluation!.some((id) => id >= 256), "merged tokens, not bytes");
    assert.equal(d.calibDescription, "calib.jsonl 4×16 seed 0 (documents)");
    const calibText = tok.decode(d.calibration!.subarray(0, 16));
    assert.ok(TEXT.repeat(3).includes(calibText), "windows come from the long document");
    // A model whose embedding is smaller than the tokenizer's ids.
    await assertThrowsMessage(
      () => resolveModelData("/ckpt", { vocabSize: 200 }, tok, { calibData: `${dir}/eval.txt`, seqLen: 16 }),
      DataError,
      "token id",
      "vocab_size is 200",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
