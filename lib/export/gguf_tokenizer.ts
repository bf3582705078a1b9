// SPDX-License-Identifier: MIT
/**
 * Tokenizer metadata of a GGUF file (`tokenizer.ggml.*`), as llama.cpp's `llama-vocab.cpp`
 * reads it and `convert_hf_to_gguf.py` (`_set_vocab_gpt2`, `SpecialVocab`) writes it:
 *
 * - the bundled byte-level model (token id = byte value): `tokenizer.ggml.model` "gpt2" with the
 *   256 GPT-2 byte-to-unicode characters as tokens (so llama.cpp's byte-level BPE maps each byte
 *   to its id), every token type normal, and an empty `tokenizer.ggml.merges` (required by
 *   llama.cpp's gpt2 loader; with no merges every byte stays its own token, so the
 *   pre-tokenizer cannot change the ids and "default" is written);
 * - a byte-level BPE `tokenizer.json` (GPT-2, Llama-3 or Qwen2 pre-tokenizer, no normalizer):
 *   its vocabulary, merges and special tokens, with `tokenizer.ggml.pre` read from the
 *   pre-tokenizer's structure and regex ("gpt2", "llama-bpe", "qwen2");
 *
 * Anything else (SentencePiece/Unigram, WordPiece, a normalizer, an unknown pre-tokenizer) is a
 * {@link GgufTokenizerError}: an approximate tokenizer would make llama.cpp see other ids.
 *
 * @module
 */
import { bytesToUnicode } from "../data/bpe_train.ts";
import type { GgufValue } from "./gguf_writer.ts";

/** llama.cpp's `llama_token_type` values (`tokenizer.ggml.token_type`). */
export const GGUF_TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** What `tokenizer.ggml.*` will say. */
export interface GgufTokenizer {
  /** `tokenizer.ggml.model`: "gpt2" (byte-level BPE). */
  model: "gpt2";
  /** `tokenizer.ggml.pre` (gpt2 only). */
  pre?: string;
  /** Token strings by id (`[vocab]`). */
  tokens: string[];
  /** `llama_token_type` per id. */
  tokenTypes: number[];
  /** BPE merges in rank order, `"left right"`. */
  merges: string[];
  /** Vocabulary size (the embedding rows). */
  vocabSize: number;
  /** BOS id, if the tokenizer has one. */
  bosId?: number;
  /** EOS id, if the tokenizer has one. */
  eosId?: number;
  /** Whether llama.cpp should prepend BOS when tokenizing. */
  addBos: boolean;
}

/** A tokenizer GGUF cannot describe exactly. */
export class GgufTokenizerError extends TypeError {
  /** Error name. */
  override name = "GgufTokenizerError";
}

/**
 * The bundled byte-level tokenizer (256 ids, no special tokens) as a GGUF "gpt2" vocabulary.
 *
 * @returns tokens = GPT-2's byte characters, all normal, no merges, no BOS
 *
 * @example
 * ```ts
 * import { byteGgufTokenizer } from "./gguf_tokenizer.ts";
 * import assert from "node:assert/strict";
 * const t = byteGgufTokenizer();
 * assert.equal(t.tokens[65], "A");
 * assert.equal(t.tokens[32], "Ġ"); // the space byte, as GPT-2 prints it
 * assert.equal(t.merges.length, 0);
 * ```
 */
export function byteGgufTokenizer(): GgufTokenizer {
  return {
    model: "gpt2",
    pre: "default",
    tokens: bytesToUnicode(),
    tokenTypes: new Array(256).fill(GGUF_TOKEN_TYPE.normal),
    merges: [],
    vocabSize: 256,
    addBos: false,
  };
}

/** Pre-tokenizer regexes of tokenizer.json that llama.cpp implements, by its `tokenizer.ggml.pre` name. */
const SPLIT_REGEX_PRE: Record<string, string> = {
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
    "llama-bpe",
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
    "qwen2",
};

