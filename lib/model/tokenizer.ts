// SPDX-License-Identifier: MIT
/**
 * Tokenizers behind one small interface: the byte-level tokenizer of the bundled model
 * (token id = UTF-8 byte value) and, for users' checkpoints, `tokenizer.json` files (Llama-2/3,
 * Mistral, Qwen2/3 and GPT-2 style: BPE with ByteLevel or Metaspace/byte-fallback pipelines).
 *
 * **Special tokens.** `encode` adds none unless `{ addSpecialTokens: true }` is passed; then the
 * tokenizer's own post-processor runs, exactly as transformers' default `tokenizer(text)` does
 * (Llama/Mistral prepend BOS, Qwen2 adds nothing). quantlab's data loaders tokenize a whole
 * text once (see `lib/data/`), so this choice affects one token per text at most.
 *
 * @module
 */
import { Tokenizer as HfTokenizerCtor } from "@huggingface/tokenizers";

type HfTokenizerImpl = InstanceType<typeof HfTokenizerCtor>;

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Run the tokenizer's post-processor (BOS/EOS templates), as transformers does by default (default false). */
  addSpecialTokens?: boolean;
}

/** Text ↔ token ids. */
export interface Tokenizer {
  /** Vocabulary size the ids index into. */
  readonly vocabSize: number;
  /** Short description for results tables. */
  readonly name: string;
  /** Token ids of `text`; no special tokens unless asked. */
  encode(text: string, options?: EncodeOptions): Int32Array;
  /** Text of token ids. */
  decode(ids: ArrayLike<number>): string;
}

/** A `tokenizer.json` / `tokenizer_config.json` that cannot be read or used. */
export class TokenizerError extends TypeError {
  /**
   * Creates the error.
   *
   * @param message `functionName: Cannot <do what>: <why>`
   * @param options standard error options (`cause`)
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TokenizerError";
  }
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
  /** 256: one id per byte value. */
  readonly vocabSize = 256;
  /** `bytes`. */
  readonly name = "bytes";
  /** UTF-8 bytes of `text` (there are no special tokens). */
  encode(text: string): Int32Array {
    return Int32Array.from(new TextEncoder().encode(text));
  }
  /** Text of the bytes (invalid UTF-8 becomes U+FFFD). */
  decode(ids: ArrayLike<number>): string {
    return new TextDecoder("utf-8", { fatal: false }).decode(Uint8Array.from(ids as ArrayLike<number>));
  }
}

/**
 * A Hugging Face `tokenizer.json` (BPE, WordPiece, Unigram, ...) through the maintained
 * `@huggingface/tokenizers` package (the tokenizer of transformers.js).
 */
export class HfTokenizer implements Tokenizer {
  /** One more than the largest id of the vocabulary and the added tokens. */
  readonly vocabSize: number;
  /** `tokenizer.json (<model type>)`. */
  readonly name: string;
  private readonly impl: HfTokenizerImpl;

  /**
   * Builds the tokenizer, checking the vocabulary's ids first.
   *
   * @param tokenizerJson parsed `tokenizer.json`
   * @param tokenizerConfig parsed `tokenizer_config.json` (may be empty)
   */
  constructor(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown> = {}) {
    const model = tokenizerJson?.model as { type?: string; vocab?: unknown } | undefined;
    if (!model || typeof model !== "object" || !model.vocab || typeof model.vocab !== "object") {
      throw new TokenizerError(`HfTokenizer: Cannot read tokenizer.json: it has no "model" with a "vocab"`);
    }
    // A loop, not Math.max(...ids): real vocabularies (128k–152k entries) overflow the
    // argument limit of a spread call.
    let maxId = -1;
    const see = (id: unknown, what: string) => {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
        throw new TokenizerError(`HfTokenizer: Cannot read tokenizer.json: ${what} has id ${JSON.stringify(id)}`);
      }
      if (id > maxId) maxId = id;
    };
    if (Array.isArray(model.vocab)) maxId = model.vocab.length - 1;
    else for (const [tok, id] of Object.entries(model.vocab as Record<string, unknown>)) see(id, `token "${tok}"`);
    const added = tokenizerJson.added_tokens ?? [];
    if (!Array.isArray(added)) {
      throw new TokenizerError(`HfTokenizer: Cannot read tokenizer.json: added_tokens is not a list`);
    }
    for (const t of added as { id?: unknown; content?: unknown }[]) {
      see(t?.id, `added token ${JSON.stringify(t?.content)}`);
    }
    try {
      this.impl = new HfTokenizerCtor(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new TokenizerError(`HfTokenizer: Cannot build the tokenizer from tokenizer.json: ${(e as Error).message}`, {
        cause: e,
      });
    }
    this.vocabSize = maxId + 1;
    this.name = `tokenizer.json (${model.type ?? "unknown"})`;
  }

  /** Token ids of `text`; the post-processor (BOS/EOS) runs only with `addSpecialTokens`. */
  encode(text: string, options: EncodeOptions = {}): Int32Array {
    return Int32Array.from(this.impl.encode(text, { add_special_tokens: options.addSpecialTokens ?? false }).ids);
  }

  /** Text of token ids (special tokens included). */
  decode(ids: ArrayLike<number>): string {
    return this.impl.decode(Array.from(ids));
  }
}

/**
 * The tokenizer of a checkpoint directory: `tokenizer.json` (+ `tokenizer_config.json`) when
 * present, else the byte-level tokenizer when `tokenizer_config.json` declares `"type": "bytes"`.
 *
 * @param dir the checkpoint directory
 * @returns the tokenizer
 * @throws {TokenizerError} when a file is not valid JSON or not a usable tokenizer
 * @throws {RangeError} when the directory holds neither file
 */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const readJson = async (file: string): Promise<Record<string, unknown> | undefined> => {
    try {
      return JSON.parse(await Deno.readTextFile(`${dir}/${file}`));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw new TokenizerError(`loadTokenizer: Cannot parse "${dir}/${file}": ${(e as Error).message}`, { cause: e });
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
