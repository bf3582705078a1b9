// SPDX-License-Identifier: MIT
/** Helpers shared by the benchmark suites. */
import { BUNDLED_MODEL_DIR, loadLlama } from "../lib/model/load.ts";
import type { LlamaModel } from "../lib/model/llama.ts";
import type { Ops } from "../lib/ops/ops.ts";

/** One measured figure of a benchmark suite (bench/main.ts prints and saves them). */
export interface BenchRow {
  /** Backend or reference: "ts", "blas", "webgpu", "numpy", "onnxruntime-web", ... */
  backend: string;
  op: string;
  /** Problem size in words, e.g. "1024³" or "4096×4096". */
  size: string;
  value: number;
  unit: string;
}

/** Median wall time (ms) of `fn` over at least `reps` runs and about `budgetMs`, after one warm-up. */
export async function timeMs(fn: () => unknown, reps = 3, budgetMs = 1500, maxRuns = 50): Promise<number> {
  await fn();
  const ms: number[] = [];
  const start = performance.now();
  while (ms.length < reps || (performance.now() - start < budgetMs && ms.length < maxRuns)) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)] as number;
}

/** The bundled model on `ops`, with the label the tables print. */
export async function benchModel(ops: Ops): Promise<{ model: LlamaModel; label: string }> {
  return { model: await loadLlama(BUNDLED_MODEL_DIR, { ops }), label: "sotu-llama-d256-l4" };
}