type Json = Record<string, unknown>;

function preTokenizerName(pre: Json | null | undefined): string | undefined {
  if (!pre) return undefined;
  if (pre.type === "ByteLevel" && pre.use_regex !== false && !pre.add_prefix_space) return "gpt2";
  const parts = pre.type === "Sequence" ? (pre.pretokenizers as Json[] | undefined) : undefined;
  if (parts?.length !== 2) return undefined;
  const [split, bl] = parts as [Json, Json];
  const regex = (split.pattern as Json | undefined)?.Regex;
  if (
    split.type !== "Split" || split.behavior !== "Isolated" || split.invert || typeof regex !== "string" ||
    bl.type !== "ByteLevel" || bl.use_regex !== false || bl.add_prefix_space
  ) return undefined;
  return SPLIT_REGEX_PRE[regex];
}

function tokenContent(t: unknown): string | undefined {
  if (typeof t === "string") return t;
  if (t && typeof t === "object" && typeof (t as Json).content === "string") return (t as Json).content as string;
  return undefined;
}

/**
 * A byte-level BPE `tokenizer.json` (+ `tokenizer_config.json`) as GGUF "gpt2" metadata.
 *
 * @param json parsed tokenizer.json
 * @param config parsed tokenizer_config.json (may be empty)
 * @param vocabSize rows of the model's embedding; ids beyond the tokenizer become unused `[PAD<i>]`
 * @returns the GGUF tokenizer
 * @throws {GgufTokenizerError} for a non-BPE model, byte fallback, a normalizer, an unknown
 *   pre-tokenizer, or a vocabulary larger than the embedding
 */
export function bpeGgufTokenizer(json: Json, config: Json, vocabSize: number): GgufTokenizer {
  const fn = "bpeGgufTokenizer";
  const model = json.model as Json | undefined;
  if (!model || model.type !== "BPE" || typeof model.vocab !== "object" || model.vocab === null) {
    throw new GgufTokenizerError(
      `${fn}: Cannot export tokenizer model ${
        JSON.stringify(model?.type)
      }: only byte-level BPE maps onto llama.cpp's "gpt2" vocabulary exactly`,
    );
  }
  if (model.byte_fallback) {
    throw new GgufTokenizerError(
      `${fn}: Cannot export a BPE with byte_fallback: that is a SentencePiece-style vocabulary`,
    );
  }
  if (json.normalizer) {
    throw new GgufTokenizerError(
      `${fn}: Cannot export normalizer ${
        JSON.stringify((json.normalizer as Json).type)
      }: llama.cpp's gpt2 vocabulary applies none`,
    );
  }
  const pre = preTokenizerName(json.pre_tokenizer as Json | null);
  if (!pre) {
    throw new GgufTokenizerError(
      `${fn}: Cannot map pre_tokenizer ${
        JSON.stringify(json.pre_tokenizer)?.slice(0, 200)
      } onto a llama.cpp pre-tokenizer: known are GPT-2 ByteLevel, and Split with the Llama-3 or Qwen2 regex`,
    );
  }
  const tokens: (string | undefined)[] = new Array(vocabSize);
  const types: number[] = new Array(vocabSize).fill(GGUF_TOKEN_TYPE.unused);
  const put = (id: unknown, text: string, type: number) => {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new GgufTokenizerError(
        `${fn}: Cannot place token ${JSON.stringify(text)} at id ${id}: the model's embedding has ${vocabSize} rows`,
      );
    }
    tokens[id] = text;
    types[id] = type;
  };
  for (const [text, id] of Object.entries(model.vocab as Record<string, unknown>)) {
    put(id, text, GGUF_TOKEN_TYPE.normal);
  }
  for (const t of (json.added_tokens ?? []) as Json[]) {
    put(t.id, String(t.content), t.special ? GGUF_TOKEN_TYPE.control : GGUF_TOKEN_TYPE.userDefined);
  }
  const merges = ((model.merges ?? []) as unknown[]).map((m) => Array.isArray(m) ? m.join(" ") : String(m));
  const idOf = (t: unknown): number | undefined => {
    const s = tokenContent(t);
    const i = s === undefined ? -1 : tokens.indexOf(s);
    return i >= 0 ? i : undefined;
  };
  const bosId = idOf(config.bos_token), eosId = idOf(config.eos_token);
  const template = ((json.post_processor as Json | null)?.single ?? []) as Json[];
  const templateBos = template.length > 0 && template[0]?.SpecialToken !== undefined;
  const out: GgufTokenizer = {
    model: "gpt2",
    pre,
    tokens: Array.from(tokens, (t, i) => t ?? `[PAD${i}]`), // Array.from visits holes, map would not
    tokenTypes: types,
    merges,
    vocabSize,
    addBos: typeof config.add_bos_token === "boolean" ? config.add_bos_token : templateBos,
  };
  if (bosId !== undefined) out.bosId = bosId;
  if (eosId !== undefined) out.eosId = eosId;
  return out;
}

