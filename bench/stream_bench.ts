// SPDX-License-Identifier: MIT
/**
 * Streaming pipeline at real scale: generates a 1.1B-shaped checkpoint slice (hidden 2048,
 * ffn 5632, 32/4 heads, vocab 32000, bf16, 2 shards) at 4 and at 8 layers, and quantizes it
 * (int4-g128-asym, 16×512 calibration tokens, 2 evaluation windows, fake-quant checkpoint
 * written) in a child process per run, so each peak RSS (`VmHWM`) belongs to one run. Reports
 * peak RSS and seconds per layer; memory independent of depth shows as equal peaks at 4 and 8.
 *
 * RTN always; GPTQ with `--full` (minutes per layer on a 2-core machine).
 *
 * Run: deno run -A bench/stream_bench.ts [--full]
 */
import type { BenchRow } from "./_util.ts";
import { writeRandomCheckpoint } from "../tools/make_checkpoint.ts";

/** The slice of the benchmark (TinyLlama-1.1B's shapes). */
const SLICE = { arch: "llama", hidden: 2048, ffn: 5632, heads: 32, kvHeads: 4, vocab: 32000, dtype: "bf16", shards: 2 };

interface ChildResult {
  peakRssBytes: number;
  seconds: number;
  layerSeconds: number[];
  batchSize: number;
}

async function runChild(model: string, recipe: string, out: string): Promise<ChildResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc", // as `deno task quantize`: garbage is collected between the big steps
      new URL("./_stream_child.ts", import.meta.url).pathname,
      "--model",
      model,
      "--recipe",
      recipe,
      "--calib",
      "16",
      "--seq-len",
      "512",
      "--windows",
      "2",
      "--out",
      out,
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    throw new Error(`stream bench child (${recipe}) failed: ${new TextDecoder().decode(stderr).split("\n")[0]}`);
  }
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return JSON.parse(lines.at(-1) as string) as ChildResult;
}

/** Peak RSS and seconds per layer of streamed RTN (and GPTQ with `full`) at 4 and 8 layers. */
export async function runStreamBench(options: { full?: boolean } = {}): Promise<BenchRow[]> {
  const recipes = options.full ? ["RTN", "GPTQ"] : ["RTN"];
  const root = await Deno.makeTempDir({ prefix: "quantlab-stream-bench-" });
  const rows: BenchRow[] = [];
  try {
    for (const layers of [4, 8]) {
      const model = `${root}/l${layers}`;
      await writeRandomCheckpoint(model, { ...SLICE, layers, seed: 0 } as Parameters<typeof writeRandomCheckpoint>[1]);
      for (const recipe of recipes) {
        const r = await runChild(model, recipe, `${root}/out`);
        const size = `1.1B slice, ${layers} layers`;
        const perLayer = r.layerSeconds.reduce((a, b) => a + b, 0) / r.layerSeconds.length;
        rows.push({ backend: "blas", op: `stream ${recipe} peak RSS`, size, value: r.peakRssBytes / 1e9, unit: "GB" });
        rows.push({ backend: "blas", op: `stream ${recipe} s/layer`, size, value: perLayer, unit: "s" });
        await Deno.remove(`${root}/out`, { recursive: true });
      }
      await Deno.remove(model, { recursive: true });
    }
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
  return rows;
}

if (import.meta.main) {
  for (const r of await runStreamBench({ full: Deno.args.includes("--full") })) console.log(r);
}
