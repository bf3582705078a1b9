// SPDX-License-Identifier: MIT
/**
 * quantlab (blas backend) against its peers, numpy and a faithful PyTorch port of IST-DASLab's
 * GPTQ (`bench/gptq_torch.py`), through Debian's /usr/bin/python3 (`bench/peers.py`, a
 * request/reply process). Both sides use the same thread count (OpenBLAS
 * `openblas_set_num_threads` here, `OPENBLAS_NUM_THREADS`/`torch.set_num_threads` there) and every
 * figure is measured as interleaved pairs — peer, quantlab, peer, quantlab, … — so load from
 * other processes hits both sides alike. Each pair gives a ratio `peer time / quantlab time`
 * (above 1: quantlab faster); a row reports the median over pairs.
 *
 * Cases: f32 matmul 256³, 1024³, 2048³ and 2048×256·256×768 (with a fresh output and into a
 * reused `out`), H += XᵀX for X 2048×768 in f32 and f64, and GPTQ W4 g128 on 768×768,
 * 3072×768, 768×3072 and 4096×4096 (`[out, in]`), whose proxy losses are reported side by side.
 *
 * Usage: `deno run -A bench/peers_bench.ts [--threads 1,2] [--quick]`.
 *
 * @module
 */
import type { BenchRow } from "./_util.ts";
import { PythonPeer } from "./_python_peer.ts";
import { type BlasOps, loadBlasOps } from "../lib/ops/blas/mod.ts";
import { gptq } from "../lib/reconstruct/gptq.ts";
import { Rng } from "../lib/tensor/random.ts";
import { Tensor } from "../lib/tensor/tensor.ts";

/** Options of {@link runPeersBench}. */
export interface PeersBenchOptions {
  /** Thread counts to run, each on both sides (default [1, 2]). */
  threads?: number[];
  /** Fewer pairs (default false). */
  quick?: boolean;
}

function randn(shape: number[], seed: number, std = 1): Tensor<"f32"> {
  const rng = new Rng(seed);
  const t = new Tensor("f32", shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * std;
  return t;
}

async function medianSeconds(fn: () => unknown, reps: number): Promise<number> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t.push((performance.now() - t0) / 1000);
  }
  return median(t);
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** `pairs` interleaved (peer, quantlab) measurements; medians of both times and of the ratios. */
async function paired(
  pairs: number,
  peer: () => Promise<number>,
  ours: () => Promise<number>,
): Promise<{ peer: number; ours: number; ratio: number }> {
  const p: number[] = [], q: number[] = [], r: number[] = [];
  for (let i = 0; i < pairs; i++) {
    const a = await peer();
    const b = await ours();
    p.push(a);
    q.push(b);
    r.push(a / b);
  }
  return { peer: median(p), ours: median(q), ratio: median(r) };
}

/**
 * Runs every peer comparison at each thread count.
 *
 * @param options `threads`, `quick`
 * @returns rows: quantlab and peer seconds plus the ratio (unit "×", peer time / quantlab time)
 * @throws {Error} when OpenBLAS or /usr/bin/python3 with numpy and torch is missing
 */
export async function runPeersBench(options: PeersBenchOptions = {}): Promise<BenchRow[]> {
  const blas = loadBlasOps();
  if (!blas) throw new Error("peers: Cannot compare without OpenBLAS: install libopenblas0");
  const setThreads = blas.library.symbols.openblas_set_num_threads;
  if (!setThreads) throw new Error("peers: Cannot set OpenBLAS threads: openblas_set_num_threads is missing");
  const quick = options.quick ?? false;
  const rows: BenchRow[] = [];
  for (const threads of options.threads ?? [1, 2]) {
    setThreads(threads);
    const peer = new PythonPeer(new URL("./peers.py", import.meta.url).pathname, [String(threads)], threads);
    try {
      rows.push(...await matmulRows(blas, peer, threads, quick));
      rows.push(...await hessianRows(blas, peer, threads, quick));
      rows.push(...await gptqRows(blas, peer, threads, quick));
    } finally {
      await peer.close();
    }
  }
  return rows;
}

function add(
  rows: BenchRow[],
  what: string,
  size: string,
  t: number,
  r: { peer: number; ours: number; ratio: number },
) {
  const tag = `(threads ${t})`;
  rows.push({ backend: "blas", op: `${what} ${tag}`, size, value: Number((r.ours * 1e3).toPrecision(4)), unit: "ms" });
  rows.push({ backend: "peer", op: `${what} ${tag}`, size, value: Number((r.peer * 1e3).toPrecision(4)), unit: "ms" });
  rows.push({ backend: "ratio", op: `${what} ${tag}`, size, value: Number(r.ratio.toPrecision(3)), unit: "×" });
}

