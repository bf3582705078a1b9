// SPDX-License-Identifier: MIT
// deno-lint-ignore-file camelcase -- tokenizer.json keys are snake_case by format
/**
 * A small byte-level BPE trainer (Sennrich et al. 2016, in GPT-2's byte-level form) that writes
 * a real Hugging Face `tokenizer.json`: GPT-2's `ByteLevel` pre-tokenizer (its regex split, bytes
 * mapped to printable characters), the `ByteLevel` decoder, a `BPE` model with the learned
 * merges, and Llama-3 style `<|begin_of_text|>` / `<|end_of_text|>` special tokens with a BOS
 * template. It gives generated test checkpoints a non-byte vocabulary that
 * `@huggingface/tokenizers` (and the Rust `tokenizers`) load and round-trip.
 *
 * Training: count the pre-tokenized words, start from the 256 byte symbols, and repeatedly merge
 * the most frequent adjacent pair (ties: the smaller pair of ids), updating only the words that
 * hold it. Deterministic for a given text.
 *
 * @module
 */

/** Options of {@link trainByteLevelBpe}. */
export interface BpeTrainOptions {
  /** Target vocabulary, including the 256 byte symbols and the 2 special tokens (≥ 258). */
  vocabSize: number;
}

/** A trained byte-level BPE: symbols by id and merges in rank order. */
export interface ByteLevelBpe {
  /** Symbol strings (byte-level alphabet) by id; ids 0–255 are the bytes. */
  vocab: string[];
  /** Merges in rank order, as `[left, right]` symbol strings. */
  merges: [string, string][];
  /** Special tokens appended after the vocabulary. */
  special: { bos: string; eos: string };
}

/** GPT-2's pre-tokenizer regex (the one `ByteLevel` with `use_regex: true` applies). */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * GPT-2's `bytes_to_unicode`: each byte to a printable character (printable Latin-1 bytes map
 * to themselves, the others to U+0100 onwards), so that BPE symbols are plain strings.
 *
 * @returns the character of each byte value `[256]`
 */
export function bytesToUnicode(): string[] {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(keep(b) ? b : 256 + n++);
  return out;
}

