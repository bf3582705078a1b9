import { loadOcrLines, PPOCR_V4, ocrInput } from "./lib/ocr/mod.ts";
import { loadOnnx, findWeights, readWeight, calibrateOnnx, quantizeOnnxWeight } from "./lib/onnx/mod.ts";
import { getCpuOps } from "./lib/ops/backend.ts";
import { tsOps } from "./lib/ops/ts/mod.ts";
const ops = await getCpuOps();
const train = await loadOcrLines(undefined, { split: "train", limit: 2 });
const m = await loadOnnx(PPOCR_V4.recognizer.pathname);
const ws = findWeights(m).filter(w => w.rows === 60);
let t0 = performance.now();
const stats = await calibrateOnnx(m, ws, train.map((l) => ({ x: ocrInput(l) })), { ops });
console.log("calib s", (performance.now() - t0) / 1000);
const spec = { format: "int", bits: 4, groupSize: 32, symmetric: false } as const;
for (const w of ws) {
  const st = stats.get(w.name)!;
  const H = st.groups[0]!.hessian; const n = H.shape[0]!;
  let mn = Infinity, mx = 0, dead = 0; for (let j = 0; j < n; j++) { const d = H.data[j*n+j]!; if (d === 0) dead++; else { mn = Math.min(mn, d); mx = Math.max(mx, d);} }
  try {
    await quantizeOnnxWeight(readWeight(m, w), w, st, { recipe: "gptq", spec, ops });
    console.log("ok", w.name, w.cols, w.groups, "diag", mn, mx, "dead", dead);
  } catch (e) {
    console.log("FAIL", w.name, w.cols, w.groups, "diag", mn, mx, "dead", dead, (e as Error).message.slice(0, 100));
    try { await quantizeOnnxWeight(readWeight(m, w), w, st, { recipe: "gptq", spec, ops: tsOps }); console.log("  ts ok"); } catch (e2) { console.log("  ts FAIL too"); }
  }
}
