import { loadOcrLines, PPOCR_V4, ocrInput } from "./lib/ocr/mod.ts";
import { loadOnnx, findWeights, openSession, layerInputs } from "./lib/onnx/mod.ts";
import { HessianAccumulator } from "./lib/calib/hessian.ts";
import { getCpuOps } from "./lib/ops/backend.ts";
const ops = await getCpuOps();
const train = await loadOcrLines(undefined, { split: "train", limit: 4 });
const m = await loadOnnx(PPOCR_V4.recognizer.pathname);
const ws = findWeights(m);
const names = [...new Set(ws.flatMap((w) => w.inputs))];
const s = await openSession(m, { extraOutputs: names });
let t0 = performance.now();
const outs = await s.run({ x: ocrInput(train[0]!) }, names);
console.log("run ms", performance.now() - t0);
let tIm = 0, tH = 0;
for (const w of ws) {
  let t1 = performance.now();
  const Xs = layerInputs(w, outs.get(w.inputs[0]!)!);
  tIm += performance.now() - t1; t1 = performance.now();
  for (const X of Xs) { const h = new HessianAccumulator(w.cols, { ops }); await h.addBatch(X); }
  const dt = performance.now() - t1; tH += dt;
  if (dt > 100) console.log(w.name, w.groups, Xs[0]!.shape, dt.toFixed(0));
}
console.log("im2col ms", tIm, "hessian ms", tH);
