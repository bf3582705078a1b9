// SPDX-License-Identifier: MIT
/**
 * Calibration and whole-model RTN timings on the bundled model (a random model of the same
 * shape — d=256, 4 layers, ffn 768, vocab 256 — until the checkpoint exists; the `size`
 * column says which):
 * - time to calibrate: Hessians `H = 2XᵀX/N` for every decoder linear from 128 × 256 train
 *   tokens (`collectHessians`, batches of 8 sequences, shared q/k/v and gate/up inputs);
 * - time for RTN with the MSE clipping search (grid 100, shrink 0.8, GPTQ's) over all 28
 *   linears at int4-g128-asym, and with min-max for comparison.
 *
 * Each quantity is measured once per backend (they take seconds, not microseconds).
 * Usage: `deno run -A bench/calib_bench.ts [--quick] [--ts]` prints a table; `--quick` uses
 * 32 × 256 calibration tokens; `--ts` adds the plain-TypeScript backend (slow: minutes).
 * `runCalibBench()` returns the rows as data.
 *
 * `deno run -A bench/calib_bench.ts --formats [--windows N]` instead prints the formats × bits
 * table: min-max RTN (and MSE-clipped RTN at ≤ 4 bits) over all 28 linears, perplexity on the
 * first N (default 64) test windows of 256 bytes and stored bits per weight ({@link formatsTable}).
 *
 * @module
 */
import { benchModel, type BenchRow } from "./_util.ts";
import { loadBlasOps } from "../lib/ops/blas/mod.ts";
import type { Ops } from "../lib/ops/ops.ts";
import { tsOps } from "../lib/ops/ts/mod.ts";
import { calibrationSamples, loadSplit } from "../lib/calib/corpus.ts";
import { collectHessians } from "../lib/calib/capture.ts";
import { rtnModel } from "../lib/pipeline/rtn_model.ts";
import { parseQuantSpec } from "../lib/quant/spec.ts";
import { evaluateLm } from "../lib/eval/perplexity.ts";
import { ResultsTable } from "../lib/eval/results.ts";

/** Options of {@link runCalibBench}. */
export interface CalibBenchOptions {
  /** 32 × 256 calibration tokens instead of 128 × 256 (default false). */
  quick?: boolean;
  /** Backends to time (default: blas when it loads, else ts). */
  backends?: Ops[];
}

async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/**
 * Times calibration (Hessians of every linear) and whole-model RTN with MSE search.
 *
 * @param options `quick`, `backends`
 * @returns one row per (backend, quantity)
 */
export async function runCalibBench(options: CalibBenchOptions = {}): Promise<BenchRow[]> {
  const nSamples = options.quick ? 32 : 128, seqLen = 256;
  const ids = calibrationSamples(await loadSplit("train"), { nSamples, seqLen, seed: 0 });
  const backends = options.backends ?? [loadBlasOps() ?? tsOps];
  const rows: BenchRow[] = [];
  for (const ops of backends) {
    const { model, label } = await benchModel(ops);
    const tokens = `${label}, ${nSamples}×${seqLen} tokens`;
    const cal = await seconds(() => collectHessians(model, ids, seqLen, { batchSize: 8 }));
    rows.push({ backend: ops.name, op: "calibrate: Hessians of all 28 linears", size: tokens, value: cal, unit: "s" });
    const spec = parseQuantSpec("int4-g128-asym");
    const mse = await seconds(() => rtnModel(model, spec, { observer: "mse" }));
    rows.push({
      backend: ops.name,
      op: "RTN + MSE clip search, whole model",
      size: `${label}, int4-g128-asym`,
      value: mse,
      unit: "s",
    });
    const mm = await seconds(() => rtnModel(model, spec, { observer: "minmax" }));
    rows.push({
      backend: ops.name,
      op: "RTN min-max, whole model",
      size: `${label}, int4-g128-asym`,
      value: mm,
      unit: "s",
    });
  }
  return rows;
}

/** Formats of {@link formatsTable}, from 8 down to 2 bits. */
export const TABLE_FORMATS: readonly string[] = [
  "int8-ch-sym",
  "fp8-e4m3-ch",
  "fp8-e5m2-ch",
  "mxfp8-e4m3",
  "mxint8",
  "int6-g128-asym",
  "fp6-e3m2-g128",
  "fp6-e2m3-g128",
  "mxfp6-e2m3",
  "int4-g128-asym",
  "int4-ch-asym",
  "fp4-e2m1-g128",
  "nf4-g128",
  "mxfp4-e2m1",
  "int3-g128-asym",
  "nf3-g128",
  "int2-g64-asym",
];

/**
 * Formats × bits on the bundled model: RTN min-max for every format in {@link TABLE_FORMATS},
 * plus RTN with the MSE clip search for integer formats of ≤ 4 bits.
 *
 * @param options `windows` of the test split (default 64), `ops` (default blas, else ts)
 */
export async function formatsTable(options: { windows?: number; ops?: Ops } = {}): Promise<ResultsTable> {
  const ops = options.ops ?? loadBlasOps() ?? tsOps;
  const { model, label } = await benchModel(ops);
  const test = await loadSplit("test");
  const evalOptions = { seqLen: 256, maxWindows: options.windows ?? 64 };
  const table = new ResultsTable(`RTN over all 28 linears of ${label}; test split`);
  const base = { model: label, split: "test", seqLen: 256, calibration: "none" };
  const fp = await evaluateLm(model, test, evalOptions);
  table.add({
    ...base,
    recipe: "FP",
    format: "fp32",
    bitsPerWeight: 32,
    perplexity: fp.perplexity,
    bitsPerToken: fp.bitsPerToken,
    windows: fp.windows,
  });
  for (const id of TABLE_FORMATS) {
    const spec = parseQuantSpec(id);
    const observers = spec.format === "int" && spec.bits <= 4 ? (["minmax", "mse"] as const) : (["minmax"] as const);
    for (const observer of observers) {
      const r = await rtnModel(model, spec, { ops, observer });
      const ev = await evaluateLm(r.model, test, { ...evalOptions, reference: model });
      table.add({
        ...base,
        recipe: observer === "mse" ? "RTN+MSE" : "RTN",
        format: id,
        bitsPerWeight: r.bitsPerWeight,
        perplexity: ev.perplexity,
        bitsPerToken: ev.bitsPerToken,
        kl: ev.kl!,
        top1Agreement: ev.top1Agreement!,
        quantSeconds: r.seconds,
        windows: ev.windows,
      });
    }
  }
  return table;
}

if (import.meta.main && Deno.args.includes("--formats")) {
  const w = Deno.args.indexOf("--windows");
  const table = await formatsTable(w >= 0 ? { windows: Number(Deno.args[w + 1]) } : {});
  console.log(table.toMarkdown());
} else if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const blas = loadBlasOps();
  const backends: Ops[] = [...(blas ? [blas] : []), ...(Deno.args.includes("--ts") || !blas ? [tsOps] : [])];
  const rows = await runCalibBench({ quick, backends });
  console.log("| backend | op | size | value | unit |\n|---|---|---|---:|---|");
  for (const r of rows) console.log(`| ${r.backend} | ${r.op} | ${r.size} | ${r.value.toFixed(2)} | ${r.unit} |`);
}

export type { BenchRow };
