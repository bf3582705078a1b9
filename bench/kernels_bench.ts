// SPDX-License-Identifier: MIT
/**
 * WebGPU kernel throughput: matmul GFLOP/s, FWHT / fake-quant / dequant-matvec GB/s and the
 * GPTQ block sweep in ms. Inputs are uploaded once; each measurement repeats the device-level
 * kernel call (data stays on the device) and waits for `queue.onSubmittedWorkDone()`.
 *
 * On a software adapter (lavapipe, `isFallbackAdapter`) sizes are smaller and matmul 4096 is
 * skipped: the numbers only show that the kernels run, not GPU speed.
 *
 * Usage: `deno run -A bench/kernels_bench.ts` prints a table.
 *
 * @module
 */
import type { BenchRow } from "./_util.ts";
import { dequantMatvecGpu } from "../kernels/dequant_matvec.ts";
import { fwhtGpu } from "../kernels/fwht.ts";
import { gptqBlockGpu } from "../kernels/gptq_block.ts";
import { matmulGpu } from "../kernels/matmul.ts";
import { quantizeGpu, uploadIntParams } from "../kernels/quantize.ts";
import { type GpuTensor, upload } from "../kernels/runtime/buffers.ts";
import { describeContext, type GpuContext, requireDevice } from "../kernels/runtime/device.ts";
import { pack } from "../lib/ops/ts/pack.ts";
import { randnF32 } from "../lib/tensor/create.ts";
import { Rng } from "../lib/tensor/random.ts";
import { Tensor } from "../lib/tensor/tensor.ts";

/** Minimum measured time per row, so that short kernels are repeated enough. */
const MIN_MS = 300;

/** Mean milliseconds per call of `fn` (which returns a tensor to dispose), after one warm-up. */
async function timeMs(ctx: GpuContext, fn: () => Promise<Disposable>): Promise<number> {
  (await fn())[Symbol.dispose]();
  await ctx.device.queue.onSubmittedWorkDone();
  let reps = 0;
  const t0 = performance.now();
  while (reps < 3 || performance.now() - t0 < MIN_MS) {
    (await fn())[Symbol.dispose]();
    reps++;
    if (reps % 4 === 0) await ctx.device.queue.onSubmittedWorkDone();
  }
  await ctx.device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / reps;
}

function intParams(rows: number, groups: number, maxq: number, seed: number) {
  const rng = new Rng(seed);
  const n = rows * groups;
  return {
    scale: new Tensor("f32", [rows, groups], Float32Array.from({ length: n }, () => 0.01 + 0.05 * rng.uniform())),
    zero: new Tensor("f32", [rows, groups], Float32Array.from({ length: n }, () => rng.int(maxq + 1))),
    maxq,
  };
}

/**
 * Runs the kernel benchmarks on the default adapter.
 *
 * @param ctx device context (default: a new one from `requireDevice()`)
 * @returns one row per (op, size)
 * @throws {GpuUnavailableError} when there is no WebGPU device
 */
export async function runKernelsBench(ctx?: GpuContext): Promise<BenchRow[]> {
  ctx ??= await requireDevice();
  const big = !ctx.isFallbackAdapter;
  const rows: BenchRow[] = [];
  const add = (op: string, size: string, value: number, unit: string) =>
    rows.push({ backend: "webgpu", op, size, value, unit });
  const keep: GpuTensor[] = [];
  const up = (t: Tensor<"f32"> | Tensor<"u32">) => {
    const g = upload(ctx, t);
    keep.push(g);
    return g;
  };
  try {
    for (const n of big ? [256, 1024, 4096] : [256, 1024]) {
      const A = up(randnF32([n, n], 1));
      const B = up(randnF32([n, n], 2));
      const ms = await timeMs(ctx, () => matmulGpu(ctx, A, B));
      add("matmul", `${n}x${n}x${n}`, (2 * n ** 3) / (ms * 1e6), "GFLOP/s");
    }

    const [fr, fn] = big ? [4096, 4096] : [256, 4096];
    const fx = up(randnF32([fr, fn], 3));
    const fms = await timeMs(ctx, () => fwhtGpu(ctx, fx));
    add("fwht", `${fr}x${fn}`, (2 * 4 * fr * fn) / (fms * 1e6), "GB/s");

    const qn = big ? 4096 : 1024;
    const w = up(randnF32([qn, qn], 4));
    using qp = uploadIntParams(ctx, "bench", qn, qn, intParams(qn, qn / 128, 15, 5));
    const qms = await timeMs(ctx, () => quantizeGpu(ctx, w, qp, "fake"));
    add("fakeQuantize", `${qn}x${qn} g128`, (2 * 4 * qn * qn) / (qms * 1e6), "GB/s");

    const rng = new Rng(6);
    const codes = new Tensor("u8", [qn, qn], Uint8Array.from({ length: qn * qn }, () => rng.int(16)));
    const packed = pack(codes, 4);
    const words = up(packed.words);
    const x = up(randnF32([qn], 7));
    const mms = await timeMs(ctx, () => dequantMatvecGpu(ctx, words, 4, qn, qp, x));
    const bytes = packed.words.data.byteLength + 2 * qp.scale.byteLength + 4 * qn * 2;
    add("dequantMatvec int4", `${qn}x${qn} g128`, bytes / (mms * 1e6), "GB/s");

    const [gr, gb] = big ? [4096, 128] : [1024, 128];
    const W = up(randnF32([gr, gb], 8));
    const hinv = new Tensor("f32", [gb, gb]);
    for (let j = 0; j < gb; j++) for (let k = j; k < gb; k++) hinv.data[j * gb + k] = j === k ? 1 : 0.01;
    const H = up(hinv);
    using gp = uploadIntParams(ctx, "bench", gr, gb, intParams(gr, 1, 15, 9));
    add("gptqBlock", `${gr}x${gb}`, await timeMs(ctx, () => gptqBlockGpu(ctx, W, H, gp)), "ms");
  } finally {
    for (const t of keep) t.dispose();
  }
  return rows;
}

if (import.meta.main) {
  const ctx = await requireDevice();
  const results = await runKernelsBench(ctx);
  // deno-lint-ignore no-console
  console.log(describeContext(ctx));
  // deno-lint-ignore no-console
  console.table(results.map((r) => ({ ...r, value: Number(r.value.toPrecision(3)) })));
}

export type { BenchRow };
