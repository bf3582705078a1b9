// SPDX-License-Identifier: MIT
/**
 * `deno task quantize`: quantize a checkpoint headless with a recipe, streaming it layer by
 * layer (only one decoder layer's weights in memory), evaluate it in the same pass, and export it.
 *
 * Usage: deno task quantize --model DIR --recipe NAME|FILE.json --out DIR [--format int4-g128-asym]
 *   [--calib-data FILE] [--eval-data FILE] [--text-column text] [--calib-sampling auto]
 *   [--calib 128] [--seq-len 256] [--windows 64|all] [--seed 0] [--activations f32|bf16|f16]
 *   [--batch-size N] [--backend ts|blas] [--allow-online] [--help] [--debug]
 *
 * Data: `--calib-data`/`--eval-data` (.txt, .jsonl, Arrow IPC) are tokenized with the checkpoint's
 * own tokenizer; without them the bundled corpus is used for the bundled (byte-level) model only.
 *
 * Writes `--out` atomically (filled as a temporary sibling, renamed on success; a failed run
 * leaves nothing behind, and an existing `--out` directory is replaced only by a complete one):
 * - `fake_quant/`: the dequantized linears (f32) and every other tensor unchanged, one shard per
 *   layer, `config.json` and tokenizer files copied — any Hugging Face–style tool loads it;
 * - `gptq/`: the Hugging Face GPTQ format (`qweight`/`qzeros`/`scales`/`g_idx`, f16, truthful
 *   `quantization_config` and `quantize_config.json`) that transformers, GPTQModel and vLLM load,
 *   for integer formats it can hold (else skipped, with the reason);
 * - `result.json`: the results row (perplexity, KL, top-1, bits per weight, seconds, protocol)
 *   plus per-layer seconds and the full-precision perplexity.
 *
 * Recipes with model-wide transforms (Hadamard, AWQ) cannot stream: they run in memory (the
 * whole model is loaded, so it must fit), which the output says.
 *
 * @module
 */
import type { Ops } from "../lib/ops/ops.ts";
import { getCpuOps } from "../lib/ops/backend.ts";
import { type LlamaCheckpoint, loadLlama, openLlamaCheckpoint } from "../lib/model/load.ts";
import { writeFakeQuantCheckpoint } from "../lib/export/hf_fake_quant.ts";
import { writeGptqCheckpoint } from "../lib/export/hf_gptq.ts";
import { applyRecipe, readRecipe, type Recipe, recipeNeedsCalibration } from "../lib/pipeline/recipes.ts";
import { quantizeStreaming } from "../lib/pipeline/streaming.ts";
import { createCheckpointWriter, type LayerWriter, recipeProvenance } from "../lib/pipeline/writer.ts";
import { cliProgress } from "../lib/pipeline/progress.ts";
import { evaluateLm } from "../lib/eval/perplexity.ts";
import type { ResultRow } from "../lib/eval/results.ts";
import { parseFormatId } from "../lib/quant/spec.ts";
import type { IntQuantized } from "../lib/quant/quantized_tensor.ts";
import { GPTQ_BITS } from "../lib/export/_gptq_layout.ts";
import { HookedLlamaModel } from "../lib/rotate/hooked_model.ts";
import { resolveModelData } from "../lib/data/resolve.ts";
import { atomicOutput, runCli } from "./_cli.ts";
import { DATA_FLAGS, dataOptions } from "./_data_flags.ts";

/** The row written to `result.json`: a results row plus the run's own numbers. */
type QuantizeRow = ResultRow & { referencePerplexity?: number; layerSeconds?: number[]; mode: string };

/** What both paths need: the run's settings and the resolved data. */
interface Run {
  recipe: Recipe;
  format: string;
  seqLen: number;
  ops: Ops;
  batchSize: number | undefined;
  calibration: Int32Array | undefined;
  evaluation: Int32Array;
  /** Whether the format fits the GPTQ packed layout. */
  gptqOk: boolean;
  /** `__metadata__` of every written shard. */
  metadata: Record<string, string>;
  /** Results row fields that describe the protocol. */
  meta: Pick<ResultRow, "model" | "split" | "seqLen" | "calibration">;
}

