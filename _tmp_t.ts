import { loadOcrLines, loadPpocrDictionary, evaluateOcr, PPOCR_V4, ocrInput } from "./lib/ocr/mod.ts";
import { loadOnnx, findWeights, readWeight, calibrateOnnx, quantizeOnnxWeights, exportFakeQuant } from "./lib/onnx/mod.ts";
import { getCpuOps } from "./lib/ops/backend.ts";
const ops = await getCpuOps();
console.log(ops.name);
const dict = await loadPpocrDictionary();
const test = await loadOcrLines(undefined, { split: "test", limit: 32 });
const train = await loadOcrLines(undefined, { split: "train", limit: 8 });
const m = await loadOnnx(PPOCR_V4.recognizer.pathname);
const ws = findWeights(m);
const items = ws.map((w) => ({ weight: w, W: readWeight(m, w) }));
let t0 = performance.now();
const stats = await calibrateOnnx(m, ws, train.map((l) => ({ x: ocrInput(l) })), { ops });
console.log("calib s", (performance.now() - t0) / 1000);
const fp = await evaluateOcr(m, test, dict);
console.log("fp", fp.cer, fp.seconds);
for (const spec of [{ format: "int", bits: 4, groupSize: 32, symmetric: false } as const, { format: "int", bits: 3, groupSize: 32, symmetric: false } as const]) {
  for (const recipe of ["rtn", "awq", "gptq"] as const) {
    t0 = performance.now();
    const q = await quantizeOnnxWeights(items, stats, { recipe, spec, ops });
    const tq = (performance.now() - t0) / 1000;
    const r = await evaluateOcr(exportFakeQuant(m, q).bytes, test, dict);
    console.log(recipe, spec.bits, "quant s", tq.toFixed(1), "cer", r.cer.toFixed(4), "eval s", r.seconds.toFixed(1));
  }
}
