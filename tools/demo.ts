// SPDX-License-Identifier: MIT
/**
 * `deno task demo`: the bundled model at full precision, then round-to-nearest at
 * W8/W4/W3, per channel and in groups of 128, and GPTQ at W4/W3 g128 (on OpenBLAS or a GPU;
 * `deno task table` runs the whole grid), as a results table on stdout.
 *
 * Usage: deno task demo [--windows N|all] [--backend ts|blas|webgpu] [--formats int4-g128-asym,...]
 * (`--help` lists every flag)
 *
 * Evaluation uses the papers' perplexity protocol on the test split (non-overlapping windows
 * of 256 tokens). By default a fixed prefix of the windows is evaluated so that the demo
 * finishes in about a minute even without OpenBLAS; the table says how many.
 */
import { getBackend } from "../kernels/backend.ts";
import type { BackendName } from "../lib/ops/ops.ts";
import { BUNDLED_MODEL_DIR, loadLlama } from "../lib/model/load.ts";
import { loadSplit } from "../lib/calib/corpus.ts";
import { evaluateLm } from "../lib/eval/perplexity.ts";
import { modelBitsPerWeight, quantizeModelWeights } from "../lib/pipeline/quantize_model.ts";
import { ResultsTable } from "../lib/eval/results.ts";
import { bitsPerWeight, formatId, type IntSpec, parseFormatId } from "../lib/quant/spec.ts";
import { runCli } from "./_cli.ts";
import { quantizeRtn } from "../lib/quant/rtn.ts";
import { applyRecipe, getRecipe } from "../lib/pipeline/recipes.ts";
import { calibrationSamples } from "../lib/calib/corpus.ts";

/** Windows evaluated by default per backend (ts is ~20× slower than OpenBLAS here). */
const DEFAULT_WINDOWS = { ts: 12, blas: 64 } as const;
const SEQ_LEN = 256;

const RTN_FORMATS = [
  "int8-ch-asym",
  "int8-g128-asym",
  "int4-ch-asym",
  "int4-g128-asym",
  "int3-ch-asym",
  "int3-g128-asym",
];
const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);

await runCli({
  task: "demo",
  summary: "Full-precision, RTN and GPTQ perplexity of the bundled model on the test split, as a results table.",
  flags: {
    windows: {
      type: "int",
      min: 1,
      words: ["all"],
      help:
        `evaluation windows of ${SEQ_LEN} tokens (default: ${DEFAULT_WINDOWS.ts} on ts, ${DEFAULT_WINDOWS.blas} otherwise)`,
    },
    backend: { type: "enum", choices: ["ts", "blas", "webgpu"], help: "backend (default: the fastest present)" },
    formats: {
      type: "string",
      default: RTN_FORMATS.join(","),
      help: "comma-separated RTN format ids",
      check: (v) => list(String(v)).forEach((f) => parseFormatId(f)),
    },
  },
}, async (v) => {
  const prefer = v.backend as BackendName | undefined;
  const ops = await getBackend(prefer ? { prefer } : {});
  const t0 = performance.now();
  const model = await loadLlama(BUNDLED_MODEL_DIR, { ops });
  const test = await loadSplit("test");
  const total = Math.floor(test.length / SEQ_LEN);
  const windows = v.windows === "all"
    ? total
    : Math.min(total, v.windows ?? DEFAULT_WINDOWS[ops.name === "ts" ? "ts" : "blas"]);
  console.log(`quantlab demo: ${model.source}`);
  console.log(
    `backend ${ops.name} (${ops.info}); test split ${test.length} bytes = ${total} windows of ${SEQ_LEN}; evaluating the first ${windows}${
      windows < total ? " (pass --windows all for the full split)" : ""
    }\n`,
  );

  const base = { model: "sotu-llama-d256-l4", split: "test", seqLen: SEQ_LEN, calibration: "none" };
  const table = new ResultsTable("RTN (min-max, asymmetric) and GPTQ on the bundled model");
  const fp = await evaluateLm(model, test, { seqLen: SEQ_LEN, maxWindows: windows });
  table.add({
    ...base,
    recipe: "FP",
    format: "fp32",
    bitsPerWeight: 32,
    perplexity: fp.perplexity,
    bitsPerToken: fp.bitsPerToken,
    windows: fp.windows,
  });
  console.log(`FP32 perplexity ${fp.perplexity.toFixed(4)} (${fp.seconds.toFixed(1)} s)`);

  for (const id of list(v.formats)) {
    {
      const spec: IntSpec = parseFormatId(id);
      const q0 = performance.now();
      const { model: qModel } = await quantizeModelWeights(
        model,
        async (_name, W) => (await quantizeRtn(W, spec, { ops })).weight,
      );
      const quantSeconds = (performance.now() - q0) / 1000;
      const r = await evaluateLm(qModel, test, { seqLen: SEQ_LEN, maxWindows: windows, reference: model });
      table.add({
        ...base,
        recipe: "RTN",
        format: formatId(spec),
        bitsPerWeight: modelBitsPerWeight(model, (cols, rows) => bitsPerWeight(spec, cols, rows)),
        perplexity: r.perplexity,
        bitsPerToken: r.bitsPerToken,
        kl: r.kl!,
        top1Agreement: r.top1Agreement!,
        quantSeconds,
        windows: r.windows,
      });
      console.log(`${formatId(spec).padEnd(16)} perplexity ${r.perplexity.toFixed(4)} (${r.seconds.toFixed(1)} s)`);
    }
  }
  // GPTQ rows: calibration 32×256 train tokens. On plain TypeScript the Hessians and the sweep
  // would push the demo past a few minutes, so they are left to `deno task table` there.
  if (ops.name !== "ts") {
    const calibration = calibrationSamples(await loadSplit("train"), { nSamples: 32, seqLen: SEQ_LEN, seed: 0 });
    for (const format of ["int4-g128-asym", "int3-g128-asym"]) {
      const q = await applyRecipe(model, getRecipe("GPTQ"), { format, calibration, seqLen: SEQ_LEN, ops });
      const r = await evaluateLm(q.model, test, { seqLen: SEQ_LEN, maxWindows: windows, reference: model });
      table.add({
        ...base,
        calibration: "train 32×256 seed 0",
        recipe: "GPTQ",
        format,
        bitsPerWeight: q.bitsPerWeight,
        perplexity: r.perplexity,
        bitsPerToken: r.bitsPerToken,
        kl: r.kl!,
        top1Agreement: r.top1Agreement!,
        quantSeconds: q.seconds,
        windows: r.windows,
      });
      console.log(`GPTQ ${format.padEnd(11)} perplexity ${r.perplexity.toFixed(4)} (${r.seconds.toFixed(1)} s)`);
    }
  } else {
    console.log("GPTQ rows skipped on the ts backend (install libopenblas0, or run `deno task table`)");
  }
  console.log(`\n${table.toMarkdown()}\n\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});