async function matmulRows(blas: BlasOps, peer: PythonPeer, t: number, quick: boolean): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const cases: [number, number, number][] = [[256, 256, 256], [1024, 1024, 1024], [2048, 2048, 2048], [
    2048,
    256,
    768,
  ]];
  for (const [m, k, n] of cases) {
    const reps = m * k * n >= 2 ** 30 ? 3 : m * k * n >= 2 ** 28 ? 5 : 30;
    const pairs = quick ? 3 : 7;
    const A = randn([m, k], 1), B = randn([k, n], 2);
    const out = new Tensor("f32", [m, n]);
    const size = m === k && k === n ? `${m}³` : `${m}×${k}·${k}×${n}`;
    const ask = async () => Number((await peer.ask({ op: "matmul", m, k, n, reps })).seconds);
    add(
      rows,
      "matmul vs numpy, new output",
      size,
      t,
      await paired(pairs, ask, () => medianSeconds(() => blas.matmul(A, B), reps)),
    );
    add(
      rows,
      "matmul vs numpy, into out",
      size,
      t,
      await paired(pairs, ask, () => medianSeconds(() => blas.matmul(A, B, { out }), reps)),
    );
  }
  return rows;
}

async function hessianRows(blas: BlasOps, peer: PythonPeer, t: number, quick: boolean): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const [tokens, n] = [2048, 768];
  const X = randn([tokens, n], 3);
  const H = new Tensor("f64", [n, n]);
  for (const precision of ["f32", "f64"] as const) {
    const ask = async () => Number((await peer.ask({ op: "hessian", tokens, n, dtype: precision, reps: 10 })).seconds);
    const ours = () => medianSeconds(() => blas.accumulateHessian(H, X, 1, { precision }), 10);
    add(
      rows,
      `H += XᵀX ${precision} vs numpy ${precision}`,
      `${tokens}×${n}`,
      t,
      await paired(quick ? 3 : 7, ask, ours),
    );
  }
  return rows;
}

async function gptqRows(blas: BlasOps, peer: PythonPeer, t: number, quick: boolean): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const spec = { format: "int", bits: 4, groupSize: 128, symmetric: false } as const;
  const shapes: [number, number][] = [[768, 768], [3072, 768], [768, 3072], [4096, 4096]];
  const dir = await Deno.makeTempDir({ prefix: "quantlab_peers_" });
  try {
    for (const [r, c] of shapes) {
      const big = r * c > 4e6;
      const W = randn([r, c], r + c, 0.05);
      const N = Math.max(2 * c, 512);
      const H = new Tensor("f64", [c, c]);
      await blas.accumulateHessian(H, randn([N, c], c), 2 / N);
      const wPath = `${dir}/w.f32`, hPath = `${dir}/h.f64`;
      await Deno.writeFile(wPath, new Uint8Array(W.data.buffer));
      await Deno.writeFile(hPath, new Uint8Array(H.data.buffer));
      let peerLoss = NaN, ourLoss = NaN;
      const reps = big ? 1 : 3;
      const res = await paired(big ? (quick ? 1 : 2) : quick ? 3 : 5, async () => {
        const j = await peer.ask({ op: "gptq", w: wPath, h: hPath, rows: r, cols: c, reps });
        peerLoss = Number(j.loss);
        return Number(j.seconds);
      }, () =>
        medianSeconds(async () => {
          ourLoss = (await gptq(W, H, { spec, ops: blas })).totalLoss;
        }, reps));
      const size = `${r}×${c}`;
      add(rows, "GPTQ W4 g128 vs PyTorch fasterquant", size, t, res);
      rows.push({
        backend: "blas",
        op: `GPTQ proxy loss (threads ${t})`,
        size,
        value: Number(ourLoss.toPrecision(6)),
        unit: "",
      });
      rows.push({
        backend: "peer",
        op: `GPTQ proxy loss (threads ${t})`,
        size,
        value: Number(peerLoss.toPrecision(6)),
        unit: "",
      });
      // Rounding-order differences (sgemm vs PyTorch's per-column updates) flip a few codes at
      // ties; agreement to 4 significant digits means a relative difference below 5e-5.
      const rel = Math.abs(ourLoss - peerLoss) / Math.abs(peerLoss);
      rows.push({
        backend: "ratio",
        op: `GPTQ proxy loss |Δ|/loss (threads ${t})`,
        size,
        value: Number(rel.toPrecision(2)),
        unit: "",
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

if (import.meta.main) {
  const ti = Deno.args.indexOf("--threads");
  const threads = ti >= 0 ? (Deno.args[ti + 1] ?? "1,2").split(",").map(Number) : [1, 2];
  const rows = await runPeersBench({ threads, quick: Deno.args.includes("--quick") });
  for (const r of rows) {
    console.log(`${r.backend.padEnd(6)} ${r.op.padEnd(52)} ${r.size.padEnd(16)} ${r.value} ${r.unit}`);
  }
}
