// SPDX-License-Identifier: MIT
// deno-lint-ignore-file camelcase -- tokenizer.json keys are snake_case by format
/**
 * The tokenizer files of an exported model: the source checkpoint's `tokenizer.json` (+
 * `tokenizer_config.json`) copied as they are, or — for a byte-level model such as the bundled
 * one, whose only tokenizer file says `"type": "bytes"` — a `tokenizer.json` that maps every
 * byte b to id b as quantlab's `ByteTokenizer` does, in the form every Hugging Face tokenizer
 * library loads: a `BPE` model over GPT-2's byte-to-character alphabet with no merges, the
 * `ByteLevel` pre-tokenizer (without its regex split: nothing would merge across it anyway) and
 * the `ByteLevel` decoder. Encoding turns text into its UTF-8 bytes, one token each; decoding
 * joins the bytes and reads them as UTF-8.
 *
 * @module
 */
import { bytesToUnicode } from "../data/bpe_train.ts";

/** Parsed tokenizer files. */
export interface TokenizerFiles {
  /** `tokenizer.json`. */
  tokenizerJson: Record<string, unknown>;
  /** `tokenizer_config.json`. */
  tokenizerConfig: Record<string, unknown>;
}

/**
 * The byte-level tokenizer (id = byte value, vocabulary 256, no special tokens) as Hugging Face
 * tokenizer files (see the module doc).
 *
 * @param modelMaxLength `model_max_length` of tokenizer_config.json (the model's context)
 * @returns `tokenizer.json` and `tokenizer_config.json`
 *
 * @example
 * ```ts
 * import { byteTokenizerFiles } from "./tokenizer_files.ts";
 * import { HfTokenizer } from "../model/tokenizer.ts";
 * import assert from "node:assert/strict";
 * const { tokenizerJson, tokenizerConfig } = byteTokenizerFiles(256);
 * const tok = new HfTokenizer(tokenizerJson, tokenizerConfig);
 * assert.deepEqual([...tok.encode("Hé!")], [72, 195, 169, 33]);
 * assert.equal(tok.decode([72, 195, 169, 33]), "Hé!");
 * ```
 */
export function byteTokenizerFiles(modelMaxLength: number): TokenizerFiles {
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(bytesToUnicode().map((ch, b) => [ch, b])),
      merges: [],
    },
  };
  const tokenizerConfig = {
    tokenizer_class: "PreTrainedTokenizerFast",
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false, // decode must give back the bytes' text exactly
    model_max_length: modelMaxLength,
  };
  return { tokenizerJson, tokenizerConfig };
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TypeError(`tokenizerFilesFromDir: Cannot parse "${path}": ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The tokenizer files of a checkpoint directory: its `tokenizer.json` and `tokenizer_config.json`
 * (copied), or {@link byteTokenizerFiles} when it has only a `tokenizer_config.json` with
 * `"type": "bytes"`.
 *
 * @param dir the checkpoint directory
 * @param modelMaxLength `model_max_length` for the byte-level files
 * @returns the files to write
 * @throws {TypeError} when a file is not valid JSON
 * @throws {RangeError} when the directory holds no tokenizer
 */
export async function tokenizerFilesFromDir(dir: string, modelMaxLength: number): Promise<TokenizerFiles> {
  const config = await readJson(`${dir}/tokenizer_config.json`);
  const json = await readJson(`${dir}/tokenizer.json`);
  if (json) return { tokenizerJson: json, tokenizerConfig: config ?? {} };
  if (config?.type === "bytes") return byteTokenizerFiles(modelMaxLength);
  throw new RangeError(
    `tokenizerFilesFromDir: Cannot find a tokenizer in "${dir}": expected tokenizer.json, or tokenizer_config.json with "type": "bytes"`,
  );
}
