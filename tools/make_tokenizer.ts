// SPDX-License-Identifier: MIT
/**
 * `deno run -A tools/make_tokenizer.ts --out DIR --vocab-size 512`: trains a byte-level BPE
 * tokenizer (GPT-2 ByteLevel pipeline, Llama-3 style special tokens) on the bundled State of the
 * Union train split and writes `tokenizer.json` + `tokenizer_config.json` into `--out`. Generated
 * test checkpoints use it to get a real non-byte vocabulary. Deterministic for given flags.
 *
 * @module
 */
import { loadSplit } from "../lib/calib/corpus.ts";
import { byteLevelTokenizerConfig, byteLevelTokenizerJson, trainByteLevelBpe } from "../lib/data/bpe_train.ts";
import { HfTokenizer } from "../lib/model/tokenizer.ts";
import { Rng } from "../lib/tensor/random.ts";
import { runCli } from "./_cli.ts";

/**
 * Training text: the whole train split, or `maxBytes` of it drawn as seeded random paragraphs.
 *
 * @param maxBytes upper bound on the text (0: everything)
 * @param seed seed of the paragraph draw
 * @returns the training text
 */
export async function trainingText(maxBytes: number, seed: number): Promise<string> {
  const text = new TextDecoder().decode(await loadSplit("train"));
  if (maxBytes <= 0 || text.length <= maxBytes) return text;
  const paragraphs = text.split("\n\n");
  const rng = new Rng(seed);
  const picked: string[] = [];
  let size = 0;
  while (size < maxBytes) {
    const p = paragraphs[rng.int(paragraphs.length)]!;
    picked.push(p);
    size += p.length + 2;
  }
  return picked.join("\n\n");
}

if (import.meta.main) {
  await runCli({
    task: "make_tokenizer",
    summary: "Trains a byte-level BPE tokenizer.json on the bundled corpus (for generated test checkpoints).",
    flags: {
      out: { type: "path", path: "out-dir", required: true, help: "directory to write tokenizer.json into" },
      "vocab-size": { type: "int", min: 258, max: 1048575, default: 512, help: "vocabulary incl. 2 special tokens" },
      "max-bytes": { type: "int", min: 0, default: 0, help: "train on this many bytes of seeded paragraphs (0: all)" },
      seed: { type: "int", default: 0, help: "seed of the paragraph draw" },
    },
  }, async (v) => {
    const t0 = performance.now();
    const text = await trainingText(v["max-bytes"], v.seed);
    const bpe = trainByteLevelBpe(text, { vocabSize: v["vocab-size"] });
    const json = byteLevelTokenizerJson(bpe), config = byteLevelTokenizerConfig(bpe);
    const tok = new HfTokenizer(json, config); // loads and round-trips before anything is written
    const probe = text.slice(0, 2000);
    if (tok.decode(tok.encode(probe)) !== probe) throw new Error("the trained tokenizer does not round-trip");
    await Deno.mkdir(v.out, { recursive: true });
    await Deno.writeTextFile(`${v.out}/tokenizer.json`, JSON.stringify(json));
    await Deno.writeTextFile(`${v.out}/tokenizer_config.json`, JSON.stringify(config, null, 2) + "\n");
    const ratio = new TextEncoder().encode(probe).length / tok.encode(probe).length;
    console.log(
      `make_tokenizer: vocab ${tok.vocabSize} (${bpe.merges.length} merges) from ${text.length} chars, ${
        ratio.toFixed(2)
      } bytes/token, ${((performance.now() - t0) / 1000).toFixed(1)} s → ${v.out}/tokenizer.json`,
    );
  });
}
