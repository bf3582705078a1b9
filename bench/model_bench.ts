// SPDX-License-Identifier: MIT
/**
 * Forward-pass throughput of the bundled model: tokens/s at seqLen 256 on each CPU backend,
 * against onnxruntime-node and onnxruntime-web (wasm) running the same `model.onnx` on the
 * same machine; peak RSS; and, with `--full`, the time to evaluate the whole test split.
 *
 * Run: deno run -A bench/model_bench.ts [--full]
 */
import type { BenchRow } from "./_util.ts";
import * as ortNode from "onnxruntime-node";
import { BUNDLED_MODEL_DIR, loadLlama } from "../lib/model/load.ts";
import { tsOps } from "../lib/ops/ts/mod.ts";
import { loadBlasOps } from "../lib/ops/blas/mod.ts";
import { loadSplit } from "../lib/calib/corpus.ts";
import { evaluateLm } from "../lib/eval/perplexity.ts";
import { openOnnxLm } from "../lib/eval/onnx_lm.ts";
import type { Ops } from "../lib/ops/ops.ts";

const SEQ_LEN = 256;
const BATCH = 4;

async function tokensPerSecond(
  run: (ids: Int32Array) => Promise<unknown>,
  ids: Int32Array,
  minSeconds = 2,
): Promise<number> {
  await run(ids); // warm-up
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minSeconds * 1000) {
    await run(ids);
    n++;
  }
  return (n * ids.length) / ((performance.now() - t0) / 1000);
}

/** Peak resident set size of this process (Linux VmHWM; current RSS elsewhere). */
async function peakRssMiB(): Promise<number> {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(await Deno.readTextFile("/proc/self/status"));
    if (m) return Number(m[1]) / 1024;
  } catch { /* not Linux */ }
  return Deno.memoryUsage().rss / 2 ** 20;
}

/** Runs the model benchmarks; `full` adds the whole-test-split evaluation on the fastest CPU backend. */
export async function runModelBench(options: { full?: boolean } = {}): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const test = await loadSplit("test");
  const ids = Int32Array.from(test.subarray(0, BATCH * SEQ_LEN));
  const size = `${BATCH}×${SEQ_LEN}`;
  const backends: Ops[] = [tsOps, ...(loadBlasOps() ? [loadBlasOps()!] : [])];
  for (const ops of backends) {
    const model = await loadLlama(BUNDLED_MODEL_DIR, { ops });
    const tps = await tokensPerSecond((x) => model.forward(x, SEQ_LEN), ids, ops.name === "ts" ? 4 : 2);
    rows.push({ backend: ops.name, op: "forward", size, value: tps, unit: "tokens/s" });
  }
  const onnxPath = `${BUNDLED_MODEL_DIR}/model.onnx`;
  const session = await ortNode.InferenceSession.create(onnxPath, { intraOpNumThreads: 2 });
  const feed = new ortNode.Tensor("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [BATCH, SEQ_LEN]);
  rows.push({
    backend: "onnxruntime-node",
    op: "forward",
    size,
    value: await tokensPerSecond(() => session.run({ [session.inputNames[0]!]: feed }), ids),
    unit: "tokens/s",
  });
  await session.release();
  const web = await openOnnxLm(onnxPath);
  rows.push({
    backend: "onnxruntime-web",
    op: "forward",
    size,
    value: await tokensPerSecond((x) => web.logits(x, SEQ_LEN), ids),
    unit: "tokens/s",
  });
  await web.release();
  if (options.full) {
    const ops = backends[backends.length - 1]!;
    const model = await loadLlama(BUNDLED_MODEL_DIR, { ops });
    const r = await evaluateLm(model, test, { seqLen: SEQ_LEN });
    rows.push({ backend: ops.name, op: "eval test split", size: `${r.windows} windows`, value: r.seconds, unit: "s" });
    rows.push({
      backend: ops.name,
      op: "test perplexity",
      size: `${r.windows} windows`,
      value: r.perplexity,
      unit: "ppl",
    });
  }
  rows.push({ backend: "-", op: "peak RSS", size: "process", value: await peakRssMiB(), unit: "MiB" });
  return rows;
}

if (import.meta.main) {
  const rows = await runModelBench({ full: Deno.args.includes("--full") });
  for (const r of rows) {
    console.log(
      `${r.backend.padEnd(18)} ${r.op.padEnd(16)} ${r.size.padEnd(14)} ${
        r.value.toPrecision(5).padStart(10)
      } ${r.unit}`,
    );
  }
}

export type { BenchRow };
