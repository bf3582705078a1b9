// SPDX-License-Identifier: MIT
/**
 * Character error rate: Levenshtein distance (insertions, deletions, substitutions, each cost 1)
 * between prediction and reference over Unicode code points, summed over lines and divided by
 * the total reference length (corpus-level CER, as OCR papers report it).
 *
 * @module
 */

/**
 * Edit distance between two strings, over code points.
 *
 * @example
 * ```ts
 * import { editDistance } from "./cer.ts";
 * import assert from "node:assert/strict";
 * assert.equal(editDistance("kitten", "sitting"), 3);
 * ```
 */
export function editDistance(a: string, b: string): number {
  const x = Array.from(a), y = Array.from(b);
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      const sub = (prev[j - 1] as number) + (x[i - 1] === y[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] as number) + 1, (cur[j - 1] as number) + 1));
    }
    prev = cur;
  }
  return prev[y.length] as number;
}

/** Result of {@link characterErrorRate}. */
export interface CerResult {
  /** Σ distance / Σ reference length. */
  cer: number;
  /** Σ distance. */
  errors: number;
  /** Σ reference length (code points). */
  referenceChars: number;
  /** Number of lines compared. */
  lines: number;
  /** Share of lines read exactly. */
  lineAccuracy: number;
}

/**
 * Corpus-level CER of predictions against references.
 *
 * @throws {RangeError} when the lists differ in length or the references are empty
 *
 * @example
 * ```ts
 * import { characterErrorRate } from "./cer.ts";
 * import assert from "node:assert/strict";
 * const r = characterErrorRate(["abd", "xy"], ["abc", "xy"]);
 * assert.equal(r.cer, 1 / 5);
 * assert.equal(r.lineAccuracy, 0.5);
 * ```
 */
export function characterErrorRate(predictions: readonly string[], references: readonly string[]): CerResult {
  if (predictions.length !== references.length) {
    throw new RangeError(
      `characterErrorRate: Cannot compare ${predictions.length} predictions with ${references.length} references`,
    );
  }
  let errors = 0, chars = 0, exact = 0;
  for (let i = 0; i < references.length; i++) {
    const p = predictions[i] as string, r = references[i] as string;
    const d = editDistance(p, r);
    errors += d;
    chars += Array.from(r).length;
    if (d === 0) exact++;
  }
  if (chars === 0) throw new RangeError("characterErrorRate: Cannot compute a CER: the references have no characters");
  return {
    cer: errors / chars,
    errors,
    referenceChars: chars,
    lines: references.length,
    lineAccuracy: exact / references.length,
  };
}
