// SPDX-License-Identifier: MIT
/**
 * Shared by `tools/table.ts` and `tools/quantize.ts`: calibration ids, evaluation of quantized
 * models against the full-precision reference, and a one-line progress bar. Flags are parsed by
 * `tools/_cli.ts`.
 *
 * The {@link Evaluator} runs the reference once and keeps only compact per-token statistics
 * (top-k log-probs and tail mass, `lib/eval/reference_stats.ts`): memory is O(k) per evaluated
 * token instead of the vocabulary's worth of logits per token. KL is then the tail-merged lower
 * bound, reported with its tail mass; `exactKl` re-runs the reference on each window instead.
 *
 * @module
 */
import type { LlamaModel } from "../lib/model/llama.ts";
import { calibrationSamples, loadSplit } from "../lib/calib/corpus.ts";
import { type EvalResult, evaluateLm } from "../lib/eval/perplexity.ts";
import type { ReferenceStats } from "../lib/eval/reference_stats.ts";
import type { ResultRow } from "../lib/eval/results.ts";
import type { RecipeProgress, RecipeResult } from "../lib/pipeline/recipes.ts";

/** Calibration set: `nSamples` random windows of the train split (seeded). */
export async function calibrationIds(nSamples: number, seqLen: number, seed: number): Promise<Int32Array> {
  return calibrationSamples(await loadSplit("train"), { nSamples, seqLen, seed });
}

/** Options of {@link Evaluator}. */
export interface EvaluatorOptions {
  /** Recompute the reference on every window for exact KL (default false: top-k stats). */
  exactKl?: boolean;
  /** Reference ids kept per token (default 32). */
  topK?: number;
  /** Progress per evaluated window. */
  onWindow?: (done: number, total: number) => void;
}

/** Evaluates models on the first `windows` windows of a token stream against one reference. */
export class Evaluator {
  readonly tokens: ArrayLike<number>;
  readonly seqLen: number;
  readonly windows: number | undefined;
  readonly options: EvaluatorOptions;
  private readonly reference: LlamaModel;
  private stats?: ReferenceStats;
  fp?: EvalResult;

  private constructor(
    reference: LlamaModel,
    tokens: ArrayLike<number>,
    seqLen: number,
    windows: number | undefined,
    options: EvaluatorOptions,
  ) {
    this.reference = reference;
    this.tokens = tokens;
    this.seqLen = seqLen;
    this.windows = windows;
    this.options = options;
  }

  /**
   * @param reference the full-precision model
   * @param source a bundled split, or the evaluation token stream (`resolveModelData`)
   * @param seqLen window length
   * @param windows number of windows, or undefined for all
   * @param options exact KL, top-k, progress
   */
  static async create(
    reference: LlamaModel,
    source: "test" | "validation" | ArrayLike<number>,
    seqLen: number,
    windows?: number,
    options: EvaluatorOptions = {},
  ): Promise<Evaluator> {
    const tokens = typeof source === "string" ? await loadSplit(source) : source;
    return new Evaluator(reference, tokens, seqLen, windows, options);
  }

  private base() {
    return {
      seqLen: this.seqLen,
      ...(this.windows !== undefined && { maxWindows: this.windows }),
      ...(this.options.onWindow && { onWindow: this.options.onWindow }),
    };
  }

  /** Evaluates the FP model once, recording its compact statistics. */
  async evaluateFp(): Promise<EvalResult> {
    if (!this.fp) {
      const topK = this.options.exactKl ? undefined : this.options.topK ?? 32;
      const { referenceStats, ...fp } = await evaluateLm(this.reference, this.tokens, {
        ...this.base(),
        ...(topK !== undefined && { recordTopK: topK }),
      });
      this.stats = referenceStats;
      this.fp = fp;
    }
    return this.fp;
  }

  /** Perplexity, KL and top-1 agreement of `model` against the reference. */
  async evaluate(model: LlamaModel): Promise<EvalResult> {
    await this.evaluateFp();
    return await evaluateLm(model, this.tokens, { ...this.base(), reference: this.stats ?? this.reference });
  }
}

/** The results row of a recipe result and its evaluation. */
export function resultRow(
  r: RecipeResult,
  e: EvalResult,
  meta: { model: string; split: string; calibration: string },
): ResultRow {
  return {
    recipe: r.recipe.name,
    format: r.format,
    bitsPerWeight: r.bitsPerWeight,
    perplexity: e.perplexity,
    bitsPerToken: e.bitsPerToken,
    ...(e.kl !== undefined && { kl: e.kl }),
    ...(e.klTailMass !== undefined && { klTailMass: e.klTailMass }),
    ...(e.top1Agreement !== undefined && { top1Agreement: e.top1Agreement }),
    quantSeconds: r.seconds,
    model: meta.model,
    split: meta.split,
    seqLen: e.seqLen,
    windows: e.windows,
    calibration: meta.calibration,
  };
}

/** `[##########..........]  14/28 quantize model.layers.1.mlp.up_proj` */
export function progressLine(
  label: string,
  p: Pick<RecipeProgress, "done" | "total" | "name"> & { stage: string },
  width = 24,
): string {
  const f = p.total ? p.done / p.total : 0;
  const n = Math.round(f * width);
  return `${label} [${"#".repeat(n)}${".".repeat(width - n)}] ${String(p.done).padStart(3)}/${p.total} ${p.stage}${
    p.name ? ` ${p.name}` : ""
  }`;
}

/** Writes a progress line in place on stderr (a terminal progress bar). */
export function drawProgress(line: string): void {
  const cols = 120;
  Deno.stderr.writeSync(new TextEncoder().encode(`\r${line.slice(0, cols).padEnd(cols)}`));
}
