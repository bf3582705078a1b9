// SPDX-License-Identifier: MIT
/**
 * Forward pass of the bundled model (`data/models/sotu-llama-d256-l4`), 8 sequences × 256 tokens,
 * quantlab's blas backend against its peers on the same machine, in the same run:
 * - onnxruntime-node running the shipped `model.onnx` (`intraOpNumThreads` = quantlab's OpenBLAS
 *   threads, `interOpNumThreads` 1);
 * - PyTorch (`bench/model_peers.py`, Debian's /usr/bin/python3, an independent torch forward of the
 *   same safetensors weights, `torch.set_num_threads` equal).
 * At threads = 1 and 2 (OpenBLAS `openblas_set_num_threads` here), each figure is measured as
 * interleaved triples — onnxruntime, quantlab, torch, … — so load from other processes hits every
 * side alike; a ratio is `peer time / quantlab time` per triple (above 1: quantlab faster), and a
 * row reports the median. The 1-minute load average before and after is reported too: the
 * development machine is shared, and a figure taken under load says so.
 *
 * Also: the ts backend's tokens/s (one sequence, it is the specification, not a fast path),
 * onnxruntime-web (wasm, 1 thread), the agreement of the logits (max |Δ| against onnxruntime),
 * peak RSS, and with `--full` the time to evaluate the whole test split.
 *
 * Run: deno run -A bench/model_bench.ts [--full] [--threads 1,2] [--pairs N]
 *
 * @module
 */
import type { BenchRow } from "./_util.ts";
import * as ortNode from "onnxruntime-node";
import { PythonPeer } from "./_python_peer.ts";
import { BUNDLED_MODEL_DIR, loadLlama } from "../lib/model/load.ts";
import { tsOps } from "../lib/ops/ts/mod.ts";
import { loadBlasOps } from "../lib/ops/blas/mod.ts";
import { loadSplit } from "../lib/calib/corpus.ts";
import { evaluateLm } from "../lib/eval/perplexity.ts";
import { openOnnxLm } from "../lib/eval/onnx_lm.ts";

const SEQ_LEN = 256;
const BATCH = 8;

/** Options of {@link runModelBench}. */
export interface ModelBenchOptions {
  /** Also evaluate the whole test split (default false). */
  full?: boolean;
  /** Thread counts, each on every side (default [1, 2]). */
  threads?: number[];
  /** Interleaved triples per thread count (default 7). */
  pairs?: number;
}

async function tokensPerSecond(run: () => Promise<unknown>, tokens: number, minSeconds: number): Promise<number> {
  await run(); // warm-up
  let n = 0;
  const t0 = performance.now();
  while (n < 1 || performance.now() - t0 < minSeconds * 1000) {
    await run();
    n++;
  }
  return (n * tokens) / ((performance.now() - t0) / 1000);
}

async function seconds(run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  return (performance.now() - t0) / 1000;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Peak resident set size of this process (Linux VmHWM; current RSS elsewhere). */
async function peakRssMiB(): Promise<number> {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(await Deno.readTextFile("/proc/self/status"));
    if (m) return Number(m[1]) / 1024;
  } catch { /* not Linux */ }
  return Deno.memoryUsage().rss / 2 ** 20;
}

/** The 1-minute load average (NaN where unknown). */
function load1(): number {
  try {
    return Deno.loadavg()[0] as number;
  } catch {
    return NaN;
  }
}

/**
 * Runs the model benchmarks (see the module doc).
 *
 * @param options `full`, `threads`, `pairs`
 * @returns rows: tokens/s, per-side medians (ms), ratios (unit "×", peer time / quantlab time)
 * @throws {Error} when OpenBLAS, the bundled model or /usr/bin/python3 with torch is missing
 */
