// SPDX-License-Identifier: MIT
/**
 * `deno task quantize`: quantize a checkpoint headless with a recipe, streaming it layer by
 * layer (only one decoder layer's weights in memory), evaluate it in the same pass, and export it.
 *
 * Usage: deno task quantize --model DIR --recipe NAME|FILE.json --out DIR [--format int4-g128-asym]
 *   [--calib-data FILE] [--eval-data FILE] [--calib 128] [--seq-len 256] [--windows 64|all] [--seed 0]
 *   [--activations f32|bf16|f16] [--batch-size N] [--backend ts|blas]
 *
 * Data: `--calib-data`/`--eval-data` (.txt, .jsonl, Arrow IPC) are tokenized with the checkpoint's
 * own tokenizer; without them the bundled corpus is used for the bundled (byte-level) model only.
 *
 * Writes to `--out` (each directory appears only once complete):
 * - `fake_quant/`: the dequantized linears (f32) and every other tensor unchanged, one shard per
 *   layer, `config.json` and tokenizer files copied — any Hugging Face–style tool loads it;
 * - `gptq/`: the packed GPTQ layout (`qweight`/`qzeros`/`scales`/`g_idx`, `quantization_config`),
 *   for integer formats it can hold (else skipped, with the reason);
 * - `result.json`: the results row (perplexity, KL, top-1, bits per weight, seconds, protocol)
 *   plus per-layer seconds and the full-precision perplexity.
 *
 * Recipes with model-wide transforms (Hadamard, AWQ) cannot stream: they run in memory (the
 * whole model is loaded, so it must fit), which the output says.
 *
 * @module
 */
import { getCpuOps } from "../lib/ops/backend.ts";
import { loadLlama, openLlamaCheckpoint } from "../lib/model/load.ts";
import { writeFakeQuantCheckpoint, writeGptqCheckpoint } from "../lib/model/export_gptq.ts";
import { applyRecipe, getRecipe, type Recipe, recipeNeedsCalibration } from "../lib/pipeline/recipes.ts";
import { quantizeStreaming } from "../lib/pipeline/streaming.ts";
import { createCheckpointWriter, type LayerWriter } from "../lib/pipeline/writer.ts";
import { cliProgress } from "../lib/pipeline/progress.ts";
import { evaluateLm } from "../lib/eval/perplexity.ts";
import type { ResultRow } from "../lib/eval/results.ts";
import { parseFormatId } from "../lib/quant/spec.ts";
import type { IntQuantized } from "../lib/quant/quantized_tensor.ts";
import { GPTQ_BITS } from "../lib/model/_gptq_layout.ts";
import { HookedLlamaModel } from "../lib/rotate/hooked_model.ts";
import { resolveModelData } from "../lib/data/resolve.ts";
import { runCli } from "./_cli.ts";