/** Streams the checkpoint layer by layer into `dir` (no model-wide transforms). */
async function streamed(
  ckpt: LlamaCheckpoint,
  run: Run,
  dir: string,
  activations: "f32" | "bf16" | "f16",
): Promise<QuantizeRow> {
  const { recipe, format, metadata } = run;
  const writers: LayerWriter[] = [await createCheckpointWriter(`${dir}/fake_quant`, ckpt, { metadata })];
  if (run.gptqOk) {
    writers.push(
      await createCheckpointWriter(`${dir}/gptq`, ckpt, {
        layout: "gptq",
        metadata,
        provenance: recipeProvenance(recipe),
      }),
    );
  }
  const r = await quantizeStreaming(ckpt, recipe, {
    format,
    seqLen: run.seqLen,
    ops: run.ops,
    activations,
    ...(run.calibration && { calibration: run.calibration }),
    ...(run.batchSize !== undefined && { batchSize: run.batchSize }),
    evaluation: { ids: run.evaluation, seqLen: run.seqLen },
    writers,
    onProgress: cliProgress(Deno.stderr),
  });
  for (const s of r.skippedWriters) console.error(`quantize: ${s.name} layout skipped: ${s.reason}`);
  const e = r.evaluation!;
  return {
    recipe: recipe.name,
    format: r.format,
    bitsPerWeight: r.bitsPerWeight,
    perplexity: e.quantized.perplexity,
    bitsPerToken: e.quantized.bitsPerToken,
    kl: e.quantized.kl!,
    top1Agreement: e.quantized.top1Agreement!,
    quantSeconds: r.seconds,
    ...run.meta,
    windows: e.windows,
    referencePerplexity: e.referencePerplexity,
    layerSeconds: r.layerSeconds,
    mode: "streaming",
  };
}

/** Loads the whole model, applies a recipe with model-wide transforms and exports into `dir`. */
async function inMemory(modelDir: string, run: Run, dir: string, allowOnline: boolean): Promise<QuantizeRow> {
  const { recipe, format, seqLen, ops } = run;
  console.error(
    `quantize: recipe "${recipe.name}" has model-wide transforms (${
      recipe.transforms!.map((t) => t.kind).join(", ")
    }): running in memory (the whole model is loaded)`,
  );
  const model = await loadLlama(modelDir, { ops });
  const result = await applyRecipe(model, recipe, {
    format,
    seqLen,
    ops,
    ...(run.calibration && { calibration: run.calibration }),
    ...(run.batchSize !== undefined && { batchSize: run.batchSize }),
  });
  const online = result.model instanceof HookedLlamaModel;
  if (online && !allowOnline) {
    throw new Error(
      `recipe "${recipe.name}" adds online forward steps: a plain checkpoint cannot hold them; pass --allow-online to export anyway`,
    );
  }
  const meta = { ...run.metadata, ...(online && { "quantlab_warning": "needs online rotation steps" }) };
  await writeFakeQuantCheckpoint(`${dir}/fake_quant`, result.model, meta);
  if (run.gptqOk) {
    try {
      await writeGptqCheckpoint(`${dir}/gptq`, result.model, result.quantized as Map<string, IntQuantized>, {
        metadata: meta,
        provenance: recipeProvenance(recipe),
        sourceDir: modelDir,
        allowOnline: online,
      });
    } catch (e) {
      await Deno.remove(`${dir}/gptq`, { recursive: true }).catch(() => {});
      console.error(`quantize: gptq layout skipped: ${(e as Error).message}`);
    }
  }
  const ev = await evaluateLm(result.model, run.evaluation, {
    seqLen,
    reference: model,
    onProgress: (d, t) => console.error(`eval windows ${d}/${t}`),
  });
  const fp = await evaluateLm(model, run.evaluation, { seqLen });
  return {
    recipe: recipe.name,
    format: result.format,
    bitsPerWeight: result.bitsPerWeight,
    perplexity: ev.perplexity,
    bitsPerToken: ev.bitsPerToken,
    kl: ev.kl!,
    top1Agreement: ev.top1Agreement!,
    quantSeconds: result.seconds,
    ...run.meta,
    windows: ev.windows,
    referencePerplexity: fp.perplexity,
    mode: "in-memory",
  };
}

