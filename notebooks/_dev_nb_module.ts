// cell 1
console.error('cell 1', performance.now()/1000);
import {
  activationStats, BUNDLED_MODEL_DIR, calibrationSamples, captureLinearInputs, clipErrorCurve, collectHessians,
  evaluateLm, formatId, getCpuOps, klCalibrate, loadLlama, loadSplit, mse, parseQuantSpec, percentileThreshold,
  quantizationKernelFraction, quantize, quantizeActivations, ResultsTable, sinqQuantize, weightedError,
} from "../mod.ts";
import { rtnModel } from "../lib/eval/rtn_model.ts";
import { bar, displayTable, line, scatter } from "../lib/viz/mod.ts";
const seed = 0;
import { expectedShapes, LlamaModel, parseLlamaConfig, randnF32, Tensor } from "../mod.ts";
;
// cell 3
console.error('cell 3', performance.now()/1000);
const ops = getCpuOps();
const cfg = parseLlamaConfig({ model_type: "llama", vocab_size: 256, hidden_size: 256, intermediate_size: 768, num_hidden_layers: 4, num_attention_heads: 4, max_position_embeddings: 256 });
const model = new LlamaModel(cfg, new Map([...expectedShapes(cfg)].map(([n, s], i) => [n, s.length === 1 ? new Tensor("f32", s, new Float32Array(s[0]).fill(1)) : randnF32(s, i, 1 / Math.sqrt(s[1]))])), ops, "random");
const test = await loadSplit("test");
const calib = calibrationSamples(await loadSplit("train"), { nSamples: 32, seqLen: 256, seed });
const evalOptions = { seqLen: 256, maxWindows: 16 };
const fp = await evaluateLm(model, test, evalOptions);
displayTable([{ backend: ops.name, calibrationTokens: calib.length, windows: fp.windows, perplexity: fp.perplexity, bitsPerByte: fp.bitsPerToken }])
;
// cell 5
console.error('cell 5', performance.now()/1000);
const stats = await activationStats(model, calib, 256, { histogramBins: 64, ops });
displayTable(stats.layers, { caption: "linear inputs over 32×256 calibration tokens" })
;
// cell 7
console.error('cell 7', performance.now()/1000);
const channelRows = stats.channels.toArray().map((r) => r.toJSON());
const qIn = channelRows.filter((r) => r.name === "model.layers.1.self_attn.q_proj");
line({ absmax: qIn.map((r) => r.absmax), std: qIn.map((r) => r.std) }, { title: "block 1 attention input per channel", xTitle: "input channel", logY: true })
;
// cell 9
console.error('cell 9', performance.now()/1000);
const layerRows = stats.layers.toArray().map((r) => r.toJSON());
const short = (n: string) => n.replace("model.layers.", "L").replace("self_attn.", "").replace("mlp.", "");
bar(layerRows.map((r) => short(r.name)), { "max/median channel absmax": layerRows.map((r) => r.mmr), kurtosis: layerRows.map((r) => r.kurtosis) }, { logY: true, title: "outlier measures per linear input" })
;
// cell 11
console.error('cell 11', performance.now()/1000);
const lastDown = `model.layers.${model.config.numLayers - 1}.mlp.down_proj`;
const histRows = stats.histograms.toArray().map((r) => r.toJSON()).filter((r) => r.name === lastDown);
line({ count: histRows.map((r) => r.count) }, { x: histRows.map((r) => (r.lo + r.hi) / 2), logY: true, xTitle: "value", title: `${lastDown} input` })
;
// cell 13
console.error('cell 13', performance.now()/1000);
const t0 = performance.now();
const hessians = await collectHessians(model, calib, 256, { batchSize: 8, ops });
displayTable([{ linears: hessians.size, tokens: calib.length, seconds: (performance.now() - t0) / 1000 }])
;
// cell 15
console.error('cell 15', performance.now()/1000);
const layer = "model.layers.1.mlp.down_proj";
const W = model.weight(`${layer}.weight`), H = hessians.get(layer)!;
const spec3 = parseQuantSpec("int3-g128-asym");
const ratios = Array.from({ length: 41 }, (_, i) => 1 - i * 0.015);
const wCurve = await clipErrorCurve(W, spec3, ratios, { ops });
const oCurve = await clipErrorCurve(W, spec3, ratios, { ops, H });
line({ "weight space": wCurve.map((v) => v / wCurve[0]), "output space": oCurve.map((v) => v / oCurve[0]) }, { x: ratios, xTitle: "clipping ratio α", yTitle: "error / min-max error" })
;
// cell 17
console.error('cell 17', performance.now()/1000);
const observerRows: Record<string, unknown>[] = [];
for (const observer of ["minmax", "mse", "mse-output", "percentile", "neuqi"] as const) {
  const r = await quantize(W, spec3, { ops, observer, H, mse: { grid: 50 } });
  observerRows.push({ observer, weightMse: mse(W, r.weight), outputError: weightedError(W, r.weight, H) });
}
const sinq = await sinqQuantize(W, spec3, { ops });
observerRows.push({ observer: "sinq", weightMse: mse(W, sinq.weight), outputError: weightedError(W, sinq.weight, H) });
displayTable(observerRows, { caption: `${layer}, ${formatId(spec3)}` })
;
// cell 19
console.error('cell 19', performance.now()/1000);
line(Object.fromEntries(sinq.imbalance.map((h, i) => [`tile ${i}`, h])), { xTitle: "iteration", yTitle: "imbalance", logY: true })
;
// cell 21
console.error('cell 21', performance.now()/1000);
const X = (await captureLinearInputs(model, calib.subarray(0, 8 * 256), 256, { names: [layer], ops })).get(layer)!;
const kl = await klCalibrate(X, { ops });
displayTable([{ absmax: kl.absmax, klThreshold: kl.threshold, "p99.99": percentileThreshold(X, 99.99), "p99.9": percentileThreshold(X, 99.9) }])
;
// cell 23
console.error('cell 23', performance.now()/1000);
const kernelRows: Record<string, unknown>[] = [];
for (const bits of [8, 6, 4, 3]) {
  const perToken = await quantizeActivations(X, { format: "int", bits, groupSize: 0, symmetric: true }, { ops });
  const perTensor = await quantizeActivations(X, { format: "int", bits, groupSize: 0, symmetric: true, perTensor: true }, { ops });
  kernelRows.push({ bits, perToken: quantizationKernelFraction(X, perToken), perTensor: quantizationKernelFraction(X, perTensor) });
}
displayTable(kernelRows, { caption: "quantization-kernel fraction" })
;
// cell 25
console.error('cell 25', performance.now()/1000);
const results = new ResultsTable("RTN over all 28 linears; test split, first 16 windows of 256 bytes");
const row = { model: model.source.split("/").pop()!, split: "test", seqLen: 256, calibration: "none" };
results.add({ ...row, recipe: "FP", format: "fp32", bitsPerWeight: 32, perplexity: fp.perplexity, bitsPerToken: fp.bitsPerToken, windows: fp.windows });
async function addRun(recipe: string, r: Awaited<ReturnType<typeof rtnModel>>, calibration = "none") {
  const ev = await evaluateLm(r.model, test, { ...evalOptions, reference: model });
  results.add({ ...row, recipe, format: r.formatId, bitsPerWeight: r.bitsPerWeight, perplexity: ev.perplexity, bitsPerToken: ev.bitsPerToken, kl: ev.kl, top1Agreement: ev.top1Agreement, quantSeconds: r.seconds, windows: ev.windows, calibration });
}
;
// cell 27
console.error('cell 27', performance.now()/1000);
const formats = ["int8-ch-sym", "fp8-e4m3-ch", "fp8-e5m2-ch", "mxfp8-e4m3", "mxint8", "fp6-e3m2-g128", "fp6-e2m3-g128", "mxfp6-e2m3", "int4-g128-asym", "int4-ch-asym", "fp4-e2m1-g128", "nf4-g128", "mxfp4-e2m1", "int3-g128-asym", "nf3-g128", "int2-g64-asym"];
for (const id of formats) await addRun("RTN", await rtnModel(model, parseQuantSpec(id), { ops }));
results
;
// cell 29
console.error('cell 29', performance.now()/1000);
for (const id of ["int4-g128-asym", "int3-g128-asym", "int2-g64-asym"]) {
  const spec = parseQuantSpec(id);
  await addRun("RTN+MSE", await rtnModel(model, spec, { ops, observer: "mse", mse: { grid: 20 } }));
  await addRun("NeUQI", await rtnModel(model, spec, { ops, observer: "neuqi", hessians, neuqi: { scaleSteps: 20 } }), "train 32×256 seed 0");
  await addRun("SINQ", await rtnModel(model, spec, { ops, observer: "sinq" }));
}
results
;
// cell 31
console.error('cell 31', performance.now()/1000);
const family = (r: { recipe: string; format: string }) => r.recipe !== "RTN" ? r.recipe : r.format.startsWith("mx") ? "MX" : r.format.startsWith("fp") ? "minifloat" : r.format.startsWith("nf") ? "NormalFloat" : "integer";
const groups: Record<string, { x: number[]; y: number[] }> = {};
for (const r of results.rows.filter((r) => r.recipe !== "FP")) {
  const g = (groups[family(r)] ??= { x: [], y: [] });
  g.x.push(r.bitsPerWeight);
  g.y.push(r.perplexity);
}
scatter(groups, { xTitle: "bits per weight", yTitle: "perplexity (16 test windows)", logY: true, title: `FP perplexity ${fp.perplexity.toFixed(3)}` })
;
