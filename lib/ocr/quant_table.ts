// SPDX-License-Identifier: MIT
/**
 * The OCR quantization table: the PP-OCRv4 recognizer's CER at full precision and with its
 * weights (every Conv and MatMul) quantized by each recipe at each format, calibrated on
 * rendered train-split lines, evaluated on rendered test-split lines. Quantized models are
 * exported as fake-quantized f32 ONNX and read in onnxruntime-web, so the CER is the one of
 * the exported network. Two bit counts: quantlab's accounting (dense codes, f16 scales) and
 * the QDQ file's (3-bit codes stored as UINT4, f32 scales).
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import { formatId, type IntSpec } from "../quant/spec.ts";
import type { OnnxModel } from "../onnx/load.ts";
import { findWeights, readWeight } from "../onnx/weights.ts";
import { calibrateOnnx, type WeightStats } from "../onnx/capture.ts";
import { type OnnxRecipe, quantizeOnnxWeights } from "../onnx/quantize.ts";
import { exportFakeQuant, exportQdq } from "../export/onnx_qdq.ts";
import { storageBits } from "../quant/quantized_tensor.ts";
import type { OcrLine } from "./dataset.ts";
import type { OcrDictionary } from "./dictionary.ts";
import { evaluateOcr, ocrInput } from "./recognize.ts";

/** One row of the table. */
export interface OcrQuantRow {
  /** Quantization recipe, or `fp32` for the unquantized model. */
  recipe: OnnxRecipe | "fp32";
  /** Format id (e.g. `int4-g32-asym`), `fp32` for the reference row. */
  format: string;
  /**
   * Bits per weight in quantlab's accounting (`storageBits`: packed codes, f16 scales, zero
   * points; partial groups padded), over all quantized weights (32 for fp32).
   */
  bitsPerWeight: number;
  /** Bits per weight of the QDQ ONNX export (UINT4/UINT8 codes, f32 scales, zero points). */
  qdqBitsPerWeight: number;
  /** Character error rate on the test lines. */
  cer: number;
  /** Share of test lines read exactly. */
  lineAccuracy: number;
  /** Seconds to quantize all weights (calibration excluded). */
  quantizeSeconds: number;
  /** Test lines evaluated. */
  testLines: number;
  /** Calibration lines used (0 when no recipe needs them). */
  calibrationLines: number;
}

/** The formats of the issue: W8, W4 g32, W4 per-channel, W3 g32 (asymmetric, min–max ranges). */
export const OCR_TABLE_SPECS: readonly IntSpec[] = [
  { format: "int", bits: 8, groupSize: 0, symmetric: false },
  { format: "int", bits: 4, groupSize: 32, symmetric: false },
  { format: "int", bits: 4, groupSize: 0, symmetric: false },
  { format: "int", bits: 3, groupSize: 32, symmetric: false },
];

/** Options of {@link ocrQuantTable}. */
export interface OcrQuantTableOptions {
  /** Recipes to run (default `rtn`, `awq`, `gptq`). */
  recipes?: readonly OnnxRecipe[];
  /** Formats to run (default {@link OCR_TABLE_SPECS}). */
  specs?: readonly IntSpec[];
  /** Backend (default tsOps). */
  ops?: Ops;
  /** Precomputed calibration statistics (else computed from `calibration`). */
  stats?: Map<string, WeightStats>;
  /** Called with each row as soon as it is measured. */
  onRow?: (row: OcrQuantRow) => void;
}

/**
 * Builds the table.
 *
 * @param model the full-precision recognizer
 * @param test evaluation lines; `calibration` lines for AWQ/GPTQ statistics
 */
export async function ocrQuantTable(
  model: OnnxModel,
  dict: OcrDictionary,
  test: readonly OcrLine[],
  calibration: readonly OcrLine[],
  options: OcrQuantTableOptions = {},
): Promise<OcrQuantRow[]> {
  const recipes = options.recipes ?? ["rtn", "awq", "gptq"];
  const specs = options.specs ?? OCR_TABLE_SPECS;
  const ws = findWeights(model);
  const items = ws.map((w) => ({ weight: w, W: readWeight(model, w) }));
  const needStats = recipes.some((r) => r !== "rtn");
  const stats = options.stats ??
    (needStats
      ? await calibrateOnnx(model, ws, calibration.map((l) => ({ x: ocrInput(l) })), {
        ...(options.ops && { ops: options.ops }),
      })
      : undefined);
  const elements = ws.reduce((a, w) => a + w.rows * w.cols, 0);
  const base = { testLines: test.length, calibrationLines: needStats ? calibration.length : 0 };
  const rows: OcrQuantRow[] = [];
  const push = (r: OcrQuantRow) => (rows.push(r), options.onRow?.(r));
  const fp = await evaluateOcr(model, test, dict);
  push({
    recipe: "fp32",
    format: "f32",
    bitsPerWeight: 32,
    qdqBitsPerWeight: 32,
    cer: fp.cer,
    lineAccuracy: fp.lineAccuracy,
    quantizeSeconds: 0,
    ...base,
  });
  for (const spec of specs) {
    for (const recipe of recipes) {
      const t0 = performance.now();
      const q = await quantizeOnnxWeights(items, stats, { recipe, spec, ...(options.ops && { ops: options.ops }) });
      const seconds = (performance.now() - t0) / 1000;
      const r = await evaluateOcr(exportFakeQuant(model, q).bytes, test, dict);
      push({
        recipe,
        format: formatId(spec),
        bitsPerWeight: [...q.values()].reduce((a, x) => a + storageBits(x.q), 0) / elements,
        qdqBitsPerWeight: exportQdq(model, q).bitsPerWeight,
        cer: r.cer,
        lineAccuracy: r.lineAccuracy,
        quantizeSeconds: seconds,
        ...base,
      });
    }
  }
  return rows;
}
