// SPDX-License-Identifier: MIT
/**
 * Evaluation with the papers' protocol (perplexity over non-overlapping windows, bits per
 * byte, KL to full precision, top-1 agreement), whole-model weight quantization with
 * per-layer error rows, and the results table.
 *
 * @example A tour
 * ```ts ignore
 * import { evaluateLm, quantizeModelWeights, ResultsTable } from "./mod.ts";
 * const fp = await evaluateLm(model, testTokens, { seqLen: 256, maxWindows: 64 });
 * const { model: q } = await quantizeModelWeights(model, async (_n, W) => (await quantizeRtn(W, spec, { ops })).weight);
 * const r = await evaluateLm(q, testTokens, { seqLen: 256, maxWindows: 64, reference: model });
 * ```
 *
 * @module
 */
export * from "./perplexity.ts";
export * from "./quantize_model.ts";
export * from "./results.ts";
export * from "./rtn_model.ts";
export * from "./recipes.ts";
