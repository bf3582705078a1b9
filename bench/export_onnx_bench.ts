// SPDX-License-Identifier: MIT
/**
 * ONNX decoder exports of the bundled model (transformers.js layout, lib/export/onnx_decoder.ts):
 * file sizes, perplexity of `onnx/model.onnx` (f32) and `onnx/model_q4.onnx` (MatMulNBits,
 * quantlab's int4-g32 codes from RTN and GPTQ) in onnxruntime-web against quantlab's forward on
 * the same weights (test split, non-overlapping windows of 256 tokens), and transformers.js
 * greedy generation speed (onnxruntime-node CPU, local files, 1 prompt of 27 tokens → 64 new
 * tokens, median of 3 after a warm-up). `deno task bench --only export-onnx`.
 *
 * @module
 */
import { AutoModelForCausalLM, AutoTokenizer, env } from "@huggingface/transformers";
import { BUNDLED_MODEL_DIR, loadLlama } from "../lib/model/load.ts";
import type { LlamaModel } from "../lib/model/llama.ts";
import type { QuantizedTensor } from "../lib/quant/quantized_tensor.ts";
import { applyRecipe, getRecipe } from "../lib/pipeline/recipes.ts";
import { calibrationSamples, loadSplit } from "../lib/calib/corpus.ts";
import { evaluateLm } from "../lib/eval/perplexity.ts";
import { evaluateLogits } from "../lib/eval/perplexity.ts";
import { openOnnxLm } from "../lib/eval/onnx_lm.ts";
import { writeOnnxDecoder } from "../lib/export/onnx_decoder.ts";
import type { BenchRow } from "./_util.ts";

const SEQ = 256;
const NEW_TOKENS = 64;
const PROMPT = "The state of the Union is ";

/** Median transformers.js greedy tokens/s of the folder `root/id` with `dtype`. */
async function transformersJsTokensPerSecond(root: string, id: string, dtype: "fp32" | "q4"): Promise<number> {
  env.allowRemoteModels = false;
  env.localModelPath = root;
  const tok = await AutoTokenizer.from_pretrained(id);
  const model = await AutoModelForCausalLM.from_pretrained(id, { dtype, device: "cpu" });
  try {
    const inputs = tok(PROMPT);
    const run = async () => {
      const t0 = performance.now();
      await model.generate({ ...inputs, max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS, do_sample: false });
      return NEW_TOKENS / ((performance.now() - t0) / 1000);
    };
    await run();
    const speeds = [await run(), await run(), await run()].sort((a, b) => a - b);
    return speeds[1]!;
  } finally {
    await model.dispose();
  }
}

/** Runs the suite; `windows` evaluation windows per model (default 8). */
export async function runExportOnnxBench(options: { windows?: number } = {}): Promise<BenchRow[]> {
  const W = options.windows ?? 8;
  const model = await loadLlama(BUNDLED_MODEL_DIR);
  const test = await loadSplit("test");
  const calibration = calibrationSamples(await loadSplit("train"), { nSamples: 16, seqLen: SEQ, seed: 0 });
  const cases: [string, () => Promise<{ m: LlamaModel; quantized?: ReadonlyMap<string, QuantizedTensor> }>][] = [
    ["f32", () => Promise.resolve({ m: model })],
    ...(["RTN", "GPTQ"] as const).map((recipe) =>
      [`q4-${recipe}`, async () => {
        const r = await applyRecipe(model, getRecipe(recipe), { format: "int4-g32-asym", calibration, seqLen: SEQ });
        return { m: r.model, quantized: r.quantized };
      }] as [string, () => Promise<{ m: LlamaModel; quantized?: ReadonlyMap<string, QuantizedTensor> }>]
    ),
  ];
  const root = await Deno.makeTempDir({ prefix: "quantlab-onnx-bench-" });
  const rows: BenchRow[] = [];
  const size = `${W}×${SEQ} tokens`;
  const evalOptions = { seqLen: SEQ, maxWindows: W };
  try {
    for (const [label, make] of cases) {
      const { m, quantized } = await make();
      const id = label.toLowerCase();
      const folder = await writeOnnxDecoder(`${root}/${id}`, m, { ...(quantized && { quantized }) });
      const file = quantized ? "onnx/model_q4.onnx" : "onnx/model.onnx";
      const lm = await openOnnxLm(`${root}/${id}/${file}`);
      let onnxPpl: number;
      try {
        onnxPpl = (await evaluateLogits(lm.logits, m.config.vocabSize, test, evalOptions)).perplexity;
      } finally {
        await lm.release();
      }
      const quantlabPpl = (await evaluateLm(m, test, evalOptions)).perplexity;
      const tokensPerSecond = await transformersJsTokensPerSecond(root, id, quantized ? "q4" : "fp32");
      rows.push(
        {
          backend: "onnx",
          op: `${label} ${file} size`,
          size: "sotu-llama-d256-l4",
          value: folder.files.get(file)! / 2 ** 20,
          unit: "MiB",
        },
        { backend: "onnxruntime-web", op: `${label} perplexity`, size, value: onnxPpl, unit: "ppl" },
        { backend: "quantlab", op: `${label} perplexity`, size, value: quantlabPpl, unit: "ppl" },
        {
          backend: "transformers.js",
          op: `${label} generate (${NEW_TOKENS} tok)`,
          size: "onnxruntime-node cpu",
          value: tokensPerSecond,
          unit: "tokens/s",
        },
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  return rows;
}

export type { BenchRow };

if (import.meta.main) {
  const full = Deno.args.includes("--full");
  for (const r of await runExportOnnxBench({ windows: full ? 32 : 8 })) {
    console.log(r.backend.padEnd(16), r.op.padEnd(36), r.size.padEnd(22), r.value.toPrecision(6), r.unit);
  }
}
