// SPDX-License-Identifier: MIT
/**
 * `deno task table`: the paper-style results table on the bundled model — recipes (FP, RTN,
 * RTN+MSE clip, SINQ, NeUQI, AWQ, GPTQ, GPTQ+act-order, Hadamard+RTN, Hadamard+GPTQ,
 * GPTQ+QEP, GPTQ+LoRC, AdaRound, learned clipping) × formats (W4 g128, W3 g128, W4
 * per-channel, W3 per-channel, W2 g64), with perplexity, KL to full precision, top-1
 * agreement, bits per weight and quantization time. Writes `results.arrow` (Arrow IPC),
 * `results.md` and `results.html` (the table plus perplexity-vs-bits plots) to `--out`.
 *
 * Usage: deno task table [--windows N|all] [--calib N] [--recipes "RTN,GPTQ"] [--formats
 *   "int4-g128-asym,..."] [--split test|validation] [--out build/table] [--backend ts|blas]
 *
 * Defaults keep the run short on a 2-core machine: the first 32 test windows of 256 tokens
 * (8,192 tokens; `--windows all` evaluates the whole split, ~3,700 windows) and a calibration
 * set of 32 train sequences × 256 tokens (seed 0; the papers use 128). Every row records both.
 *
 * @module
 */
import { getCpuOps } from "../lib/ops/backend.ts";
import { BUNDLED_MODEL_DIR, loadLlama } from "../lib/model/load.ts";
import { applyRecipe, BUILTIN_RECIPES, getRecipe } from "../lib/eval/recipes.ts";
import { ResultsTable } from "../lib/eval/results.ts";
import { figuresPageHtml } from "../lib/viz/mod.ts";
import { metricVsBits } from "./_table_figures.ts";
import { calibrationIds, drawProgress, Evaluator, flag, progressLine, resultRow } from "./_recipe_eval.ts";

/** The table's columns. */
export const TABLE_FORMATS = ["int4-g128-asym", "int3-g128-asym", "int4-ch-asym", "int3-ch-asym", "int2-g64-asym"];
const SEQ_LEN = 256;

const prefer = flag("backend") as "ts" | "blas" | undefined;
const ops = getCpuOps(prefer ? { prefer } : {});
const w = flag("windows") ?? "32";
const windows = w === "all" ? undefined : Number(w);
const nCalib = Number(flag("calib") ?? 32);
const split = (flag("split") ?? "test") as "test" | "validation";
const out = flag("out") ?? "build/table";
const recipes = flag("recipes")?.split(",").map((n) => getRecipe(n.trim())) ?? BUILTIN_RECIPES;
const formats = flag("formats")?.split(",").map((f) => f.trim()) ?? TABLE_FORMATS;
const modelDir = flag("model") ?? BUNDLED_MODEL_DIR;

const t0 = performance.now();
const model = await loadLlama(modelDir, { ops });
const name = modelDir.split("/").filter(Boolean).at(-1) ?? modelDir;
const calibration = await calibrationIds(nCalib, SEQ_LEN, 0);
const calibText = `train ${nCalib}×${SEQ_LEN} seed 0`;
const ev = await Evaluator.create(model, split, SEQ_LEN, windows);
const fp = await ev.evaluateFp();
console.error(
  `quantlab table: ${name}, backend ${ops.name}; ${split} windows ${fp.windows}/${fp.totalWindows}; calibration ${calibText}`,
);
const table = new ResultsTable(
  `Weight-only PTQ of ${name}: perplexity (${split}, ${fp.windows} of ${fp.totalWindows} windows of ${SEQ_LEN}), KL(FP ‖ Q) in nats/token`,
);
const meta = { model: name, split, calibration: calibText };
table.add({
  recipe: "FP",
  format: "fp32",
  bitsPerWeight: 32,
  perplexity: fp.perplexity,
  bitsPerToken: fp.bitsPerToken,
  model: name,
  split,
  seqLen: SEQ_LEN,
  windows: fp.windows,
  calibration: "none",
});
const failures: string[] = [];
for (const recipe of recipes) {
  for (const format of formats) {
    const label = `${recipe.name} ${format}`.padEnd(32);
    try {
      const r = await applyRecipe(model, recipe, {
        format,
        calibration,
        seqLen: SEQ_LEN,
        ops,
        onProgress: (p) => drawProgress(progressLine(label, p)),
      });
      const e = await ev.evaluate(r.model);
      table.add(resultRow(r, e, meta));
      drawProgress(`${label} ppl ${e.perplexity.toFixed(3)}  KL ${e.kl?.toFixed(4)}  ${r.seconds.toFixed(1)} s`);
      console.error();
    } catch (err) {
      failures.push(`${recipe.name} ${format}: ${(err as Error).message}`);
      drawProgress(`${label} FAILED: ${(err as Error).message}`);
      console.error();
    }
  }
}
await Deno.mkdir(out, { recursive: true });
await table.save(`${out}/results.arrow`);
const md = table.toMarkdown();
await Deno.writeTextFile(`${out}/results.md`, md + "\n");
const page = figuresPageHtml(
  [metricVsBits(table.rows, "perplexity"), metricVsBits(table.rows, "kl")],
  "quantlab results table",
);
await Deno.writeTextFile(`${out}/results.html`, page.replace("<body>", `<body>\n${table.toHtml()}\n`));
console.log(md);
if (failures.length) console.log(`\nFailed cells:\n${failures.map((f) => `- ${f}`).join("\n")}`);
console.log(`\nTotal ${((performance.now() - t0) / 1000).toFixed(1)} s; wrote ${out}/results.{arrow,md,html}`);