/** Max-heap of (count, pair key) with lazy deletion: stale entries are skipped on pop. */
class PairHeap {
  private c: number[] = [];
  private k: number[] = [];
  push(count: number, key: number): void {
    const { c, k } = this;
    let i = c.length;
    c.push(count);
    k.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] | undefined {
    const { c, k } = this;
    if (c.length === 0) return undefined;
    const top: [number, number] = [c[0]!, k[0]!];
    const lc = c.pop()!, lk = k.pop()!;
    if (c.length > 0) {
      c[0] = lc;
      k[0] = lk;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < c.length && this.above(l, m)) m = l;
        if (r < c.length && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
  private above(i: number, j: number): boolean {
    return this.c[i]! > this.c[j]! || (this.c[i] === this.c[j] && this.k[i]! < this.k[j]!);
  }
  private swap(i: number, j: number): void {
    [this.c[i], this.c[j]] = [this.c[j]!, this.c[i]!];
    [this.k[i], this.k[j]] = [this.k[j]!, this.k[i]!];
  }
}

const SHIFT = 2 ** 20; // pair key = left·2²⁰ + right (ids < 2²⁰)

/**
 * Trains byte-level BPE merges on a text.
 *
 * @example
 * ```ts
 * import { trainByteLevelBpe } from "./bpe_train.ts";
 * import assert from "node:assert/strict";
 * const bpe = trainByteLevelBpe("the then there the the", { vocabSize: 262 });
 * assert.deepEqual(bpe.merges[0], ["h", "e"]); // "h e" and "t h" occur 5 times; ties go to the smaller ids
 * assert.deepEqual(bpe.merges.map((m) => m.join(" ")), ["h e", "t he", "Ġ the", "r e"]);
 * assert.equal(bpe.vocab.length, 260); // 256 bytes + 4 merges; + 2 special tokens = 262
 * ```
 *
 * @param text training text
 * @param options target vocabulary size
 * @returns the vocabulary and merges; fewer than asked only when every word is a single symbol
 * @throws {RangeError} when `vocabSize` < 258 or ≥ 2²⁰
 */
export function trainByteLevelBpe(text: string, options: BpeTrainOptions): ByteLevelBpe {
  const target = options.vocabSize - 2;
  if (!Number.isInteger(options.vocabSize) || target < 256 || options.vocabSize >= SHIFT) {
    throw new RangeError(
      `trainByteLevelBpe: Cannot train a vocabulary of ${options.vocabSize}: need an integer in [258, ${SHIFT})`,
    );
  }
  const byteChar = bytesToUnicode();
  const vocab = byteChar.slice();
  const enc = new TextEncoder();
  const wordCount = new Map<string, number>();
  for (const m of text.matchAll(GPT2_SPLIT)) wordCount.set(m[0], (wordCount.get(m[0]) ?? 0) + 1);
  const words: number[][] = [], counts: number[] = [];
  for (const [w, c] of wordCount) {
    words.push(Array.from(enc.encode(w)));
    counts.push(c);
  }
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const heap = new PairHeap();
  const addPairs = (wi: number, sign: number, touched: Set<number>) => {
    const w = words[wi]!;
    for (let i = 0; i + 1 < w.length; i++) {
      const key = w[i]! * SHIFT + w[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * counts[wi]!);
      touched.add(key);
      if (sign > 0) {
        let s = pairWords.get(key);
        if (!s) pairWords.set(key, s = new Set());
        s.add(wi);
      }
    }
  };
  const initial = new Set<number>();
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1, initial);
  for (const key of initial) heap.push(pairCount.get(key)!, key);

  const merges: [string, string][] = [];
  while (vocab.length < target) {
    const top = heap.pop();
    if (!top) break;
    const [count, key] = top;
    if (pairCount.get(key) !== count) continue; // stale entry
    if (count < 1) break;
    const a = Math.floor(key / SHIFT), b = key % SHIFT, id = vocab.length;
    vocab.push(vocab[a]! + vocab[b]!);
    merges.push([vocab[a]!, vocab[b]!]);
    const touched = new Set<number>();
    for (const wi of pairWords.get(key) ?? []) {
      const w = words[wi]!;
      addPairs(wi, -1, touched);
      const merged: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          merged.push(id);
          i++;
        } else merged.push(w[i]!);
      }
      words[wi] = merged;
      addPairs(wi, 1, touched);
    }
    pairWords.delete(key);
    for (const k of touched) {
      const c = pairCount.get(k)!;
      if (c > 0) heap.push(c, k);
      else pairCount.delete(k);
    }
  }
  return { vocab, merges, special: { bos: "<|begin_of_text|>", eos: "<|end_of_text|>" } };
}

/**
 * The Hugging Face `tokenizer.json` of a trained BPE (GPT-2 ByteLevel pipeline, BOS template).
 *
 * @param bpe the trained BPE
 * @returns the `tokenizer.json` object (serialize with `JSON.stringify`)
 */
export function byteLevelTokenizerJson(bpe: ByteLevelBpe): Record<string, unknown> {
  const { bos, eos } = bpe.special;
  const bosId = bpe.vocab.length, eosId = bosId + 1;
  const added = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [added(bosId, bos), added(eosId, eos)],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: bos, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: bos, type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
    },
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
      vocab: Object.fromEntries(bpe.vocab.map((s, i) => [s, i])),
      merges: bpe.merges.map(([l, r]) => `${l} ${r}`),
    },
  };
}

/**
 * The matching `tokenizer_config.json` (no clean-up of spaces, so decode∘encode is the identity).
 *
 * @param bpe the trained BPE
 * @returns the `tokenizer_config.json` object
 */
export function byteLevelTokenizerConfig(bpe: ByteLevelBpe): Record<string, unknown> {
  return {
    tokenizer_class: "PreTrainedTokenizerFast",
    bos_token: bpe.special.bos,
    eos_token: bpe.special.eos,
    add_bos_token: true,
    clean_up_tokenization_spaces: false,
    model_max_length: 131072,
  };
}
