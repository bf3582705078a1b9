// SPDX-License-Identifier: MIT
/**
 * Evaluation with the papers' protocol (perplexity over non-overlapping windows, bits per
 * byte, KL to full precision, top-1 agreement), per-window metrics for streamed evaluation,
 * and the results table. Quantizing a model (recipes, RTN over a model, the sequential and
 * streaming drivers) lives in `lib/pipeline`.
 *
 * @example A tour
 * ```ts ignore
 * import { evaluateLm, ResultsTable } from "./mod.ts";
 * const fp = await evaluateLm(model, testTokens, { seqLen: 256, maxWindows: 64 });
 * const r = await evaluateLm(q, testTokens, { seqLen: 256, maxWindows: 64, reference: model });
 * ```
 *
 * @module
 */
export * from "./perplexity.ts";
export * from "./reference_stats.ts";
export * from "./results.ts";
export * from "./window_metrics.ts";
