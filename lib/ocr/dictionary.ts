// SPDX-License-Identifier: MIT
/**
 * The character dictionary of a PaddleOCR CTC recognizer: class 0 is the CTC blank, classes
 * 1..n the lines of the keys file (`ppocr_keys_v1.txt`, 6623 characters), and with
 * `useSpaceChar` (PaddleOCR's default) a final space class: 6625 classes for PP-OCRv4.
 *
 * @module
 */

/** A recognizer's classes. */
export interface OcrDictionary {
  /** Class → text (`""` for the blank, class 0). */
  readonly chars: readonly string[];
  /** Text → class (the blank is absent). */
  readonly index: ReadonlyMap<string, number>;
}

/**
 * Builds the dictionary from the keys file's text (one character per line).
 *
 * @example
 * ```ts
 * import { parseDictionary } from "./dictionary.ts";
 * import assert from "node:assert/strict";
 * const d = parseDictionary("a\nb\n");
 * assert.deepEqual(d.chars, ["", "a", "b", " "]);
 * assert.equal(d.index.get("b"), 2);
 * ```
 */
export function parseDictionary(text: string, options: { useSpaceChar?: boolean } = {}): OcrDictionary {
  const lines = text.split("\n").map((l) => l.replace(/\r$/, ""));
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const chars = ["", ...lines];
  if (options.useSpaceChar ?? true) chars.push(" ");
  const index = new Map<string, number>();
  chars.forEach((c, i) => {
    if (i > 0 && !index.has(c)) index.set(c, i);
  });
  return { chars, index };
}

/** Whether every character of `text` has a class. */
export function canSpell(dict: OcrDictionary, text: string): boolean {
  for (const ch of text) if (!dict.index.has(ch)) return false;
  return true;
}