export async function runModelBench(options: ModelBenchOptions = {}): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const blas = loadBlasOps();
  const setThreads = blas?.library.symbols.openblas_set_num_threads;
  if (!blas || !setThreads) {
    throw new Error("runModelBench: Cannot run: OpenBLAS with openblas_set_num_threads is missing");
  }
  const test = await loadSplit("test");
  const ids = Int32Array.from(test.subarray(0, BATCH * SEQ_LEN));
  const size = `${BATCH}×${SEQ_LEN}`;
  rows.push({ backend: "-", op: "load average 1 min (start)", size: "machine", value: load1(), unit: "" });

  const tsModel = await loadLlama(BUNDLED_MODEL_DIR, { ops: tsOps });
  const one = ids.subarray(0, SEQ_LEN);
  const tsTps = await tokensPerSecond(() => tsModel.forward(one, SEQ_LEN), SEQ_LEN, 2);
  rows.push({ backend: "ts", op: "forward", size: `1×${SEQ_LEN}`, value: tsTps, unit: "tokens/s" });

  const model = await loadLlama(BUNDLED_MODEL_DIR, { ops: blas });
  const onnxPath = `${BUNDLED_MODEL_DIR}/model.onnx`;
  const feed = new ortNode.Tensor("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [BATCH, SEQ_LEN]);
  const initialThreads = blas.library.threads || 1;
  const pairs = options.pairs ?? 7;
  for (const t of options.threads ?? [1, 2]) {
    setThreads(t);
    const session = await ortNode.InferenceSession.create(onnxPath, { intraOpNumThreads: t, interOpNumThreads: 1 });
    const inName = session.inputNames[0]!, outName = session.outputNames[0]!;
    const torch = new PythonPeer(
      new URL("./model_peers.py", import.meta.url).pathname,
      [BUNDLED_MODEL_DIR, String(t)],
      t,
    );
    try {
      await torch.ask({ op: "forward", ids: Array.from(ids), batch: BATCH, seq: SEQ_LEN });
      const ours = await model.forward(ids, SEQ_LEN); // warm-up, and the agreement check
      const theirs = (await session.run({ [inName]: feed }))[outName]!.data as Float32Array;
      let maxDiff = 0;
      for (let i = 0; i < theirs.length; i++) maxDiff = Math.max(maxDiff, Math.abs(theirs[i]! - ours.data[i]!));
      const torchFirst = (await torch.ask({ op: "logits" })).logits as number[];
      const torchDiff = Math.max(...torchFirst.map((v, i) => Math.abs(v - ours.data[i]!)));
      const tq: number[] = [], to: number[] = [], tt: number[] = [], ro: number[] = [], rt: number[] = [];
      for (let i = 0; i < pairs; i++) {
        const o = await seconds(() => session.run({ [inName]: feed }));
        const q = await seconds(() => model.forward(ids, SEQ_LEN));
        const p = (await torch.ask({ op: "time" })).seconds as number;
        tq.push(q), to.push(o), tt.push(p), ro.push(o / q), rt.push(p / q);
      }
      const tag = `(threads ${t})`;
      rows.push(
        { backend: "blas", op: `forward ${tag}`, size, value: median(tq) * 1e3, unit: "ms" },
        { backend: "blas", op: `forward ${tag}`, size, value: (BATCH * SEQ_LEN) / median(tq), unit: "tokens/s" },
        { backend: "onnxruntime-node", op: `forward ${tag}`, size, value: median(to) * 1e3, unit: "ms" },
        { backend: "torch", op: `forward ${tag}`, size, value: median(tt) * 1e3, unit: "ms" },
        { backend: "onnxruntime-node", op: `forward ratio ${tag}`, size, value: median(ro), unit: "×" },
        { backend: "torch", op: `forward ratio ${tag}`, size, value: median(rt), unit: "×" },
        { backend: "onnxruntime-node", op: `max |Δlogit| ${tag}`, size, value: maxDiff, unit: "" },
        { backend: "torch", op: `max |Δlogit| row 0 ${tag}`, size: "8 logits", value: torchDiff, unit: "" },
      );
    } finally {
      await torch.close();
      await session.release();
    }
  }
  setThreads(initialThreads);

  const web = await openOnnxLm(onnxPath);
  rows.push({
    backend: "onnxruntime-web",
    op: "forward (wasm, 1 thread)",
    size,
    value: await tokensPerSecond(() => web.logits(ids, SEQ_LEN), ids.length, 2),
    unit: "tokens/s",
  });
  await web.release();
  if (options.full) {
    const r = await evaluateLm(model, test, { seqLen: SEQ_LEN });
    rows.push({ backend: "blas", op: "eval test split", size: `${r.windows} windows`, value: r.seconds, unit: "s" });
    rows.push({
      backend: "blas",
      op: "test perplexity",
      size: `${r.windows} windows`,
      value: r.perplexity,
      unit: "ppl",
    });
  }
  rows.push({ backend: "-", op: "peak RSS", size: "process", value: await peakRssMiB(), unit: "MiB" });
  rows.push({ backend: "-", op: "load average 1 min (end)", size: "machine", value: load1(), unit: "" });
  return rows;
}

if (import.meta.main) {
  const arg = (name: string) => Deno.args.includes(name) ? Deno.args[Deno.args.indexOf(name) + 1] : undefined;
  const rows = await runModelBench({
    full: Deno.args.includes("--full"),
    threads: arg("--threads")?.split(",").map(Number),
    pairs: arg("--pairs") ? Number(arg("--pairs")) : undefined,
  });
  for (const r of rows) {
    console.log(
      `${r.backend.padEnd(18)} ${r.op.padEnd(34)} ${r.size.padEnd(10)} ${
        r.value.toPrecision(5).padStart(10)
      } ${r.unit}`,
    );
  }
}

export type { BenchRow };
