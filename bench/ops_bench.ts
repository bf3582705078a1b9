// SPDX-License-Identifier: MIT
/**
 * CPU backend throughput, ts vs blas: matmul GFLOP/s, Hessian accumulation GFLOP/s, Cholesky
 * ms, FWHT / fake-quant / dequant-matvec GB/s and the GPTQ block sweep in ms. Element-wise
 * ops (FWHT, quantization, packing, the GPTQ sweep) have no BLAS counterpart and run the
 * same TypeScript in both backends, so they are measured once (backend "ts").
 *
 * Napkin math: bandwidth rows count bytes read + written once; a plain `Float32Array` copy of
 * the same size (allocation included, like the ops that return a new tensor) is the
 * yardstick. Hessian GFLOP/s counts the useful work `tokens·n²` (upper triangle, ×2 flops).
 *
 * FWHT is also reported as a share of the copy bandwidth measured in the same run (paired).
 * Peer ratios (numpy, PyTorch) at equal thread counts are in bench/peers_bench.ts.
 *
 * Usage: `deno run -A bench/ops_bench.ts [--quick] [--numpy]` prints a table;
 * `--quick` skips the slow ts sizes, `--numpy` adds numpy (Debian /usr/bin/python3) reference
 * rows. `runOpsBench()` returns the rows as data for an aggregate `deno task bench`.
 *
 * @module
 */
import { cholesky } from "../lib/linalg/cholesky.ts";
import { type BenchRow, timeMs } from "./_util.ts";
import { loadBlasOps } from "../lib/ops/blas/mod.ts";
import type { IntQuantParams, Ops } from "../lib/ops/ops.ts";
import { tsOps } from "../lib/ops/ts/mod.ts";
import { pack } from "../lib/ops/ts/pack.ts";
import { Rng } from "../lib/tensor/random.ts";
import { Tensor } from "../lib/tensor/tensor.ts";

/** Options of {@link runOpsBench}. */
export interface OpsBenchOptions {
  /** Skip ts matmul 2048³ and use fewer repetitions (default false). */
  quick?: boolean;
}

