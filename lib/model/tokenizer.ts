// SPDX-License-Identifier: MIT
/**
 * Tokenizers behind one small interface: the byte-level tokenizer of the bundled model
 * (token id = UTF-8 byte value) and, for users' checkpoints, `tokenizer.json` files.
 *
 * @module
 */
import { Tokenizer as HfTokenizerCtor } from "@huggingface/tokenizers";

type HfTokenizerImpl = InstanceType<typeof HfTokenizerCtor>;

/** Text ↔ token ids. */
export interface Tokenizer {
  /** Vocabulary size the ids index into. */
  readonly vocabSize: number;
  /** Short description for results tables. */
  readonly name: string;
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
}

/**
 * Byte-level tokenizer: one token per UTF-8 byte, no special tokens (vocab 256).
 *
 * @example
 * ```ts
 * import { ByteTokenizer } from "./tokenizer.ts";
 * import assert from "node:assert/strict";
 * const tok = new ByteTokenizer();
 * assert.deepEqual([...tok.encode("Hé")], [72, 195, 169]);
 * assert.equal(tok.decode(tok.encode("Hé")), "Hé");
 * ```
 */
export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = 256;
  readonly name = "bytes";
  encode(text: string): Int32Array {
    return Int32Array.from(new TextEncoder().encode(text));
  }
  decode(ids: ArrayLike<number>): string {
    return new TextDecoder("utf-8", { fatal: false }).decode(Uint8Array.from(ids as ArrayLike<number>));
  }
}

/**
 * A Hugging Face `tokenizer.json` (BPE, WordPiece, Unigram, ...) through the maintained
 * `@huggingface/tokenizers` package (the tokenizer of transformers.js).
 */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly name: string;
  private readonly impl: HfTokenizerImpl;

  /**
   * @param tokenizerJson parsed `tokenizer.json`
   * @param tokenizerConfig parsed `tokenizer_config.json` (may be empty)
   */
  constructor(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown> = {}) {
    const model = tokenizerJson.model as { type?: string; vocab?: unknown } | undefined;
    if (!model || typeof model !== "object" || !model.vocab) {
      throw new TypeError(`HfTokenizer: Cannot read tokenizer.json: it has no "model" with a "vocab"`);
    }
    this.impl = new HfTokenizerCtor(tokenizerJson, tokenizerConfig);
    const vocab = model.vocab;
    const added = (tokenizerJson.added_tokens as { id: number }[] | undefined) ?? [];
    const ids = Array.isArray(vocab) ? vocab.map((_, i) => i) : Object.values(vocab as Record<string, number>);
    this.vocabSize = Math.max(-1, ...ids, ...added.map((t) => t.id)) + 1;
    this.name = `tokenizer.json (${model.type ?? "unknown"})`;
  }

  encode(text: string): Int32Array {
    return Int32Array.from(this.impl.encode(text, { add_special_tokens: false }).ids);
  }

  decode(ids: ArrayLike<number>): string {
    return this.impl.decode(Array.from(ids));
  }
}

/**
 * The tokenizer of a checkpoint directory: `tokenizer.json` (+ `tokenizer_config.json`) when
 * present, else the byte-level tokenizer when `tokenizer_config.json` declares `"type": "bytes"`.
 */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const readJson = async (file: string): Promise<Record<string, unknown> | undefined> => {
    try {
      return JSON.parse(await Deno.readTextFile(`${dir}/${file}`));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw new TypeError(`loadTokenizer: Cannot parse "${dir}/${file}"`, { cause: e });
    }
  };
  const config = await readJson("tokenizer_config.json");
  const json = await readJson("tokenizer.json");
  if (json) return new HfTokenizer(json, config ?? {});
  if (config?.type === "bytes") return new ByteTokenizer();
  throw new RangeError(
    `loadTokenizer: Cannot find a tokenizer in "${dir}": expected tokenizer.json, or tokenizer_config.json with "type": "bytes"`,
  );
}
