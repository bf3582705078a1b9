import { loadOcrLines, PPOCR_V4, ocrInput } from "./lib/ocr/mod.ts";
import { loadOnnx, findWeights, readWeight, calibrateOnnx } from "./lib/onnx/mod.ts";
import { gptq } from "./lib/reconstruct/gptq.ts";
import { tsOps } from "./lib/ops/ts/mod.ts";
import { Tensor } from "./lib/tensor/tensor.ts";
const train = await loadOcrLines(undefined, { split: "train", limit: 2 });
const m = await loadOnnx(PPOCR_V4.recognizer.pathname);
const ws = findWeights(m).filter(w => w.name === "conv2d_106.w_0");
const stats = await calibrateOnnx(m, ws, train.map((l) => ({ x: ocrInput(l) })));
const W = readWeight(m, ws[0]!);
let wmax = 0; for (const v of W.data) wmax = Math.max(wmax, Math.abs(v)); console.log("wmax", wmax, W.data.some(Number.isNaN));
const H = stats.get(ws[0]!.name)!.groups[0]!.hessian;
for (const spec of [{ format: "int", bits: 4, groupSize: 0, symmetric: false } as const, { format: "int", bits: 4, groupSize: 16, symmetric: false } as const, { format: "int", bits: 4, groupSize: 48, symmetric: false } as const]) {
  try { const r = await gptq(W, H, { spec, ops: tsOps }); console.log("ok", spec.groupSize, r.totalLoss, r.damp); } catch (e) { console.log("fail", spec.groupSize, (e as Error).message.slice(0, 120)); }
}
await Deno.writeFile("/tmp/onx/W106.bin", new Uint8Array(W.data.buffer)); await Deno.writeFile("/tmp/onx/H106.bin", new Uint8Array(H.data.buffer));
