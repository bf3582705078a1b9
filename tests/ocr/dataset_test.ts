// SPDX-License-Identifier: MIT
/** The rendered SOTU line set: Arrow IPC round trip, the bundled file, the recognizer on it. */
import assert from "node:assert/strict";
import { assertThrowsMessage } from "../_assert.ts";
import { loadOcrLines, OCR_LINES_FILE, type OcrLine, ocrLinesFromIPC, ocrLinesToIPC } from "../../lib/ocr/dataset.ts";
import { evaluateOcr, loadPpocrDictionary, OCR_HEIGHT, ocrInput, PPOCR_V4 } from "../../lib/ocr/recognize.ts";
import { canSpell } from "../../lib/ocr/dictionary.ts";
import { loadOnnx } from "../../lib/onnx/load.ts";
import { findWeights, readWeight } from "../../lib/onnx/weights.ts";
import { quantizeOnnxWeights } from "../../lib/onnx/quantize.ts";
import { exportQdq } from "../../lib/export/onnx_qdq.ts";

/** Lines read in the recognizer tests (the model takes ~0.1–0.2 s per line on 2 cores). */
const EVAL_LINES = 8;
/** Full-precision CER on the first lines (measured 0–0.5 % on the whole test split). */
const MAX_FP_CER = 0.03;
/** int8 per-channel weights change few readings. */
const MAX_W8_CER_INCREASE = 0.02;

Deno.test("ocrLines IPC round trip", async () => {
  const lines: OcrLine[] = [
    { split: "test", text: "ab", font: "f 1pt", width: 3, height: 2, pixels: Uint8Array.from([0, 1, 2, 3, 4, 5]) },
    { split: "train", text: "çé", font: "g 2pt", width: 1, height: 1, pixels: Uint8Array.from([255]) },
  ];
  const back = ocrLinesFromIPC(ocrLinesToIPC(lines));
  assert.deepEqual(
    back.map((l) => ({ ...l, pixels: [...l.pixels] })),
    lines.map((l) => ({ ...l, pixels: [...l.pixels] })),
  );
  const bad = ocrLinesToIPC([{ ...lines[0]!, width: 4 }]);
  await assertThrowsMessage(() => ocrLinesFromIPC(bad, "bad.arrow"), TypeError, "bad.arrow", "6 pixels for 4×2");
  await assertThrowsMessage(() => ocrLinesFromIPC(new Uint8Array([1, 2, 3]), "junk"), TypeError, "junk");
});

Deno.test("bundled data/ocr/sotu_lines.arrow: 256 test + 96 train lines, 48 px high, ≤ 10 MB, spellable", async () => {
  const size = (await Deno.stat(OCR_LINES_FILE)).size;
  assert.ok(size <= 10 * 1024 * 1024, `${size} bytes`);
  const lines = await loadOcrLines();
  assert.equal(lines.filter((l) => l.split === "test").length, 256);
  assert.equal(lines.filter((l) => l.split === "train").length, 96);
  const dict = await loadPpocrDictionary();
  for (const l of lines) {
    assert.equal(l.height, OCR_HEIGHT);
    assert.ok(l.text.length >= 8 && l.text.length <= 24 && canSpell(dict, l.text), l.text);
  }
  assert.equal((await loadOcrLines(undefined, { split: "train", limit: 5 })).length, 5);
  const x = ocrInput(lines[0]!);
  assert.deepEqual(x.shape, [1, 3, 48, lines[0]!.width]);
  assert.ok(x.data.every((v) => v >= -1 && v <= 1));
});

Deno.test("PP-OCRv4 reads the first test lines; int8 QDQ export reads them about as well", async () => {
  const dict = await loadPpocrDictionary();
  const lines = await loadOcrLines(undefined, { split: "test", limit: EVAL_LINES });
  const m = await loadOnnx(PPOCR_V4.recognizer.pathname);
  const fp = await evaluateOcr(m, lines, dict);
  assert.ok(fp.cer <= MAX_FP_CER, `FP CER ${fp.cer}: ${fp.predictions.join(" | ")}`);
  const ws = findWeights(m);
  const spec = { format: "int", bits: 8, groupSize: 0, symmetric: true } as const;
  const q = await quantizeOnnxWeights(ws.map((w) => ({ weight: w, W: readWeight(m, w) })), undefined, {
    recipe: "rtn",
    spec,
  });
  const qdq = exportQdq(m, q);
  assert.ok(qdq.fileBytes < m.byteLength / 3, `QDQ file ${qdq.fileBytes} vs ${m.byteLength}`);
  const w8 = await evaluateOcr(qdq.bytes, lines, dict);
  assert.ok(w8.cer <= fp.cer + MAX_W8_CER_INCREASE, `W8 CER ${w8.cer} vs FP ${fp.cer}`);
});
