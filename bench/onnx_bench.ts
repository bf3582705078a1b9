// SPDX-License-Identifier: MIT
/**
 * ONNX benchmarks:
 * - time to calibrate and quantize the PP-OCRv4 recognizer (2.67 M weights: 38 Conv, 9 MatMul)
 *   with GPTQ (and RTN, for scale) at int4 g32, on the CPU backend;
 * - inference latency in onnxruntime-web (wasm, 1 thread) of the bundled LM exported as
 *   MatMulNBits (4-bit, block 32) vs its f32 `model.onnx`, one window of 256 tokens, and the
 *   file sizes (skipped when the bundled model is absent).
 *
 * Run: deno run -A bench/onnx_bench.ts
 */
import type { BenchRow } from "./_util.ts";
import { getCpuOps } from "../lib/ops/backend.ts";
import { calibrateOnnx, findWeights, loadOnnx, quantizeOnnxWeights, readWeight } from "../lib/onnx/mod.ts";
import { exportMatMulNBits } from "../lib/export/onnx_matmulnbits.ts";
import { quantizeOnnxLlama } from "../lib/onnx/llama.ts";
import { loadOcrLines, ocrInput, PPOCR_V4 } from "../lib/ocr/mod.ts";
import { BUNDLED_MODEL_DIR, loadLlama } from "../lib/model/load.ts";
import { loadSplit } from "../lib/calib/corpus.ts";
import { openOnnxLm } from "../lib/eval/onnx_lm.ts";

/** Calibration lines for the OCR GPTQ timing. */
const OCR_CALIB_LINES = 16;
const SEQ_LEN = 256;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Median milliseconds of `reps` calls after one warm-up. */
async function medianMs(fn: () => Promise<unknown>, reps: number): Promise<number> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)] as number;
}

async function ocrRows(): Promise<BenchRow[]> {
  const ops = await getCpuOps();
  const m = await loadOnnx(PPOCR_V4.recognizer.pathname);
  const ws = findWeights(m);
  const items = ws.map((w) => ({ weight: w, W: readWeight(m, w) }));
  const lines = await loadOcrLines(undefined, { split: "train", limit: OCR_CALIB_LINES });
  const size = `PP-OCRv4 rec ${ws.length} layers`;
  let t0 = performance.now();
  const stats = await calibrateOnnx(m, ws, lines.map((l) => ({ x: ocrInput(l) })), { ops });
  const calib = (performance.now() - t0) / 1000;
  const spec = { format: "int", bits: 4, groupSize: 32, symmetric: false } as const;
  t0 = performance.now();
  await quantizeOnnxWeights(items, stats, { recipe: "gptq", spec, ops });
  const gptq = (performance.now() - t0) / 1000;
  t0 = performance.now();
  await quantizeOnnxWeights(items, undefined, { recipe: "rtn", spec, ops });
  const rtn = (performance.now() - t0) / 1000;
  return [
    { backend: ops.name, op: `ocr calibrate (${OCR_CALIB_LINES} lines, ort-web)`, size, value: calib, unit: "s" },
    { backend: ops.name, op: "ocr quantize GPTQ int4-g32", size, value: gptq, unit: "s" },
    { backend: ops.name, op: "ocr quantize RTN int4-g32", size, value: rtn, unit: "s" },
  ];
}

async function lmRows(): Promise<BenchRow[]> {
  const path = `${BUNDLED_MODEL_DIR}/model.onnx`;
  if (!(await exists(path)) || !(await exists(`${BUNDLED_MODEL_DIR}/model.safetensors`))) return [];
  const ops = await getCpuOps();
  const llama = await loadLlama(BUNDLED_MODEL_DIR, { ops });
  const onnx = await loadOnnx(path);
  const spec = { format: "int", bits: 4, groupSize: 32, symmetric: false } as const;
  const { quantized } = await quantizeOnnxLlama(onnx, llama, { recipe: "rtn", spec, ops });
  const nbits = exportMatMulNBits(onnx, quantized);
  const test = await loadSplit("test");
  const rows: BenchRow[] = [];
  for (const batch of [1, 4]) {
    const ids = Int32Array.from({ length: batch * SEQ_LEN }, (_, i) => test[i] as number);
    const size = `${batch}x${SEQ_LEN} tokens`;
    for (const [label, source] of [["f32 model.onnx", path], ["MatMulNBits b32", nbits.bytes]] as const) {
      const lm = await openOnnxLm(source);
      try {
        const ms = await medianMs(() => lm.logits(ids, SEQ_LEN), 5);
        rows.push({ backend: "ort-web wasm 1t", op: `lm forward ${label}`, size, value: ms, unit: "ms" });
      } finally {
        await lm.release();
      }
    }
  }
  rows.push({ backend: "-", op: "lm file f32 model.onnx", size: "", value: onnx.byteLength / 2 ** 20, unit: "MiB" });
  rows.push({ backend: "-", op: "lm file MatMulNBits b32", size: "", value: nbits.fileBytes / 2 ** 20, unit: "MiB" });
  rows.push({ backend: "-", op: "lm MatMulNBits b32 bits/weight", size: "", value: nbits.bitsPerWeight, unit: "bits" });
  return rows;
}

/** Runs the ONNX benchmarks. */
export async function runOnnxBench(): Promise<BenchRow[]> {
  return [...(await ocrRows()), ...(await lmRows())];
}

if (import.meta.main) {
  for (const r of await runOnnxBench()) {
    console.log(
      `${r.backend.padEnd(16)} ${r.op.padEnd(42)} ${r.size.padEnd(24)} ${
        r.value.toPrecision(4).padStart(10)
      } ${r.unit}`,
    );
  }
}

export type { BenchRow };
