// SPDX-License-Identifier: MIT
/**
 * Which text calibrates and evaluates a model, as token ids of its own tokenizer.
 *
 * - With `calibData` / `evalData` (a .txt, .jsonl or Arrow IPC file), the text is read with
 *   {@link readTextDocuments}, tokenized with the checkpoint's tokenizer and cut by GPTQ's
 *   rules ({@link calibrationWindows}, {@link evaluationTokens}).
 * - Without them, the bundled State of the Union corpus is the default for a byte-level model
 *   like the bundled one (tokenizer_config.json `"type": "bytes"`, vocab_size 256): its bytes
 *   are its token ids. Any other vocabulary without data is a {@link DataError}: UTF-8 bytes
 *   are never used as ids of a vocabulary they do not belong to.
 *
 * @module
 */
import { ByteTokenizer, loadTokenizer, type Tokenizer } from "../model/tokenizer.ts";
import { loadSplit } from "../calib/corpus.ts";
import { DataError } from "./errors.ts";
import { readTextDocuments } from "./read.ts";
import { calibrationWindows, evaluationTokens, randomWindows } from "./windows.ts";

/** Options of {@link resolveModelData}. */
export interface ModelDataOptions {
  /** Calibration text file (.txt, .jsonl, .arrow/.feather/.ipc). */
  calibData?: string;
  /** Evaluation text file. */
  evalData?: string;
  /** JSON Lines field / Arrow column with the text (default `"text"`). */
  textColumn?: string;
  /** Calibration windows (default 128). */
  nSamples?: number;
  /** Tokens per window, calibration and evaluation (default 256). */
  seqLen?: number;
  /** Calibration seed (default 0). */
  seed?: number;
  /** Calibration sampling of a multi-document file (see {@link calibrationWindows}; default `auto`). */
  calibSampling?: "auto" | "stream" | "documents";
  /** Bundled split evaluated by default (default `test`). */
  evalSplit?: "test" | "validation";
  /** Keep only the first `maxWindows` evaluation windows. */
  maxWindows?: number;
  /** Let the tokenizer add its special tokens (BOS) once per tokenized text (default false). */
  addSpecialTokens?: boolean;
  /** Which parts to build (default both); skipping one skips reading its file. */
  need?: { calibration?: boolean; evaluation?: boolean };
}

/** Token ids for calibration and evaluation, with descriptions for results rows. */
export interface ModelData {
  /** The tokenizer used. */
  tokenizer: Tokenizer;
  /** Calibration windows `[nSamples·seqLen]` (absent when not needed). */
  calibration?: Int32Array;
  /** The evaluation token stream (absent when not needed). */
  evaluation?: Int32Array;
  /** e.g. `"c4.jsonl 128×2048 seed 0 (documents)"` or `"train 128×256 seed 0"`. */
  calibDescription: string;
  /** e.g. `"wiki.test.txt"` or `"test"`. */
  evalDescription: string;
}

function baseName(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).at(-1) ?? path;
}

/**
 * Resolves the calibration and evaluation tokens of a model (see the module doc).
 *
 * @example Bundled model: the bundled corpus
 * ```ts ignore
 * const m = await loadLlama(BUNDLED_MODEL_DIR);
 * const data = await resolveModelData(BUNDLED_MODEL_DIR, m.config, undefined, { nSamples: 32 });
 * ```
 *
 * @example Your checkpoint and text
 * ```ts ignore
 * const data = await resolveModelData(dir, model.config, undefined, {
 *   calibData: "c4-sample.jsonl", evalData: "wiki.test.raw.txt", seqLen: 2048, nSamples: 128,
 * });
 * ```
 *
 * @param modelDir the checkpoint directory (its tokenizer is loaded when `tokenizer` is undefined)
 * @param config the model's config (its `vocabSize` bounds every token id)
 * @param tokenizer the checkpoint's tokenizer, or undefined to load it from `modelDir`
 * @param options files, counts, seed
 * @returns the token ids and their descriptions
 * @throws {DataError} for a non-byte vocabulary without data, an unreadable file, too little text, or an id ≥ vocab_size
 */
export async function resolveModelData(
  modelDir: string,
  config: { vocabSize: number },
  tokenizer: Tokenizer | undefined,
  options: ModelDataOptions = {},
): Promise<ModelData> {
  const tok = tokenizer ?? await loadTokenizer(modelDir);
  const T = options.seqLen ?? 256, n = options.nSamples ?? 128, seed = options.seed ?? 0;
  const bytes = tok instanceof ByteTokenizer && config.vocabSize === 256;
  const common = {
    vocabSize: config.vocabSize,
    addSpecialTokens: options.addSpecialTokens ?? false,
    ...(options.textColumn !== undefined && { textColumn: options.textColumn }),
  };
  const missing = (what: string, flag: string) =>
    new DataError(
      `resolveModelData: Cannot ${what} "${modelDir}" without data: its tokenizer (${tok.name}, vocab_size ${config.vocabSize}) ` +
        `is not byte-level, so the bundled corpus does not apply; pass ${flag} FILE (.txt, .jsonl or .arrow)`,
    );
  const out: ModelData = { tokenizer: tok, calibDescription: "none", evalDescription: "none" };

  if (options.need?.calibration ?? true) {
    if (options.calibData !== undefined) {
      const src = await readTextDocuments(options.calibData, common);
      const mode = options.calibSampling === undefined || options.calibSampling === "auto"
        ? (src.documents.length > 1 ? "documents" : "stream")
        : options.calibSampling;
      out.calibration = calibrationWindows(src.documents, tok, {
        ...common,
        nSamples: n,
        seqLen: T,
        seed,
        sampling: mode,
        file: src.path,
      });
      out.calibDescription = `${baseName(src.path)} ${n}×${T} seed ${seed} (${mode})`;
    } else if (bytes) {
      out.calibration = randomWindows(await loadSplit("train"), { nSamples: n, seqLen: T, seed });
      out.calibDescription = `train ${n}×${T} seed ${seed}`;
    } else throw missing("calibrate", "--calib-data");
  }

  if (options.need?.evaluation ?? true) {
    const cut = { seqLen: T, ...(options.maxWindows !== undefined && { maxWindows: options.maxWindows }) };
    if (options.evalData !== undefined) {
      const src = await readTextDocuments(options.evalData, common);
      out.evaluation = evaluationTokens(src.documents, tok, { ...common, ...cut, file: src.path });
      out.evalDescription = baseName(src.path);
    } else if (bytes) {
      const split = options.evalSplit ?? "test";
      const all = await loadSplit(split);
      const len = options.maxWindows !== undefined ? Math.min(all.length, options.maxWindows * T) : all.length;
      out.evaluation = Int32Array.from(all.subarray(0, len));
      out.evalDescription = split;
    } else throw missing("evaluate", "--eval-data");
  }
  return out;
}
