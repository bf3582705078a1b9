// SPDX-License-Identifier: MIT
/**
 * `deno task bench`: every benchmark suite in one run, printed as one table and written to
 * `build/bench.json`. Performance is measured here, never asserted in tests.
 *
 * Usage: deno task bench [--only io,ops,kernels,model,calib,rotate,gptq,peers,export] [--full]
 * `peers` runs numpy and a faithful PyTorch GPTQ port (Debian /usr/bin/python3) against the blas
 * backend at 1 and 2 threads each, as interleaved pairs, and reports ratios peer/quantlab.
 * Suites needing something absent (the bundled model, a WebGPU adapter) report why and are skipped.
 */

import { runCli } from "../tools/_cli.ts";

/** One figure, normalized across suites. */
interface Row {
  suite: string;
  backend: string;
  op: string;
  size: string;
  value: number;
  unit: string;
}

type Suite = () => Promise<object[]>;

function suites(full: boolean): Record<string, Suite> {
  return {
    io: async () => (await import("./io_bench.ts")).runIoBench(),
    ops: async () => (await import("./ops_bench.ts")).runOpsBench({ quick: !full }),
    kernels: async () => (await import("./kernels_bench.ts")).runKernelsBench(),
    model: async () => (await import("./model_bench.ts")).runModelBench({ full }),
    calib: async () => (await import("./calib_bench.ts")).runCalibBench({ quick: !full }),
    rotate: async () => (await import("./rotate_bench.ts")).runRotateBench({ quick: !full }),
    gptq: async () => (await import("./gptq_bench.ts")).runGptqBench({ full }),
    stream: async () => (await import("./stream_bench.ts")).runStreamBench({ full }),
    peers: async () => (await import("./peers_bench.ts")).runPeersBench({ quick: !full }),
    export: async () => (await import("./export_bench.ts")).runExportBench({ windows: full ? 32 : 8 }),
    "export-onnx": async () => (await import("./export_onnx_bench.ts")).runExportOnnxBench({ windows: full ? 32 : 8 }),
  };
}

const SUITE_NAMES = Object.keys(suites(false));

function normalize(suite: string, row: object): Row {
  const r = row as Record<string, unknown>;
  return {
    suite,
    backend: String(r.backend ?? "-"),
    op: String(r.op ?? r.name ?? "?"),
    size: String(r.size ?? ""),
    value: Number(r.value),
    unit: String(r.unit ?? ""),
  };
}

await runCli({
  task: "bench",
  summary: "Every benchmark suite (or those named by --only), printed as one table and written to build/bench.json.",
  flags: {
    only: {
      type: "string",
      help: `comma-separated suites (default: all): ${SUITE_NAMES.join(",")}`,
      check: (v) => {
        const bad = String(v).split(",").filter((n) => !SUITE_NAMES.includes(n));
        if (bad.length) throw new Error(`unknown suite "${bad[0]}": expected some of ${SUITE_NAMES.join(", ")}`);
      },
    },
    full: { type: "boolean", help: "more repetitions, larger shapes and the slow suites' long runs" },
  },
}, async ({ only: onlyArg, full }) => {
  const only = onlyArg ? new Set(onlyArg.split(",")) : undefined;
  const rows: Row[] = [];
  const skipped: string[] = [];
  for (const [name, run] of Object.entries(suites(full))) {
    if (only && !only.has(name)) continue;
    const t0 = performance.now();
    try {
      const got = (await run()).map((r) => normalize(name, r));
      rows.push(...got);
      for (const r of got) {
        console.log(
          `${r.suite.padEnd(8)} ${r.backend.padEnd(17)} ${r.op.padEnd(30)} ${r.size.padEnd(16)} ${
            r.value.toPrecision(4).padStart(10)
          } ${r.unit}`,
        );
      }
    } catch (e) {
      skipped.push(`${name}: ${(e as Error).message.split("\n")[0]}`);
      console.log(`${name.padEnd(8)} skipped: ${(e as Error).message.split("\n")[0]}`);
    }
    console.log(`${name.padEnd(8)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  await Deno.mkdir("build", { recursive: true });
  await Deno.writeTextFile(
    "build/bench.json",
    JSON.stringify({ date: new Date().toISOString(), deno: Deno.version.deno, rows, skipped }, null, 2),
  );
  console.log(
    `\n${rows.length} figures written to build/bench.json${skipped.length ? `; skipped: ${skipped.length}` : ""}`,
  );
});