await runCli({
  task: "quantize",
  summary: "Quantizes a checkpoint with a recipe layer by layer (bounded memory), evaluates it in the same pass and " +
    "exports fake-quant and GPTQ-packed checkpoints plus a results row.",
  flags: {
    model: { type: "path", path: "dir", required: true, help: "checkpoint directory (config.json + safetensors)" },
    recipe: {
      type: "string",
      required: true,
      help: "built-in recipe name or recipe JSON file",
      check: (v) => void readRecipe(String(v)),
    },
    out: { type: "path", path: "out-dir", required: true, help: "output directory (replaced atomically)" },
    format: {
      type: "string",
      help: "format id (default: the recipe's, else int4-g128-asym)",
      check: (v) => void parseFormatId(String(v)),
    },
    ...DATA_FLAGS,
    calib: { type: "int", min: 1, default: 128, help: "calibration sequences" },
    "seq-len": { type: "int", min: 2, default: 256, help: "tokens per calibration sequence and evaluation window" },
    windows: { type: "int", min: 1, default: 64, words: ["all"], help: "evaluation windows" },
    seed: { type: "int", min: 0, default: 0, help: "calibration sampling seed" },
    activations: {
      type: "enum",
      choices: ["f32", "bf16", "f16"],
      default: "f32",
      help: "storage of kept hidden states",
    },
    "batch-size": { type: "int", min: 1, help: "sequences per block call (default: from a 256 MiB activation budget)" },
    backend: { type: "enum", choices: ["ts", "blas"], help: "CPU backend (default: blas when present)" },
    "allow-online": {
      type: "boolean",
      help: "export recipes whose transforms add online steps anyway (default: refuse)",
    },
  },
}, async (v) => {
  const recipe = readRecipe(v.recipe);
  const format = v.format ?? recipe.format ?? "int4-g128-asym";
  const seqLen = v["seq-len"];
  const name = v.model.split("/").filter(Boolean).at(-1) ?? v.model;
  using ckpt = await openLlamaCheckpoint(v.model);
  const data = await resolveModelData(v.model, ckpt.config, undefined, {
    ...dataOptions(v),
    seqLen,
    nSamples: v.calib,
    seed: v.seed,
    ...(v.windows !== "all" && { maxWindows: v.windows }),
    need: { calibration: recipeNeedsCalibration(recipe), evaluation: true },
  });
  const evaluation = data.evaluation!;
  const windows = Math.floor(evaluation.length / seqLen);
  console.error(
    `quantize: ${name} (${ckpt.config.numLayers} layers, ${ckpt.config.modelType}), recipe "${recipe.name}" ${format}; ` +
      `calibration ${data.calibDescription}; evaluation ${data.evalDescription} ${windows}×${seqLen}; tokenizer ${data.tokenizer.name}`,
  );
  const spec = parseFormatId(format);
  const gptqOk = spec.format === "int" && GPTQ_BITS.includes(spec.bits) && recipe.reconstruction.kind !== "sinq";
  if (!gptqOk) console.error(`quantize: gptq layout skipped: format ${format} is not an integer format it holds`);
  const run: Run = {
    recipe,
    format,
    seqLen,
    ops: getCpuOps(v.backend ? { prefer: v.backend } : {}),
    batchSize: v["batch-size"],
    calibration: data.calibration,
    evaluation,
    gptqOk,
    metadata: { "quantlab_recipe": JSON.stringify(recipe), "quantlab_format": format },
    meta: { model: name, split: data.evalDescription, seqLen, calibration: data.calibDescription },
  };
  const row = await atomicOutput(v.out, async (dir) => {
    const row = (recipe.transforms ?? []).length === 0
      ? await streamed(ckpt, run, dir, v.activations)
      : await inMemory(v.model, run, dir, v["allow-online"]);
    await Deno.writeTextFile(`${dir}/result.json`, JSON.stringify(row, null, 2) + "\n");
    return row;
  });
  const written = ["fake_quant", "gptq"].filter((d) => {
    try {
      return Deno.statSync(`${v.out}/${d}`).isDirectory;
    } catch {
      return false;
    }
  });
  console.error(`quantize: wrote ${written.map((d) => `${v.out}/${d}`).join(", ")} and ${v.out}/result.json`);
  console.log(JSON.stringify(row));
});
