// SPDX-License-Identifier: MIT
/**
 * From documents to token windows, following GPTQ's data loaders (`datautils.py`):
 *
 * - **Calibration, one text** (`get_wikitext2`): tokenize the text once, then for each of
 *   `nSamples` draw a start `i` uniformly in `[0, len − seqLen − 1]` and take `seqLen` tokens.
 * - **Calibration, many documents** (`get_c4`): for each sample draw a random document until
 *   one has more than `seqLen` tokens, then a random window in it with the same rule.
 * - **Evaluation** (`llama_eval`): the documents joined with `"\n\n"`, tokenized once, cut into
 *   non-overlapping windows of `seqLen` (the remainder dropped; optionally only the first
 *   `maxWindows`).
 *
 * Randomness is quantlab's seeded xoshiro128** ({@link Rng}), so the rule is GPTQ's but the
 * drawn offsets are not Python's. Every id is checked against the model's vocabulary: an id
 * the embedding cannot index is a {@link DataError} naming it, never a silent wrong lookup.
 *
 * @module
 */
import { Rng } from "../tensor/random.ts";
import type { Tokenizer } from "../model/tokenizer.ts";
import { DataError } from "./errors.ts";

/** Options shared by the tokenizing functions. */
export interface TokenizeOptions {
  /** Model vocabulary size: any id ≥ it is a {@link DataError} (default: the tokenizer's). */
  vocabSize?: number;
  /** Run the tokenizer's post-processor (BOS) once per tokenized text (default false). */
  addSpecialTokens?: boolean;
  /** File name for error messages. */
  file?: string;
}

/** Options of {@link randomWindows}. */
export interface WindowOptions {
  /** Number of windows (default 128, as GPTQ). */
  nSamples?: number;
  /** Tokens per window (default 256). */
  seqLen?: number;
  /** Seed (default 0). */
  seed?: number;
}

/** Options of {@link calibrationWindows}. */
export interface CalibrationWindowOptions extends WindowOptions, TokenizeOptions {
  /**
   * `stream`: join the documents with `separator` and sample the one stream (`get_wikitext2`);
   * `documents`: sample a long-enough document, then a window (`get_c4`); `auto` (default):
   * `documents` when there are several documents, `stream` for one.
   */
  sampling?: "auto" | "stream" | "documents";
  /** Separator of the `stream` join (default `"\n\n"`). */
  separator?: string;
}

/** Options of {@link evaluationTokens}. */
export interface EvalTokenOptions extends TokenizeOptions {
  /** Separator between documents (default `"\n\n"`, the papers' join). */
  separator?: string;
  /** Window length; with `maxWindows`, the stream is cut to `maxWindows·seqLen` tokens. */
  seqLen?: number;
  /** Keep only the first `maxWindows` windows. */
  maxWindows?: number;
}

/**
 * Tokenizes one text and checks every id against the vocabulary.
 *
 * @param text the text
 * @param tokenizer the checkpoint's tokenizer
 * @param options vocabulary size, special tokens, file name for errors
 * @returns token ids `[n]`
 * @throws {DataError} when an id is ≥ `vocabSize` (naming the id and its token position)
 */
export function tokenizeChecked(text: string, tokenizer: Tokenizer, options: TokenizeOptions = {}): Int32Array {
  const ids = tokenizer.encode(text, { addSpecialTokens: options.addSpecialTokens ?? false });
  const V = options.vocabSize ?? tokenizer.vocabSize;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= V) {
      throw new DataError(
        `tokenizeChecked: Cannot use token id ${id} at position ${i}${
          options.file ? ` of "${options.file}"` : ""
        }: the model's vocab_size is ${V} (${tokenizer.name} produced it; is this the checkpoint's tokenizer?)`,
        options.file !== undefined ? { file: options.file } : {},
      );
    }
  }
  return ids;
}

/**
 * GPTQ's `get_wikitext2` sampling: `nSamples` windows of `seqLen` tokens at seeded random
 * starts `i ∈ [0, len − seqLen − 1]` of one token stream, concatenated.
 *
 * @example
 * ```ts
 * import { randomWindows } from "./windows.ts";
 * import assert from "node:assert/strict";
 * const tokens = Int32Array.from({ length: 100 }, (_, i) => i);
 * const w = randomWindows(tokens, { nSamples: 3, seqLen: 10, seed: 1 });
 * assert.equal(w.length, 30);
 * assert.equal(w[9]! - w[0]!, 9); // each window is contiguous
 * ```
 *
 * @param tokens the token stream `[len]`
 * @param options number of windows, window length, seed
 * @returns ids `[nSamples·seqLen]`
 * @throws {RangeError} when nSamples < 1, seqLen < 2 or the stream has ≤ seqLen tokens
 */
