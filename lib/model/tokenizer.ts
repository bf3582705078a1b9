// SPDX-License-Identifier: MIT
/**
 * Tokenizers behind one small interface: the byte-level tokenizer of the bundled model
 * (token id = UTF-8 byte value) and, for users' checkpoints, `tokenizer.json` files.
 *
 * @module
 */

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
