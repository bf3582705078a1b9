// SPDX-License-Identifier: MIT
/**
 * The user's text as token ids: read .txt / .jsonl / Arrow IPC documents, tokenize them with the
 * checkpoint's own `tokenizer.json`, and cut calibration and evaluation windows by GPTQ's rules;
 * plus a small byte-level BPE trainer for generated test checkpoints.
 *
 * @example
 * ```ts
 * import { calibrationWindows } from "./mod.ts";
 * import { ByteTokenizer } from "../model/tokenizer.ts";
 * import assert from "node:assert/strict";
 * const docs = ["a short one", "a document long enough to hold a window of sixteen bytes"];
 * const ids = calibrationWindows(docs, new ByteTokenizer(), { nSamples: 4, seqLen: 16, seed: 0 });
 * assert.equal(ids.length, 64);
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./read.ts";
export * from "./windows.ts";
export * from "./resolve.ts";
export * from "./bpe_train.ts";