export function randomWindows(tokens: ArrayLike<number>, options: WindowOptions = {}): Int32Array {
  const n = options.nSamples ?? 128, T = options.seqLen ?? 256;
  checkCounts("randomWindows", n, T);
  if (tokens.length <= T) {
    throw new RangeError(
      `randomWindows: Cannot draw windows of ${T} tokens from a stream of ${tokens.length}: it needs more than ${T}`,
    );
  }
  const rng = new Rng(options.seed ?? 0);
  const out = new Int32Array(n * T);
  for (let s = 0; s < n; s++) {
    const start = rng.int(tokens.length - T); // [0, len − T − 1], as randint(0, len − T − 1)
    for (let t = 0; t < T; t++) out[s * T + t] = tokens[start + t] as number;
  }
  return out;
}

function checkCounts(fn: string, n: number, T: number): void {
  if (!(Number.isInteger(n) && n >= 1) || !(Number.isInteger(T) && T >= 2)) {
    throw new RangeError(`${fn}: Cannot draw ${n} samples of ${T} tokens: need integers nSamples ≥ 1 and seqLen ≥ 2`);
  }
}

/**
 * Calibration windows from documents, by GPTQ's rules (see the module doc).
 *
 * @param documents the documents (one for a plain text file)
 * @param tokenizer the checkpoint's tokenizer
 * @param options counts, seed, sampling mode, vocabulary check
 * @returns ids `[nSamples·seqLen]`
 * @throws {DataError} when no document (or the joined text) has more than `seqLen` tokens, or an id is out of range
 */
export function calibrationWindows(
  documents: readonly string[],
  tokenizer: Tokenizer,
  options: CalibrationWindowOptions = {},
): Int32Array {
  const n = options.nSamples ?? 128, T = options.seqLen ?? 256;
  checkCounts("calibrationWindows", n, T);
  const mode = options.sampling === "auto" || options.sampling === undefined
    ? (documents.length > 1 ? "documents" : "stream")
    : options.sampling;
  const where = options.file !== undefined ? { file: options.file } : {};
  if (mode === "stream") {
    const tokens = tokenizeChecked(documents.join(options.separator ?? "\n\n"), tokenizer, options);
    if (tokens.length <= T) {
      throw new DataError(
        `calibrationWindows: Cannot draw windows of ${T} tokens: ${
          options.file ?? "the text"
        } has only ${tokens.length} tokens; give more text or a smaller --seq-len`,
        where,
      );
    }
    return randomWindows(tokens, { nSamples: n, seqLen: T, seed: options.seed ?? 0 });
  }
  const rng = new Rng(options.seed ?? 0);
  const short = new Set<number>();
  const out = new Int32Array(n * T);
  for (let s = 0; s < n; s++) {
    let ids: Int32Array;
    for (;;) {
      // GPTQ loops forever when no document is long enough; we stop once every document
      // has been seen to be too short.
      if (short.size === documents.length) {
        throw new DataError(
          `calibrationWindows: Cannot draw windows of ${T} tokens: none of the ${documents.length} documents${
            options.file ? ` of "${options.file}"` : ""
          } has more than ${T} tokens; use --calib-sampling stream (join them) or a smaller --seq-len`,
          where,
        );
      }
      const d = rng.int(documents.length);
      if (short.has(d)) continue;
      ids = tokenizeChecked(documents[d]!, tokenizer, options);
      if (ids.length > T) break;
      short.add(d);
    }
    const start = rng.int(ids.length - T);
    out.set(ids.subarray(start, start + T), s * T);
  }
  return out;
}

/**
 * Evaluation tokens with the papers' protocol: documents joined with `"\n\n"`, tokenized once.
 *
 * @param documents the documents
 * @param tokenizer the checkpoint's tokenizer
 * @param options separator, optional cut to `maxWindows·seqLen`, vocabulary check
 * @returns the token stream; `evaluateLm` cuts it into non-overlapping windows
 * @throws {DataError} when the stream holds less than one window of `seqLen`, or an id is out of range
 */
export function evaluationTokens(
  documents: readonly string[],
  tokenizer: Tokenizer,
  options: EvalTokenOptions = {},
): Int32Array {
  const tokens = tokenizeChecked(documents.join(options.separator ?? "\n\n"), tokenizer, options);
  const T = options.seqLen;
  if (T !== undefined && tokens.length < T) {
    throw new DataError(
      `evaluationTokens: Cannot cut windows of ${T} tokens: ${
        options.file ?? "the text"
      } has only ${tokens.length} tokens; give more text or a smaller --seq-len`,
      options.file !== undefined ? { file: options.file } : {},
    );
  }
  if (T !== undefined && options.maxWindows !== undefined) {
    return tokens.slice(0, Math.min(tokens.length, options.maxWindows * T));
  }
  return tokens;
}