function randn(shape: number[], seed: number): Tensor<"f32"> {
  const rng = new Rng(seed);
  const t = new Tensor("f32", shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}

/**
 * Runs every measurement and returns the rows (blas rows only when OpenBLAS loads).
 *
 * @param options `quick`
 * @returns rows `{ backend, op, size, value, unit }`
 */
export async function runOpsBench(options: OpsBenchOptions = {}): Promise<BenchRow[]> {
  const quick = options.quick ?? false;
  const rows: BenchRow[] = [];
  const blas = loadBlasOps();
  const backends: Ops[] = blas ? [tsOps, blas] : [tsOps];
  const add = (backend: string, op: string, size: string, value: number, unit: string) =>
    rows.push({ backend, op, size, value: Number(value.toPrecision(4)), unit });

  // matmul GFLOP/s
  for (const ops of backends) {
    for (const n of [256, 1024, 2048]) {
      if (ops.name === "ts" && n >= 2048 && quick) continue;
      const A = randn([n, n], 1);
      const B = randn([n, n], 2);
      const ms = await timeMs(() => ops.matmul(A, B), ops.name === "ts" && n >= 1024 ? 1 : 3);
      add(ops.name, "matmul", `${n}³`, (2 * n ** 3) / ms / 1e6, "GFLOP/s");
      if (ops.name === "ts") continue;
      const out = new Tensor("f32", [n, n]);
      const msOut = await timeMs(() => ops.matmul(A, B, { out }), 3);
      add(ops.name, "matmul into out", `${n}³`, (2 * n ** 3) / msOut / 1e6, "GFLOP/s");
    }
  }

  // Hessian accumulation: H [1024, 1024] += XᵀX, X [2048, 1024]
  {
    const [tokens, n] = [2048, 1024];
    const X = randn([tokens, n], 3);
    for (const ops of backends) {
      const H = new Tensor("f64", [n, n]);
      const ms = await timeMs(() => ops.accumulateHessian(H, X, 1 / tokens), 1);
      add(ops.name, "accumulateHessian", `${tokens}×${n}`, (tokens * n * n) / ms / 1e6, "GFLOP/s");
    }
  }

  // Cholesky of a 1024×1024 SPD f64 matrix
  {
    const n = 1024;
    const X = randn([n + 16, n], 4);
    const H = new Tensor("f64", [n, n]);
    await tsOps.accumulateHessian(H, X, 1 / (n + 16));
    for (let i = 0; i < n; i++) H.data[i * n + i] = (H.data[i * n + i] as number) + 0.01;
    for (const ops of backends) {
      const ms = await timeMs(() => ops.cholesky(H), 3);
      add(ops.name, "cholesky f64", `${n}×${n}`, ms, "ms");
    }
  }

  // Bandwidth rows on a 4096×4096 f32 tensor (64 MiB)
  const n = quick ? 2048 : 4096;
  const size = `${n}×${n}`;
  const bytes = n * n * 4;
  const x = randn([n, n], 5);
  {
    const ms = await timeMs(() => {
      const y = new Float32Array(n * n);
      y.set(x.data);
      return y;
    });
    add("js", "Float32Array copy (alloc + set)", size, (2 * bytes) / ms / 1e6, "GB/s");
    const dst = new Float32Array(n * n);
    const warm = await timeMs(() => dst.set(x.data));
    add("js", "Float32Array copy (warm dst)", size, (2 * bytes) / warm / 1e6, "GB/s");
  }
  {
    // Copy bandwidth and FWHT into a reused output, measured as interleaved pairs (the machine
    // is shared): the FWHT row's "of copy" figure is the median of per-pair ratios.
    const dst = new Float32Array(n * n);
    const out = new Tensor("f32", [n, n]);
    const copy: number[] = [], fw: number[] = [], ratio: number[] = [];
    for (let i = 0; i < (quick ? 3 : 7); i++) {
      const c = await timeMs(() => dst.set(x.data), 3, 200);
      const f = await timeMs(() => tsOps.fwht(x, { out }), 3, 200);
      copy.push(c);
      fw.push(f);
      ratio.push(c / f);
    }
    const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1] as number;
    add("js", "copy bandwidth (paired with fwht)", size, (2 * bytes) / med(copy) / 1e6, "GB/s");
    add("ts", "fwht into out", size, (2 * bytes) / med(fw) / 1e6, "GB/s");
    add("ts", "fwht into out / copy bandwidth", size, 100 * med(ratio), "%");
    const ms = await timeMs(() => tsOps.fwht(x));
    add("ts", "fwht (new output)", size, (2 * bytes) / ms / 1e6, "GB/s");
  }
  const G = n / 128;
  const params: IntQuantParams = {
    scale: new Tensor("f32", [n, G], new Float32Array(n * G).fill(0.25)),
    zero: new Tensor("f32", [n, G], new Float32Array(n * G).fill(8)),
    maxq: 15,
  };
  {
    const ms = await timeMs(() => tsOps.fakeQuantize(x, params));
    add("ts", "fakeQuantize int4 g128", size, (2 * bytes + 2 * params.scale.size * 4) / ms / 1e6, "GB/s");
  }
  {
    const codes = await tsOps.quantizeCodes(x, params);
    const packed = pack(codes, 4);
    const v = randn([n], 6);
    const ms = await timeMs(() => tsOps.dequantMatvec(packed, params, v));
    const moved = packed.words.size * 4 + 2 * params.scale.size * 4 + n * 4 * 2;
    add("ts", "dequantMatvec int4 g128", size, moved / ms / 1e6, "GB/s");
  }
  {
    const [r, B] = [4096, 128];
    const W = randn([r, B], 7);
    const Hs = new Tensor("f64", [B, B]);
    await tsOps.accumulateHessian(Hs, randn([4 * B, B], 8), 1 / (4 * B));
    for (let i = 0; i < B; i++) Hs.data[i * B + i] = (Hs.data[i * B + i] as number) + 0.01;
    const L = cholesky(Hs).data; // any upper-triangular Hinv with a positive diagonal will do
    const Hinv = new Tensor("f32", [B, B]);
    for (let i = 0; i < B; i++) for (let j = i; j < B; j++) Hinv.data[i * B + j] = L[j * B + i] as number;
    const p: IntQuantParams = {
      scale: new Tensor("f32", [r, 1], new Float32Array(r).fill(0.25)),
      zero: new Tensor("f32", [r, 1], new Float32Array(r).fill(8)),
      maxq: 15,
    };
    const ms = await timeMs(() => tsOps.gptqBlock(W, Hinv, p));
    add("ts", "gptqBlock", `rows ${r}, B ${B}`, ms, "ms");
  }
  return rows;
}

/** numpy reference rows (2048³ sgemm GFLOP/s, 1024 f64 Cholesky ms) via Debian's python3. */
export async function numpyReference(): Promise<BenchRow[]> {
  const script = [
    "import numpy as np, time",
    "def med(f, r=5):",
    "  f(); t=[]",
    "  for _ in range(r):",
    "    s=time.perf_counter(); f(); t.append(time.perf_counter()-s)",
    "  return sorted(t)[len(t)//2]",
    "a=np.random.randn(2048,2048).astype(np.float32); b=np.random.randn(2048,2048).astype(np.float32)",
    "print(2*2048**3/med(lambda: a@b)/1e9)",
    "x=np.random.randn(1040,1024); h=x.T@x/1040+0.01*np.eye(1024)",
    "print(med(lambda: np.linalg.cholesky(h))*1e3)",
  ].join("\n");
  const out = await new Deno.Command("/usr/bin/python3", { args: ["-c", script], stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) return [];
  const [gflops, ms] = new TextDecoder().decode(out.stdout).trim().split("\n").map(Number);
  return [
    { backend: "numpy", op: "matmul", size: "2048³", value: Number(gflops!.toPrecision(4)), unit: "GFLOP/s" },
    { backend: "numpy", op: "cholesky f64", size: "1024×1024", value: Number(ms!.toPrecision(4)), unit: "ms" },
  ];
}

if (import.meta.main) {
  const rows = await runOpsBench({ quick: Deno.args.includes("--quick") });
  if (Deno.args.includes("--numpy")) rows.push(...await numpyReference());
  console.table(rows);
}

export type { BenchRow };
