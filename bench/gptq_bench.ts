// SPDX-License-Identifier: MIT
/**
 * GPTQ seconds per layer (int4, groups of 128, lazy blocks of 128; Hinv factorization
 * included), ts vs blas, on the bundled model's linear shapes (`[out, in]`: 256×256 q/k/v/o,
 * 768×256 gate/up, 256×768 down) and a synthetic 4096×4096; optionally the PyTorch reference
 * (`bench/gptq_torch.py`, a faithful port of IST-DASLab `fasterquant`, Debian python3-torch, 2 threads; bench/peers_bench.ts has the paired, equal-thread ratios) on the same
 * machine, and whole-model GPTQ time on the bundled model.
 *
 * Usage: `deno run -A bench/gptq_bench.ts [--full] [--torch] [--model]`:
 * `--full` adds ts at 4096×4096 (minutes); `--torch` adds the PyTorch rows; `--model` times
 * sequential GPTQ W4 g128 over the whole bundled model (32×256 calibration tokens).
 * `runGptqBench()` returns the rows for an aggregate `deno task bench`.
 *
 * @module
 */
import { gptq } from "../lib/reconstruct/gptq.ts";
import { loadBlasOps } from "../lib/ops/blas/mod.ts";
import type { Ops } from "../lib/ops/ops.ts";
import { tsOps } from "../lib/ops/ts/mod.ts";
import { Rng } from "../lib/tensor/random.ts";
import { Tensor } from "../lib/tensor/tensor.ts";
import type { BenchRow } from "./ops_bench.ts";

export type { BenchRow };

/** Options of {@link runGptqBench}. */
export interface GptqBenchOptions {
  /** Include ts at 4096×4096 (slow). */
  full?: boolean;
  /** Include PyTorch reference rows (needs /usr/bin/python3 with torch). */
  torch?: boolean;
  /** Include whole-model GPTQ on the bundled model (needs the checkpoint). */
  model?: boolean;
}

const SPEC = { format: "int", bits: 4, groupSize: 128, symmetric: false } as const;

function randn(shape: number[], seed: number, std = 1): Tensor<"f32"> {
  const rng = new Rng(seed);
  const t = new Tensor("f32", shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * std;
  return t;
}

/** H = 2XᵀX/N from N = max(2n, 512) Gaussian tokens, on the fastest backend at hand. */
async function hessian(n: number, ops: Ops): Promise<Tensor<"f64">> {
  const N = Math.max(2 * n, 512);
  const H = new Tensor("f64", [n, n]);
  await ops.accumulateHessian(H, randn([N, n], n), 2 / N);
  return H;
}

async function medianSeconds(fn: () => Promise<unknown>, reps: number): Promise<number> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t.push((performance.now() - t0) / 1000);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)] as number;
}

/** GPTQ timings as bench rows `{ backend, op, size, value, unit }`. */
export async function runGptqBench(options: GptqBenchOptions = {}): Promise<BenchRow[]> {
  const blas = loadBlasOps();
  const rows: BenchRow[] = [];
  const sizes: [number, number][] = [[256, 256], [768, 256], [256, 768], [4096, 4096]];
  const backends: Ops[] = blas ? [tsOps, blas] : [tsOps];
  for (const [r, c] of sizes) {
    const W = randn([r, c], r + c, 0.05);
    const H = await hessian(c, blas ?? tsOps);
    for (const ops of backends) {
      const big = r * c > 1e6;
      if (big && ops.name === "ts" && !options.full) continue;
      const s = await medianSeconds(() => gptq(W, H, { spec: SPEC, ops }), big ? 1 : 3);
      rows.push({ backend: ops.name, op: "gptq int4 g128 (s/layer)", size: `${r}×${c}`, value: s, unit: "s" });
    }
  }
  if (options.torch) rows.push(...(await torchRows(sizes)));
  if (options.model) rows.push(...(await modelRows(blas ?? tsOps)));
  return rows;
}

async function torchRows(sizes: [number, number][]): Promise<BenchRow[]> {
  const cmd = new Deno.Command("/usr/bin/python3", {
    args: [new URL("./gptq_torch.py", import.meta.url).pathname, ...sizes.map(([r, c]) => `${r}x${c}`)],
    env: { OMP_NUM_THREADS: "2", GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" },
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  if (!out.success) throw new Error(`gptq_torch.py failed: ${new TextDecoder().decode(out.stderr).slice(-500)}`);
  return new TextDecoder().decode(out.stdout).trim().split("\n").map((line) => {
    const j = JSON.parse(line) as { size: string; seconds: number };
    return {
      backend: "torch",
      op: "gptq int4 g128 (s/layer)",
      size: j.size.replace("x", "×"),
      value: j.seconds,
      unit: "s",
    };
  });
}

async function modelRows(ops: Ops): Promise<BenchRow[]> {
  const { loadLlama, BUNDLED_MODEL_DIR } = await import("../lib/model/load.ts");
  const { loadSplit, calibrationSamples } = await import("../lib/calib/corpus.ts");
  const { applyRecipe, getRecipe } = await import("../lib/pipeline/recipes.ts");
  const model = await loadLlama(BUNDLED_MODEL_DIR, { ops });
  const calibration = calibrationSamples(await loadSplit("train"), { nSamples: 32, seqLen: 256, seed: 0 });
  const r = await applyRecipe(model, getRecipe("GPTQ"), { format: "int4-g128-asym", calibration, seqLen: 256, ops });
  return [{
    backend: ops.name,
    op: "whole-model GPTQ W4 g128, 32×256 calib (s)",
    size: "d256 l4",
    value: r.seconds,
    unit: "s",
  }];
}

if (import.meta.main) {
  const rows = await runGptqBench({
    full: Deno.args.includes("--full"),
    torch: Deno.args.includes("--torch"),
    model: Deno.args.includes("--model"),
  });
  console.log("| backend | op | size | value | unit |\n|---|---|---|---:|---|");
  for (const r of rows) console.log(`| ${r.backend} | ${r.op} | ${r.size} | ${r.value.toPrecision(4)} | ${r.unit} |`);
}
