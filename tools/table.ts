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
 *   [--model DIR --calib-data FILE --eval-data FILE] (`--help` lists every flag)
 *
 * Defaults keep the run short on a 2-core machine: the first 32 test windows of 256 tokens
 * (8,192 tokens; `--windows all` evaluates the whole split, ~3,700 windows) and a calibration
 * set of 32 train sequences × 256 tokens (seed 0; the papers use 128). Every row records both.
 * KL is computed against compact top-k statistics of the FP pass (a lower bound; the results
 * record the tail mass); `--exact-kl` re-runs the FP model per window instead.
 *
 * @module
 */
import { getCpuOps } from "../lib/ops/backend.ts";
import { BUNDLED_MODEL_DIR, loadLlama } from "../lib/model/load.ts";
import { loadTokenizer } from "../lib/model/tokenizer.ts";
import { resolveModelData } from "../lib/data/resolve.ts";
import { applyRecipe, BUILTIN_RECIPES, getRecipe } from "../lib/pipeline/recipes.ts";
import { ResultsTable } from "../lib/eval/results.ts";
import { parseFormatId } from "../lib/quant/spec.ts";
import { figuresPageHtml } from "../lib/viz/mod.ts";
import { metricVsBits } from "./_table_figures.ts";
import { drawProgress, Evaluator, progressLine, resultRow } from "./_recipe_eval.ts";
import { atomicOutput, runCli } from "./_cli.ts";
import { DATA_FLAGS, dataOptions } from "./_data_flags.ts";

/** The table's columns. */
export const TABLE_FORMATS = ["int4-g128-asym", "int3-g128-asym", "int4-ch-asym", "int3-ch-asym", "int2-g64-asym"];

const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);

if (import.meta.main) {
  await runCli({
    task: "table",
    summary: "The paper-style results table (recipes × formats) of a model → Arrow IPC, markdown and HTML in --out.",
    flags: {
      model: { type: "path", path: "dir", default: BUNDLED_MODEL_DIR, help: "checkpoint directory" },
      windows: { type: "int", min: 1, words: ["all"], default: 32, help: "evaluation windows" },
      calib: { type: "int", min: 1, default: 32, help: "calibration sequences" },
      "seq-len": { type: "int", min: 2, default: 256, help: "tokens per window (calibration and evaluation)" },
      seed: { type: "int", default: 0, help: "calibration sampling seed" },
      recipes: {
        type: "string",
        default: BUILTIN_RECIPES.map((r) => r.name).join(","),
        help: "comma-separated recipe names",
        check: (v) => list(String(v)).forEach((n) => getRecipe(n)),
      },
      formats: {
        type: "string",
        default: TABLE_FORMATS.join(","),
        help: "comma-separated format ids",
        check: (v) => list(String(v)).forEach((f) => parseFormatId(f)),
      },
      split: { type: "enum", choices: ["test", "validation"], default: "test", help: "bundled evaluation split" },
      out: { type: "path", path: "out-dir", default: "build/table", help: "output directory (replaced atomically)" },
      backend: { type: "enum", choices: ["ts", "blas"], help: "CPU backend (default: blas when installed)" },
      "exact-kl": { type: "boolean", help: "re-run the FP model per window for exact KL (default: top-k stats)" },
      "top-k": { type: "int", min: 1, default: 32, help: "FP ids kept per token for KL" },
      ...DATA_FLAGS,
    },
  }, async (v) => {
    const ops = getCpuOps(v.backend ? { prefer: v.backend } : {});
    const seqLen = v["seq-len"], nCalib = v.calib;
    const windows = v.windows === "all" ? undefined : v.windows;
    const recipes = list(v.recipes).map((n) => getRecipe(n));
    const formats = list(v.formats);
    const t0 = performance.now();
    const model = await loadLlama(v.model, { ops });
    const name = v.model.split("/").filter(Boolean).at(-1) ?? v.model;
    const data = await resolveModelData(v.model, model.config, await loadTokenizer(v.model), {
      ...dataOptions(v),
      nSamples: nCalib,
      seqLen,
      seed: v.seed,
      evalSplit: v.split,
    });
    const calibration = data.calibration!, split = data.evalDescription, calibText = data.calibDescription;
    const ev = await Evaluator.create(model, data.evaluation!, seqLen, windows, {
      exactKl: v["exact-kl"],
      topK: v["top-k"],
      onWindow: (done, total) => drawProgress(progressLine("evaluate".padEnd(32), { done, total, stage: "window" })),
    });
    const fp = await ev.evaluateFp();
    console.error(
      `\rquantlab table: ${name}, backend ${ops.name}; ${split} windows ${fp.windows}/${fp.totalWindows}; calibration ${calibText}`,
    );
    const table = new ResultsTable(
      `Weight-only PTQ of ${name}: perplexity (${split}, ${fp.windows} of ${fp.totalWindows} windows of ${seqLen}), KL(FP ‖ Q) in nats/token`,
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
      seqLen,
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
            seqLen,
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
    const md = table.toMarkdown();
    await atomicOutput(v.out, async (dir) => {
      await table.save(`${dir}/results.arrow`);
      await Deno.writeTextFile(`${dir}/results.md`, md + "\n");
      const page = figuresPageHtml(
        [metricVsBits(table.rows, "perplexity"), metricVsBits(table.rows, "kl")],
        "quantlab results table",
      );
      await Deno.writeTextFile(`${dir}/results.html`, page.replace("<body>", `<body>\n${table.toHtml()}\n`));
    });
    console.log(md);
    if (failures.length) console.log(`\nFailed cells:\n${failures.map((f) => `- ${f}`).join("\n")}`);
    console.log(`\nTotal ${((performance.now() - t0) / 1000).toFixed(1)} s; wrote ${v.out}/results.{arrow,md,html}`);
  });
}
