// SPDX-License-Identifier: MIT
/**
 * `deno task export`: quantize a checkpoint with a recipe in memory and write it in a format
 * another runtime runs.
 *
 * Usage: deno task export --model DIR --recipe NAME|FILE.json --format FORMAT --out PATH
 *   [--format-spec int4-g128-asym] [--sym] [--calib-data FILE] [--text-column text]
 *   [--calib-sampling auto] [--calib 128] [--seq-len 256] [--seed 0] [--backend ts|blas]
 *   [--help] [--debug]
 *
 * Each target fixes the quantization format so that the file holds exactly the weights the
 * recipe produced (lib/export maps them block for block):
 *
 * | `--format`  | quantized as            | writes                                                     |
 * | ----------- | ----------------------- | ---------------------------------------------------------- |
 * | gguf-q4_0   | int4-g32-sym            | one `.gguf` file (llama.cpp Q4_0)                          |
 * | gguf-q4_1   | int4-g32-asym-f16min    | one `.gguf` file (Q4_1)                                    |
 * | gguf-q8_0   | int8-g32-sym            | one `.gguf` file (Q8_0)                                    |
 * | gguf-f16    | `--format-spec`         | one `.gguf` file, the dequantized weights in F16           |
 * | hf-gptq     | `--format-spec`         | a Hugging Face GPTQ folder (transformers, GPTQModel, vLLM) |
 * | onnx-q4     | int4-g32-asym           | a transformers.js folder: `onnx/model.onnx` + `model_q4.onnx` |
 *
 * `--format-spec` defaults to the recipe's format, else int4-g128-asym; `--sym` turns an
 * asymmetric one symmetric. Data: `--calib-data` is tokenized with the checkpoint's tokenizer;
 * without it the bundled corpus is used for the bundled (byte-level) model only. The output
 * appears only when complete (a temporary sibling, renamed).
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { getCpuOps } from "../lib/ops/backend.ts";
import { loadLlama } from "../lib/model/load.ts";
import { applyRecipe, readRecipe, type Recipe, recipeNeedsCalibration } from "../lib/pipeline/recipes.ts";
import { recipeProvenance } from "../lib/pipeline/writer.ts";
import { resolveModelData } from "../lib/data/resolve.ts";
import { parseFormatId } from "../lib/quant/spec.ts";
import { writeGgufModel } from "../lib/export/gguf_export.ts";
import { ggufTokenizerFromDir } from "../lib/export/gguf_tokenizer.ts";
import { writeGptqCheckpoint } from "../lib/export/hf_gptq.ts";
import { writeOnnxDecoder } from "../lib/export/onnx_decoder.ts";
import { atomicOutput, runCli, UsageError } from "./_cli.ts";
import { DATA_FLAGS, dataOptions } from "./_data_flags.ts";

/** Export targets and the quantization format each needs (`undefined`: the recipe's / `--format-spec`). */
const TARGETS = {
  "gguf-q4_0": { format: "int4-g32-sym", gguf: "Q4_0" },
  "gguf-q4_1": { format: "int4-g32-asym-f16min", gguf: "Q4_1" },
  "gguf-q8_0": { format: "int8-g32-sym", gguf: "Q8_0" },
  "gguf-f16": { format: undefined, gguf: "F16" },
  "hf-gptq": { format: undefined, gguf: undefined },
  "onnx-q4": { format: "int4-g32-asym", gguf: undefined },
} as const;
type Target = keyof typeof TARGETS;

/** `int4-g128-asym` → `int4-g128-sym` (a format without an asymmetry suffix is returned as is). */
function symmetric(format: string): string {
  const sym = format.replace(/-asym(-f16min)?(?=$|-)/, "-sym");
  try {
    parseFormatId(sym);
  } catch (e) {
    throw new UsageError(`--sym: Cannot make "${format}" symmetric: ${(e as Error).message}`);
  }
  return sym;
}

/** The quantization format of a run: fixed by the target, else `--format-spec`, the recipe's or int4-g128-asym. */
function quantFormat(target: Target, recipe: Recipe, formatSpec: string | undefined, sym: boolean): string {
  const fixed = TARGETS[target].format;
  if (fixed !== undefined) {
    if (formatSpec !== undefined && formatSpec !== fixed) {
      throw new UsageError(`--format-spec: ${target} holds exactly ${fixed}, got "${formatSpec}"`);
    }
    return fixed;
  }
  const f = formatSpec ?? recipe.format ?? "int4-g128-asym";
  return sym ? symmetric(f) : f;
}