function readRecipe(arg: string): Recipe {
  return getRecipe(arg.endsWith(".json") ? Deno.readTextFileSync(arg) : arg);
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
    out: { type: "path", path: "out-dir", required: true, help: "output directory" },
    format: {
      type: "string",
      help: "format id (default: the recipe's, else int4-g128-asym)",
      check: (v) => void parseFormatId(String(v)),
    },
    "calib-data": { type: "path", path: "file", help: "calibration text (.txt, .jsonl, .arrow)" },
    "eval-data": { type: "path", path: "file", help: "evaluation text (.txt, .jsonl, .arrow)" },
    "text-column": { type: "string", help: "JSON Lines field / Arrow column with the text (default text)" },
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
    "allow-online": { type: "boolean", help: "export recipes whose transforms add online steps anyway" },
  },
}, async (v) => {
  const recipe = readRecipe(v.recipe);
  const format = v.format ?? recipe.format ?? "int4-g128-asym";
  const seqLen = v["seq-len"];
  const ops = getCpuOps(v.backend ? { prefer: v.backend } : {});
  const name = v.model.split("/").filter(Boolean).at(-1) ?? v.model;
  using ckpt = await openLlamaCheckpoint(v.model);
  const data = await resolveModelData(v.model, ckpt.config, undefined, {
    seqLen,
    nSamples: v.calib,
    seed: v.seed,
    ...(v["calib-data"] !== undefined && { calibData: v["calib-data"] }),
    ...(v["eval-data"] !== undefined && { evalData: v["eval-data"] }),
    ...(v["text-column"] !== undefined && { textColumn: v["text-column"] }),
    ...(v.windows !== "all" && { maxWindows: v.windows }),
    need: { calibration: recipeNeedsCalibration(recipe), evaluation: true },
  });
  const evalIds = data.evaluation as Int32Array;
  const windows = Math.floor(evalIds.length / seqLen);
  console.error(
    `quantize: ${name} (${ckpt.config.numLayers} layers, ${ckpt.config.modelType}), recipe "${recipe.name}" ${format}; ` +
      `calibration ${data.calibDescription}; evaluation ${data.evalDescription} ${windows}×${seqLen}; tokenizer ${data.tokenizer.name}`,
  );
  await Deno.mkdir(v.out, { recursive: true });
  const metadata = { "quantlab_recipe": JSON.stringify(recipe), "quantlab_format": format };
  const spec = parseFormatId(format);
  const gptqOk = spec.format === "int" && GPTQ_BITS.includes(spec.bits) &&
    recipe.reconstruction.kind !== "sinq";
  let row: ResultRow & { referencePerplexity?: number; layerSeconds?: number[]; mode: string };

  if ((recipe.transforms ?? []).length === 0) {
    const writers: LayerWriter[] = [
      await createCheckpointWriter(`${v.out}/fake_quant`, ckpt, { overwrite: true, metadata }),
    ];
    if (gptqOk) {
      writers.push(
        await createCheckpointWriter(`${v.out}/gptq`, ckpt, {
          layout: "gptq",
          overwrite: true,
          metadata,
          staticGroups: recipe.reconstruction.kind === "gptq" && recipe.reconstruction.staticGroups === true,
        }),
      );
    }
    const r = await quantizeStreaming(ckpt, recipe, {
      format,
      seqLen,
      ops,
      activations: v.activations as "f32" | "bf16" | "f16",
      ...(data.calibration && { calibration: data.calibration }),
      ...(v["batch-size"] !== undefined && { batchSize: v["batch-size"] }),
      evaluation: { ids: evalIds, seqLen },
      writers,
      onProgress: cliProgress(Deno.stderr),
    });
    for (const s of r.skippedWriters) console.error(`quantize: ${s.name} layout skipped: ${s.reason}`);
    if (!gptqOk) console.error(`quantize: gptq layout skipped: format ${format} is not an integer format it holds`);
    const e = r.evaluation!;
    console.error(`exported ${r.written.join(", ")}`);
    row = {
      recipe: recipe.name,
      format: r.format,
      bitsPerWeight: r.bitsPerWeight,
      perplexity: e.quantized.perplexity,
      bitsPerToken: e.quantized.bitsPerToken,
      kl: e.quantized.kl!,
      top1Agreement: e.quantized.top1Agreement!,
      quantSeconds: r.seconds,
      model: name,
      split: data.evalDescription,
      seqLen,
      windows: e.windows,
      calibration: data.calibDescription,
      referencePerplexity: e.referencePerplexity,
      layerSeconds: r.layerSeconds,
      mode: "streaming",
    };
  } else {
    console.error(
      `quantize: recipe "${recipe.name}" has model-wide transforms (${
        recipe.transforms!.map((t) => t.kind).join(", ")
      }): ` +
        `running in memory (the whole model is loaded)`,
    );
    const model = await loadLlama(v.model, { ops });
    const result = await applyRecipe(model, recipe, {
      format,
      seqLen,
      ops,
      ...(data.calibration && { calibration: data.calibration }),
      ...(v["batch-size"] !== undefined && { batchSize: v["batch-size"] }),
    });
    const online = result.model instanceof HookedLlamaModel;
    if (online && !v["allow-online"]) {
      throw new Error(
        `recipe "${recipe.name}" adds online forward steps: a plain checkpoint cannot hold them; pass --allow-online to export anyway`,
      );
    }
    const meta = { ...metadata, ...(online && { "quantlab_warning": "needs online rotation steps" }) };
    await writeFakeQuantCheckpoint(`${v.out}/fake_quant`, result.model, meta);
    if (gptqOk) {
      try {
        await writeGptqCheckpoint(`${v.out}/gptq`, result.model, result.quantized as Map<string, IntQuantized>, {
          metadata: meta,
        });
      } catch (e) {
        console.error(`quantize: gptq layout skipped: ${(e as Error).message}`);
      }
    }
    const ev = await evaluateLm(result.model, evalIds, {
      seqLen,
      reference: model,
      onProgress: (d, t) => console.error(`eval windows ${d}/${t}`),
    });
    const fp = await evaluateLm(model, evalIds, { seqLen });
    row = {
      recipe: recipe.name,
      format: result.format,
      bitsPerWeight: result.bitsPerWeight,
      perplexity: ev.perplexity,
      bitsPerToken: ev.bitsPerToken,
      kl: ev.kl!,
      top1Agreement: ev.top1Agreement!,
      quantSeconds: result.seconds,
      model: name,
      split: data.evalDescription,
      seqLen,
      windows: ev.windows,
      calibration: data.calibDescription,
      referencePerplexity: fp.perplexity,
      mode: "in-memory",
    };
  }
  await Deno.writeTextFile(`${v.out}/result.json`, JSON.stringify(row, null, 2) + "\n");
  console.log(JSON.stringify(row));
});
