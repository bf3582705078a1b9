// SPDX-License-Identifier: MIT
/**
 * `deno task quantize`: quantize a model headless with a recipe and export it.
 *
 * Usage: deno task quantize --model <dir> --recipe <name|file.json> --out <dir>
 *   [--format int4-g128-asym] [--calib 128] [--seq-len 256] [--seed 0] [--windows 64|all]
 *   [--backend ts|blas]
 *
 * Writes to `--out`:
 * - `fake_quant/` — `config.json` + `model.safetensors` with the dequantized weights in the
 *   full-precision layout (any Hugging Face–style tool loads it);
 * - `gptq/` — the packed GPTQ layout (`qweight`/`qzeros`/`scales`/`g_idx`,
 *   `quantization_config` in `config.json`), for integer recipes without per-column scales;
 * - `result.json` — the results row (perplexity, KL, bits per weight, time, protocol).
 *
 * Recipes whose transforms add online forward steps (Hadamard with R4) cannot be expressed in
 * the plain layouts; they are exported with `--allow-online` only, with a warning in the metadata.
 *
 * @module
 */
import { getCpuOps } from "../lib/ops/backend.ts";
import { loadLlama } from "../lib/model/load.ts";
import { writeFakeQuantCheckpoint, writeGptqCheckpoint } from "../lib/model/export_gptq.ts";
import { applyRecipe, getRecipe, type Recipe } from "../lib/eval/recipes.ts";
import type { IntQuantized } from "../lib/quant/quantized_tensor.ts";
import { HookedLlamaModel } from "../lib/rotate/hooked_model.ts";
import { calibrationIds, drawProgress, Evaluator, flag, progressLine, resultRow } from "./_recipe_eval.ts";

const usage = "usage: deno task quantize --model <dir> --recipe <name|file.json> --out <dir> [--format int4-g128-asym]";
const modelDir = flag("model"), recipeArg = flag("recipe"), out = flag("out");
if (!modelDir || !recipeArg || !out) {
  console.error(usage);
  Deno.exit(2);
}
let recipe: Recipe;
try {
  recipe = getRecipe(recipeArg.endsWith(".json") ? await Deno.readTextFile(recipeArg) : recipeArg);
} catch (e) {
  console.error(`quantize: ${(e as Error).message}`);
  Deno.exit(2);
}
const format = flag("format") ?? recipe.format ?? "int4-g128-asym";
const seqLen = Number(flag("seq-len") ?? 256);
const nCalib = Number(flag("calib") ?? 128);
const seed = Number(flag("seed") ?? 0);
const w = flag("windows") ?? "64";
const prefer = flag("backend") as "ts" | "blas" | undefined;
const ops = getCpuOps(prefer ? { prefer } : {});

const model = await loadLlama(modelDir, { ops, onProgress: (d, t) => drawProgress(`load    [${d}/${t}]`) });
console.error();
const calibration = await calibrationIds(nCalib, seqLen, seed);
const result = await applyRecipe(model, recipe, {
  format,
  calibration,
  seqLen,
  ops,
  onProgress: (p) => drawProgress(progressLine(recipe.name, p)),
});
console.error(
  `\n${recipe.name} ${result.format}: ${result.bitsPerWeight.toFixed(3)} bits/weight in ${result.seconds.toFixed(1)} s`,
);

const online = result.model instanceof HookedLlamaModel;
if (online && !Deno.args.includes("--allow-online")) {
  console.error(
    `quantize: recipe "${recipe.name}" adds online forward steps (${
      recipe.transforms?.map((t) => t.kind).join(", ")
    }): ` +
      `a plain checkpoint cannot hold them; pass --allow-online to export anyway`,
  );
  Deno.exit(1);
}
const metadata = {
  "quantlab_recipe": JSON.stringify(recipe),
  "quantlab_format": result.format,
  ...(online && { "quantlab_warning": "needs online rotation steps" }),
};
await writeFakeQuantCheckpoint(`${out}/fake_quant`, result.model, metadata);
let gptqNote = "written";
try {
  await writeGptqCheckpoint(`${out}/gptq`, result.model, result.quantized as Map<string, IntQuantized>, {
    staticGroups: recipe.reconstruction.kind === "gptq" && recipe.reconstruction.staticGroups === true,
    metadata,
  });
} catch (e) {
  gptqNote = `skipped: ${(e as Error).message}`;
}
console.error(`exported ${out}/fake_quant; gptq layout ${gptqNote}`);

const ev = await Evaluator.create(model, "test", seqLen, w === "all" ? undefined : Number(w));
const e = await ev.evaluate(result.model);
const row = resultRow(result, e, {
  model: modelDir.split("/").filter(Boolean).at(-1) ?? modelDir,
  split: "test",
  calibration: `train ${nCalib}×${seqLen} seed ${seed}`,
});
await Deno.writeTextFile(`${out}/result.json`, JSON.stringify(row, null, 2) + "\n");
console.log(JSON.stringify(row));