/** Writes one file atomically: a temporary sibling, renamed when complete. */
async function atomicFile<T>(path: string, write: (tmp: string) => Promise<T>): Promise<T> {
  const parent = dirname(path);
  await Deno.mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${basename(path)}.tmp-${Deno.pid}-${Date.now()}`);
  try {
    const r = await write(tmp);
    await Deno.rename(tmp, path);
    return r;
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Total size of a file or a directory tree, in bytes. */
async function sizeOf(path: string): Promise<number> {
  const info = await Deno.stat(path);
  if (!info.isDirectory) return info.size;
  let n = 0;
  for await (const e of Deno.readDir(path)) n += await sizeOf(join(path, e.name));
  return n;
}

await runCli({
  task: "export",
  summary: "Quantizes a checkpoint with a recipe (in memory) and writes it for llama.cpp (GGUF), transformers/" +
    "GPTQModel/vLLM (Hugging Face GPTQ) or transformers.js (ONNX), holding exactly the weights the recipe produced.",
  flags: {
    model: { type: "path", path: "dir", required: true, help: "checkpoint directory (config.json + safetensors)" },
    recipe: {
      type: "string",
      required: true,
      help: "built-in recipe name or recipe JSON file",
      check: (v) => void readRecipe(String(v)),
    },
    format: {
      type: "enum",
      choices: Object.keys(TARGETS),
      required: true,
      metavar: Object.keys(TARGETS).join("|"),
      help: "target: GGUF Q4_0 (int4-g32-sym), Q4_1 (int4-g32-asym-f16min), Q8_0 (int8-g32-sym), F16; " +
        "hf-gptq; onnx-q4 (int4-g32-asym)",
    },
    out: {
      type: "path",
      path: "out-dir",
      required: true,
      help: "output: a .gguf file for gguf-*, else a directory (written atomically, replaces an existing one)",
    },
    "format-spec": {
      type: "string",
      help: "quantization format of gguf-f16/hf-gptq (default: the recipe's, else int4-g128-asym)",
      check: (v) => void parseFormatId(String(v)),
    },
    sym: { type: "boolean", help: "make the gguf-f16/hf-gptq format symmetric (default: false)" },
    "calib-data": DATA_FLAGS["calib-data"],
    "text-column": DATA_FLAGS["text-column"],
    "calib-sampling": DATA_FLAGS["calib-sampling"],
    calib: { type: "int", min: 1, default: 128, help: "calibration sequences" },
    "seq-len": { type: "int", min: 2, default: 256, help: "tokens per calibration sequence" },
    seed: { type: "int", min: 0, default: 0, help: "calibration sampling seed" },
    backend: { type: "enum", choices: ["ts", "blas"], help: "CPU backend (default: blas when present)" },
  },
}, async (v) => {
  const target = v.format as Target;
  const recipe = readRecipe(v.recipe);
  let format: string;
  try {
    // Checks that combine flags, still before any work: a usage error (exit 2) like runCli's own.
    format = quantFormat(target, recipe, v["format-spec"], v.sym);
    const isGguf = TARGETS[target].gguf !== undefined;
    if (isGguf !== v.out.endsWith(".gguf")) {
      throw new UsageError(`--out: ${target} writes ${isGguf ? "a file ending in .gguf" : "a directory, not a .gguf"}`);
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`export: ${e.message}`);
    Deno.exit(2);
  }
  const ops = getCpuOps(v.backend ? { prefer: v.backend } : {});
  const model = await loadLlama(v.model, { ops });
  const seqLen = v["seq-len"];
  const needCalib = recipeNeedsCalibration(recipe);
  const data = needCalib
    ? await resolveModelData(v.model, model.config, undefined, {
      ...dataOptions({ ...v, "eval-data": undefined }),
      seqLen,
      nSamples: v.calib,
      seed: v.seed,
      need: { calibration: true, evaluation: false },
    })
    : undefined;
  console.error(
    `export: ${v.model} → ${target}: recipe "${recipe.name}" ${format}` +
      (data ? `; calibration ${data.calibDescription}` : ""),
  );
  const r = await applyRecipe(model, recipe, {
    format,
    seqLen,
    ops,
    ...(data?.calibration && { calibration: data.calibration }),
  });
  const gguf = TARGETS[target].gguf;
  if (gguf !== undefined) {
    const tokenizer = await ggufTokenizerFromDir(v.model, model.config.vocabSize);
    await atomicFile(v.out, (tmp) =>
      writeGgufModel(tmp, r.model, {
        type: gguf,
        ...(gguf !== "F16" && { quantized: r.quantized }),
        tokenizer,
        name: `${basename(v.model)} ${recipe.name} ${format}`,
      }));
  } else if (target === "hf-gptq") {
    await atomicOutput(v.out, (dir) =>
      writeGptqCheckpoint(dir, r.model, r.quantized, {
        sourceDir: v.model,
        provenance: recipeProvenance(recipe),
        metadata: { "quantlab_recipe": JSON.stringify(recipe), "quantlab_format": format },
        overwrite: true,
      }));
  } else {
    await atomicOutput(
      v.out,
      (dir) => writeOnnxDecoder(dir, r.model, { quantized: r.quantized, sourceDir: v.model, overwrite: true }),
    );
  }
  const row = {
    target,
    recipe: recipe.name,
    format: r.format,
    bitsPerWeight: r.bitsPerWeight,
    quantSeconds: r.seconds,
    out: v.out,
    bytes: await sizeOf(v.out),
  };
  console.error(`export: quantized in ${r.seconds.toFixed(1)} s; wrote ${v.out} (${row.bytes} bytes)`);
  console.log(JSON.stringify(row));
});