/**
 * The GGUF tokenizer of a checkpoint directory: `tokenizer.json` (byte-level BPE), else the
 * byte-level tokenizer when `tokenizer_config.json` says `"type": "bytes"`.
 *
 * @param dir checkpoint directory
 * @param vocabSize rows of the model's embedding
 * @returns the GGUF tokenizer
 * @throws {GgufTokenizerError} when the directory holds no tokenizer or one GGUF cannot describe
 */
export async function ggufTokenizerFromDir(dir: string, vocabSize: number): Promise<GgufTokenizer> {
  const read = async (file: string): Promise<Json | undefined> => {
    try {
      return JSON.parse(await Deno.readTextFile(`${dir}/${file}`));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw new GgufTokenizerError(`ggufTokenizerFromDir: Cannot parse "${dir}/${file}": ${(e as Error).message}`, {
        cause: e,
      });
    }
  };
  const config = await read("tokenizer_config.json"), json = await read("tokenizer.json");
  if (json) return bpeGgufTokenizer(json, config ?? {}, vocabSize);
  if (config?.type === "bytes") {
    if (vocabSize !== 256) {
      throw new GgufTokenizerError(
        `ggufTokenizerFromDir: Cannot use the byte tokenizer with ${vocabSize} embedding rows`,
      );
    }
    return byteGgufTokenizer();
  }
  throw new GgufTokenizerError(
    `ggufTokenizerFromDir: Cannot find a tokenizer in "${dir}": expected tokenizer.json (byte-level BPE) or tokenizer_config.json with "type": "bytes"`,
  );
}

/**
 * The `tokenizer.ggml.*` metadata entries of a tokenizer.
 *
 * @param t the tokenizer
 * @returns key/value pairs in the order convert_hf_to_gguf writes them
 */
export function ggufTokenizerMetadata(t: GgufTokenizer): [string, GgufValue][] {
  const kv: [string, GgufValue][] = [["tokenizer.ggml.model", { type: "string", value: t.model }]];
  kv.push(["tokenizer.ggml.pre", { type: "string", value: t.pre ?? "default" }]);
  kv.push(["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: t.tokens }]);
  kv.push(["tokenizer.ggml.token_type", { type: "array", itemType: "int32", value: t.tokenTypes }]);
  kv.push(["tokenizer.ggml.merges", { type: "array", itemType: "string", value: t.merges }]);
  if (t.bosId !== undefined) kv.push(["tokenizer.ggml.bos_token_id", { type: "uint32", value: t.bosId }]);
  if (t.eosId !== undefined) kv.push(["tokenizer.ggml.eos_token_id", { type: "uint32", value: t.eosId }]);
  kv.push(["tokenizer.ggml.add_bos_token", { type: "bool", value: t.addBos }]);
  return kv;
}
