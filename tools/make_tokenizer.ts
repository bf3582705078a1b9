// SPDX-License-Identifier: MIT
/**
 * `deno run -A tools/make_tokenizer.ts --out DIR --vocab-size 512`: trains a byte-level BPE
 * tokenizer (GPT-2 ByteLevel pipeline, Llama-3 style special tokens) on the bundled State of the
 * Union train split and writes `tokenizer.json` + `tokenizer_config.json` into `--out`. Generated
 * test checkpoints use it to get a real non-byte vocabulary (also as {@link writeByteLevelTokenizer}
 * for tests and notebooks). Deterministic for given flags.
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

/** Options of {@link writeByteLevelTokenizer}. */
export interface WriteTokenizerOptions {
  /** Vocabulary including the 2 special tokens (default 512, at least 258). */
  vocabSize?: number;
  /** Train on this many bytes of seeded paragraphs of the train split (default 0: all of it). */
  maxBytes?: number;
  /** Seed of the paragraph draw (default 0). */
  seed?: number;
}

/**
 * Trains a byte-level BPE on the bundled train split and writes `tokenizer.json` and
 * `tokenizer_config.json` into `dir` (created), after checking that the tokenizer loads and
 * round-trips a sample of its training text.
 *
 * @param dir output directory (e.g. a generated checkpoint's directory)
 * @param options `vocabSize`, `maxBytes`, `seed`
 * @returns the loaded tokenizer, the merges learned, the training text's length and its bytes per token
 * @throws {Error} when the trained tokenizer does not round-trip (nothing is written then)
 */
export async function writeByteLevelTokenizer(
  dir: string,
  options: WriteTokenizerOptions = {},
): Promise<{ tokenizer: HfTokenizer; merges: number; chars: number; bytesPerToken: number }> {
  const text = await trainingText(options.maxBytes ?? 0, options.seed ?? 0);
  const bpe = trainByteLevelBpe(text, { vocabSize: options.vocabSize ?? 512 });
  const json = byteLevelTokenizerJson(bpe), config = byteLevelTokenizerConfig(bpe);
  const tokenizer = new HfTokenizer(json, config); // loads and round-trips before anything is written
  const probe = text.slice(0, 2000);
  if (tokenizer.decode(tokenizer.encode(probe)) !== probe) {
    throw new Error("writeByteLevelTokenizer: Cannot write the trained tokenizer: it does not round-trip its text");
  }
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(json));
  await Deno.writeTextFile(`${dir}/tokenizer_config.json`, JSON.stringify(config, null, 2) + "\n");
  const bytesPerToken = new TextEncoder().encode(probe).length / tokenizer.encode(probe).length;
  return { tokenizer, merges: bpe.merges.length, chars: text.length, bytesPerToken };
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
    const r = await writeByteLevelTokenizer(v.out, {
      vocabSize: v["vocab-size"],
      maxBytes: v["max-bytes"],
      seed: v.seed,
    });
    console.log(
      `make_tokenizer: vocab ${r.tokenizer.vocabSize} (${r.merges} merges) from ${r.chars} chars, ${
        r.bytesPerToken.toFixed(2)
      } bytes/token, ${((performance.now() - t0) / 1000).toFixed(1)} s → ${v.out}/tokenizer.json`,
    );
  });
}
