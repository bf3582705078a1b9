// SPDX-License-Identifier: MIT
/**
 * Shared by `tools/table.ts` and `tools/quantize.ts`: command-line flags, calibration ids,
 * evaluation of a quantized model against the full-precision reference (reference logits
 * cached per window, so the FP forward runs once per table), and a one-line progress bar.
 *
 * @module
 */
import type { Tensor } from "../lib/tensor/tensor.ts";
import type { LlamaModel } from "../lib/model/llama.ts";
import { calibrationSamples, loadSplit } from "../lib/calib/corpus.ts";
import { type EvalResult, evaluateLm } from "../lib/eval/perplexity.ts";
import type { ResultRow } from "../lib/eval/results.ts";
import type { RecipeProgress, RecipeResult } from "../lib/eval/recipes.ts";

/** Value of `--name value` (undefined when absent). */
export function flag(name: string, args: readonly string[] = Deno.args): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Calibration set: `nSamples` random windows of the train split (seeded). */
export async function calibrationIds(nSamples: number, seqLen: number, seed: number): Promise<Int32Array> {
  return calibrationSamples(await loadSplit("train"), { nSamples, seqLen, seed });
}

/** Evaluates models on the first `windows` windows of a split, caching the reference logits. */
export class Evaluator {
  readonly tokens: Uint8Array;
  readonly seqLen: number;
  readonly windows: number | undefined;
  private readonly reference: LlamaModel;
  private readonly cache = new Map<string, Tensor<"f32">>();
  fp?: EvalResult;

  private constructor(reference: LlamaModel, tokens: Uint8Array, seqLen: number, windows: number | undefined) {
    this.reference = reference;
    this.tokens = tokens;
    this.seqLen = seqLen;
    this.windows = windows;
  }

  /** @param windows number of windows, or undefined for the whole split */
  static async create(reference: LlamaModel, split: "test" | "validation", seqLen: number, windows?: number) {
    return new Evaluator(reference, await loadSplit(split), seqLen, windows);
  }

  /** Evaluates the FP model once (and fills the logits cache). */
  async evaluateFp(): Promise<EvalResult> {
    this.fp ??= await evaluateLm(this.reference, this.tokens, {
      seqLen: this.seqLen,
      ...(this.windows !== undefined && { maxWindows: this.windows }),
      reference: (ids, T) => this.referenceLogits(ids, T),
    });
    return this.fp;
  }

  /** Perplexity, KL and top-1 agreement of `model` against the reference. */
  async evaluate(model: LlamaModel): Promise<EvalResult> {
    return await evaluateLm(model, this.tokens, {
      seqLen: this.seqLen,
      ...(this.windows !== undefined && { maxWindows: this.windows }),
      reference: (ids, T) => this.referenceLogits(ids, T),
    });
  }

  private async referenceLogits(ids: ArrayLike<number>, T: number): Promise<Tensor<"f32">> {
    const key = this.keyOf(ids);
    let l = this.cache.get(key);
    if (!l) {
      l = await this.reference.forward(ids, T);
      this.cache.set(key, l);
    }
    return l;
  }

  /** Two 32-bit hashes of the whole batch (evaluateLm feeds the same batches for every model). */
  private keyOf(ids: ArrayLike<number>): string {
    let a = ids.length, b = 0x9e3779b9;
    for (let i = 0; i < ids.length; i++) {
      a = (Math.imul(a, 31) + (ids[i] as number)) | 0;
      b = Math.imul(b ^ (ids[i] as number), 0x85ebca6b) | 0;
    }
    return `${a}:${b}`;
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
export function progressLine(label: string, p: RecipeProgress, width = 24): string {
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
