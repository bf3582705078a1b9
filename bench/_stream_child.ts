// SPDX-License-Identifier: MIT
/**
 * One measured run of the streaming pipeline, in its own process so that its peak RSS (Linux
 * `VmHWM`, read at the end) belongs to this run alone. Started by `stream_bench.ts`.
 *
 * Usage: deno run -A bench/_stream_child.ts --model DIR --recipe GPTQ|RTN --calib 16 --seq-len 512
 *   --windows 2 [--out DIR] [--activations f32|bf16]
 * `STREAM_TRACE=1` prints RSS, V8 external and heap memory at every progress event on stderr.
 * Prints one JSON line: `{ peakRssBytes, seconds, layerSeconds, batchSize, perplexity, referencePerplexity }`.
 */
import { parseArgs } from "node:util";
import { openLlamaCheckpoint } from "../lib/model/load.ts";
import { getCpuOps } from "../lib/ops/backend.ts";
import { Rng } from "../lib/tensor/random.ts";
import { getRecipe } from "../lib/pipeline/recipes.ts";
import { quantizeStreaming } from "../lib/pipeline/streaming.ts";
import { createCheckpointWriter } from "../lib/pipeline/writer.ts";
import type { ActivationDType } from "../lib/pipeline/activations.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string" },
    recipe: { type: "string", default: "GPTQ" },
    calib: { type: "string", default: "16" },
    "seq-len": { type: "string", default: "512" },
    windows: { type: "string", default: "2" },
    out: { type: "string" },
    activations: { type: "string", default: "f32" },
  },
  strict: true,
});
using ckpt = await openLlamaCheckpoint(a.model as string);
const T = Number(a["seq-len"]), n = Number(a.calib), W = Number(a.windows);
// Random weights: any token ids are as good as text; seeded uniform ids over the vocabulary.
const rng = new Rng(0);
const ids = (count: number) => Int32Array.from({ length: count }, () => rng.int(ckpt.config.vocabSize));
const writers = a.out ? [await createCheckpointWriter(a.out, ckpt, { overwrite: true })] : [];
const r = await quantizeStreaming(ckpt, getRecipe(a.recipe as string), {
  format: "int4-g128-asym",
  calibration: ids(n * T),
  seqLen: T,
  ops: getCpuOps(),
  activations: a.activations as ActivationDType,
  evaluation: { ids: ids(W * T), seqLen: T },
  writers,
  ...(Deno.env.get("STREAM_TRACE") && {
    onProgress: (p) => {
      {
        const m = Deno.memoryUsage();
        console.error(
          p.stage,
          p.layer,
          p.sublayer ?? "",
          (m.rss / 2 ** 20).toFixed(0),
          "MiB rss",
          (m.external / 2 ** 20).toFixed(0),
          "MiB external",
          (m.heapUsed / 2 ** 20).toFixed(0),
          "MiB heap",
        );
      }
    },
  }),
});
const hwm = /VmHWM:\s+(\d+) kB/.exec(await Deno.readTextFile("/proc/self/status"));
console.log(JSON.stringify({
  peakRssBytes: hwm ? Number(hwm[1]) * 1024 : Deno.memoryUsage().rss,
  seconds: r.seconds,
  layerSeconds: r.layerSeconds,
  batchSize: r.batchSize,
  perplexity: r.evaluation?.quantized.perplexity,
  referencePerplexity: r.evaluation?.referencePerplexity,
}));
