// SPDX-License-Identifier: MIT
/**
 * I/O benchmarks: Arrow IPC write/read throughput for a 64 MiB f32 tensor, and a lazy read of
 * one 4 MiB tensor from a ~1 GiB safetensors file (time and resident memory), which is the
 * "checkpoint larger than RAM" path (docs/ARCHITECTURE.md, "Scale").
 *
 * - `deno bench -A bench/io_bench.ts`: `Deno.bench` timings.
 * - `deno run -A bench/io_bench.ts`: a table with MB/s and RSS (Deno.bench reports only time).
 * - `runIoBench()`: the same rows as data, for an aggregate `deno task bench`.
 *
 * Temporary files live in one `Deno.makeTempDir()` directory and are deleted afterwards. The
 * 1 GiB file is written streaming (one reused 4 MiB buffer), so the benchmark itself never holds
 * 1 GiB. The lazy read runs right after the write, so it is served from the page cache (a cold
 * read would be bounded by the disk instead).
 *
 * @module
 */
import { loadTensors, saveTensors } from "../lib/tensor/ipc.ts";
import { createSafetensorsWriter, openSafetensors, type SafetensorsEntry } from "../lib/tensor/safetensors.ts";
import { Tensor } from "../lib/tensor/tensor.ts";

/** One measured quantity. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
}

const MIB = 1024 * 1024;
/** 64 MiB of f32: [4096, 4096]. */
const IPC_SHAPE = [4096, 4096];
/** 4 MiB of f32 per safetensors tensor, 256 of them: 1 GiB of data. */
const ST_SHAPE = [1024, 1024];
const ST_COUNT = 256;
/** The tensor read lazily from the middle of the file. */
const ST_PICK = 137;

function filled(shape: number[], seed: number): Tensor<"f32"> {
  const t = new Tensor("f32", shape);
  // A cheap deterministic pattern: the benchmark measures bytes moved, not values.
  for (let i = 0; i < t.size; i++) t.data[i] = ((i * 2654435761 + seed) >>> 8) / 16777216;
  return t;
}

async function median(times: number, fn: () => Promise<void>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[ms.length >> 1] as number;
}

/** Writes the ~1 GiB file streaming: tensor `k` is the shared buffer with its first element = k. */
async function writeBigSafetensors(path: string): Promise<void> {
  const entries: Record<string, SafetensorsEntry> = {};
  for (let k = 0; k < ST_COUNT; k++) entries[`layers.${k}.weight`] = { dtype: "F32", shape: ST_SHAPE };
  const buf = filled(ST_SHAPE, 1);
  const writer = await createSafetensorsWriter(path, entries, { format: "pt" });
  for (let k = 0; k < ST_COUNT; k++) {
    buf.data[0] = k;
    await writer.write(`layers.${k}.weight`, buf);
  }
  await writer.close();
}

/**
 * Runs every I/O measurement once and returns the rows (MB/s are 10^6 bytes per second).
 *
 * @param options `repeats` of each IPC timing (median; default 3)
 */
export async function runIoBench(options: { repeats?: number } = {}): Promise<BenchRow[]> {
  const repeats = options.repeats ?? 3;
  const rows: BenchRow[] = [];
  const dir = await Deno.makeTempDir({ prefix: "quantlab_io_bench_" });
  try {
    // Arrow IPC, 64 MiB f32.
    const w = filled(IPC_SHAPE, 7);
    const ipcPath = `${dir}/w.arrow`;
    const ipcBytes = w.data.byteLength;
    const writeMs = await median(repeats, () => saveTensors(ipcPath, { w }));
    let readBack: Tensor | undefined;
    const readMs = await median(repeats, async () => {
      readBack = (await loadTensors(ipcPath)).w;
    });
    if (readBack?.data[12345] !== w.data[12345]) throw new Error("io_bench: IPC read back wrong data");
    rows.push({ name: "ipc write 64 MiB f32 (saveTensors)", value: ipcBytes / 1e3 / writeMs, unit: "MB/s" });
    rows.push({ name: "ipc read 64 MiB f32 (loadTensors)", value: ipcBytes / 1e3 / readMs, unit: "MB/s" });
    readBack = undefined;

    // Safetensors, ~1 GiB file, streaming write then one lazy 4 MiB read.
    const stPath = `${dir}/big.safetensors`;
    const t0 = performance.now();
    await writeBigSafetensors(stPath);
    const stWriteMs = performance.now() - t0;
    const size = (await Deno.stat(stPath)).size;
    rows.push({ name: "safetensors streaming write ~1 GiB", value: size / 1e3 / stWriteMs, unit: "MB/s" });
    rows.push({ name: "safetensors file size", value: size / MIB, unit: "MiB" });

    const rssBefore = Deno.memoryUsage().rss;
    const t1 = performance.now();
    using file = await openSafetensors(stPath);
    const openMs = performance.now() - t1;
    const t2 = performance.now();
    const one = await file.read(`layers.${ST_PICK}.weight`);
    const readOneMs = performance.now() - t2;
    const rssAfter = Deno.memoryUsage().rss;
    if (one.data[0] !== ST_PICK || one.size * 4 !== 4 * MIB) {
      throw new Error("io_bench: lazy read returned wrong tensor");
    }
    rows.push({ name: "safetensors open (header only, 256 tensors)", value: openMs, unit: "ms" });
    rows.push({ name: "safetensors lazy read of one 4 MiB tensor", value: readOneMs, unit: "ms" });
    rows.push({ name: "safetensors lazy read throughput", value: 4 * MIB / 1e3 / readOneMs, unit: "MB/s" });
    rows.push({ name: "RSS before open", value: rssBefore / MIB, unit: "MiB" });
    rows.push({ name: "RSS after open + one read", value: rssAfter / MIB, unit: "MiB" });
    rows.push({ name: "RSS growth for the lazy read", value: (rssAfter - rssBefore) / MIB, unit: "MiB" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

// `deno bench` timings. Files are created on first use and removed when the process unloads.
let benchSetup: Promise<{ w: Tensor; ipc: string; st: string }> | undefined;
function benchFiles(): Promise<{ w: Tensor; ipc: string; st: string }> {
  benchSetup ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "quantlab_io_bench_" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const files = { w: filled(IPC_SHAPE, 7), ipc: `${dir}/w.arrow`, st: `${dir}/big.safetensors` };
    await saveTensors(files.ipc, { w: files.w });
    await writeBigSafetensors(files.st);
    return files;
  })();
  return benchSetup;
}

Deno.bench({ name: "ipc saveTensors 64 MiB f32", group: "ipc", n: 5, warmup: 1 }, async (b) => {
  const { w, ipc } = await benchFiles();
  b.start();
  await saveTensors(ipc, { w });
  b.end();
});

Deno.bench({ name: "ipc loadTensors 64 MiB f32", group: "ipc", n: 5, warmup: 1 }, async (b) => {
  const { ipc } = await benchFiles();
  b.start();
  await loadTensors(ipc);
  b.end();
});

Deno.bench({ name: "safetensors open + lazy read 4 MiB of ~1 GiB", n: 20, warmup: 2 }, async (b) => {
  const { st } = await benchFiles();
  b.start();
  using f = await openSafetensors(st);
  await f.read(`layers.${ST_PICK}.weight`);
  b.end();
});

if (import.meta.main) {
  const rows = await runIoBench();
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`${"benchmark".padEnd(width)}  ${"value".padStart(10)}  unit`);
  for (const r of rows) console.log(`${r.name.padEnd(width)}  ${r.value.toFixed(1).padStart(10)}  ${r.unit}`);
}
