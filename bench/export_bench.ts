// SPDX-License-Identifier: MIT
/**
 * GGUF exports of the bundled model in llama.cpp (node-llama-cpp's CPU binaries, 2 threads) and
 * in quantlab: file size, perplexity of the same weights in both (test split, non-overlapping
 * windows of 256 tokens), and llama.cpp throughput (prompt processing of 128 tokens in one
 * batch; greedy generation of 64 tokens), for F16, Q8_0 (RTN int8-g32-sym), Q4_0 (RTN and GPTQ
 * int4-g32-sym) and Q4_1 (RTN int4-g32-asym-f16min). `deno task bench --only export`.
 *
 * @module
 */
import { BUNDLED_MODEL_DIR, loadLlama } from "../lib/model/load.ts";
import { applyRecipe, getRecipe } from "../lib/pipeline/recipes.ts";
import { calibrationSamples, loadSplit } from "../lib/calib/corpus.ts";
import { byteGgufTokenizer } from "../lib/export/gguf_tokenizer.ts";
import { type GgufExportOptions, writeGgufModel } from "../lib/export/gguf_export.ts";
import { loadGgufModel } from "../lib/export/gguf_read.ts";
import type { LlamaModel } from "../lib/model/llama.ts";
import {
  llamaCppTargetLogProbs,
  llamaCppThroughput,
  openLlamaCpp,
  perplexityOf,
  quantlabTargetLogProbs,
} from "../tools/_llamacpp_runner.ts";
import type { BenchRow } from "./_util.ts";

const SEQ = 256;

/** Runs the suite; `windows` evaluation windows per export (default 8). */
export async function runExportBench(options: { windows?: number } = {}): Promise<BenchRow[]> {
  const W = options.windows ?? 8;
  const model = await loadLlama(BUNDLED_MODEL_DIR);
  const test = await loadSplit("test");
  const windows = Array.from({ length: W }, (_, w) => Array.from(test.subarray(w * SEQ, (w + 1) * SEQ)));
  const calibration = calibrationSamples(await loadSplit("train"), { nSamples: 16, seqLen: SEQ, seed: 0 });
  const cases: [string, () => Promise<{ m: LlamaModel; o: Omit<GgufExportOptions, "tokenizer"> }>][] = [
    ["F16", () => Promise.resolve({ m: model, o: { type: "F16" } })],
    ...([
      ["Q8_0-RTN", "RTN", "int8-g32-sym", "Q8_0"],
      ["Q4_0-RTN", "RTN", "int4-g32-sym", "Q4_0"],
      ["Q4_0-GPTQ", "GPTQ", "int4-g32-sym", "Q4_0"],
      ["Q4_1-RTN", "RTN", "int4-g32-asym-f16min", "Q4_1"],
    ] as const).map(([label, recipe, format, type]) =>
      [label, async () => {
        const r = await applyRecipe(model, getRecipe(recipe), { format, calibration, seqLen: SEQ });
        return { m: r.model, o: { type, quantized: r.quantized } };
      }] as [string, () => Promise<{ m: LlamaModel; o: Omit<GgufExportOptions, "tokenizer"> }>]
    ),
  ];
  const dir = await Deno.makeTempDir({ prefix: "quantlab-export-bench-" });
  const rows: BenchRow[] = [];
  const size = `${W}×${SEQ} tokens`;
  try {
    for (const [label, make] of cases) {
      const { m, o } = await make();
      const path = `${dir}/${label}.gguf`;
      const written = await writeGgufModel(path, m, { ...o, tokenizer: byteGgufTokenizer() });
      const reference = await loadGgufModel(path, model.config, model.ops);
      const s = await openLlamaCpp(path, { contextSize: SEQ });
      try {
        const cpp: Float64Array[] = [], ql: Float64Array[] = [];
        for (const ids of windows) {
          cpp.push(await llamaCppTargetLogProbs(s, ids));
          ql.push(await quantlabTargetLogProbs(reference, ids));
        }
        const speed: { promptTokensPerSecond: number; generateTokensPerSecond: number }[] = [];
        for (let k = 0; k < 4; k++) speed.push(await llamaCppThroughput(s, windows[0]!.slice(0, 128), 64));
        const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
        rows.push(
          {
            backend: "gguf",
            op: `${label} file size`,
            size: "sotu-llama-d256-l4",
            value: written.bytes / 2 ** 20,
            unit: "MiB",
          },
          { backend: "llama.cpp", op: `${label} perplexity`, size, value: perplexityOf(cpp), unit: "ppl" },
          { backend: "quantlab", op: `${label} perplexity`, size, value: perplexityOf(ql), unit: "ppl" },
          {
            backend: "llama.cpp",
            op: `${label} prompt (128 tok)`,
            size: "2 threads",
            value: median(speed.slice(1).map((x) => x.promptTokensPerSecond)),
            unit: "tokens/s",
          },
          {
            backend: "llama.cpp",
            op: `${label} generate (64 tok)`,
            size: "2 threads",
            value: median(speed.slice(1).map((x) => x.generateTokensPerSecond)),
            unit: "tokens/s",
          },
        );
      } finally {
        await s.dispose();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

export type { BenchRow };

if (import.meta.main) {
  for (const r of await runExportBench()) {
    console.log(r.backend.padEnd(10), r.op.padEnd(28), r.size.padEnd(18), r.value.toPrecision(5), r.unit);
  }
}
