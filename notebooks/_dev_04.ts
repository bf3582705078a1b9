// cell 1
import {
  activationQuantHooks, activationStats, bitsPerWeight, BUNDLED_MODEL_DIR, calibrationSamples, checkInvariance,
  evaluateLm, foldNorms, getCpuOps, hadamard, incoherence, type IntSpec, type LlamaModel, loadLlama, loadSplit,
  modelBitsPerWeight, quantizeModelWeights, quantizeRtn, quarotRotate, rebuildModel, ResultsTable, smoothQuant,
  withOnlineHooks,
} from "../mod.ts";
import { box, displayTable, heatmap, histogram, line } from "../lib/viz/mod.ts";
const seed = 0;
;
console.error('cell 1 done at', (performance.now()/1000).toFixed(1));
// cell 3
heatmap(hadamard(96), { title: "H₉₆ = H₁₂ ⊗ H₈ (entries ±1)", height: 520 })
;
console.error('cell 3 done at', (performance.now()/1000).toFixed(1));
// cell 5
const ops = getCpuOps();
const model = await loadLlama("/tmp/devmodel", { ops });
const test = await loadSplit("test");
const calib = calibrationSamples(await loadSplit("train"), { nSamples: 16, seqLen: 256, seed });
const probe = test.subarray(0, 4 * 128);
const evalOpts = { seqLen: 256, maxWindows: 16 };
({ backend: ops.name, hidden: model.config.hiddenSize, ffn: model.config.intermediateSize, heads: model.config.numHeads, testBytes: test.length })
;
console.error('cell 5 done at', (performance.now()/1000).toFixed(1));
// cell 7
const t0 = performance.now();
const rotated = await quarotRotate(model, { seed });
({ milliseconds: Math.round(performance.now() - t0), source: rotated.source })
;
console.error('cell 7 done at', (performance.now()/1000).toFixed(1));
// cell 9
const report = await checkInvariance(model, rotated, probe, 128);
displayTable(report.layers, { caption: `max |Δ logits| = ${report.maxAbsDiff.toExponential(2)}, mean KL = ${report.kl.toExponential(2)} nats` })
;
console.error('cell 9 done at', (performance.now()/1000).toFixed(1));
// cell 11
const normName = "model.layers.2.post_attention_layernorm.weight";
const broken = rebuildModel(rotated, new Map([...rotated.weights, [normName, model.weight(normName)]]));
await checkInvariance(model, broken, probe, 128).then(() => "not caught", (e: Error) => `${e.name}: ${e.message}`)
;
console.error('cell 11 done at', (performance.now()/1000).toFixed(1));
// cell 13
const folded = foldNorms(model);
const wName = "model.layers.0.self_attn.q_proj.weight";
histogram({ "folded, not rotated": folded.weight(wName).data, rotated: rotated.weight(wName).data }, { bins: 120, logY: true, title: `${wName}: values`, xTitle: "weight" })
;
console.error('cell 13 done at', (performance.now()/1000).toFixed(1));
// cell 15
const kurtosis = (x: Float32Array) => {
  let m = 0, v = 0, k = 0;
  for (const a of x) m += a / x.length;
  for (const a of x) (v += (a - m) ** 2 / x.length), (k += (a - m) ** 4 / x.length);
  return k / (v * v);
};
const linears = [...model.weights.keys()].filter((n) => n.endsWith("_proj.weight"));
displayTable(linears.map((n) => ({ linear: n.replace("model.layers.", "L").replace(".weight", ""), kurtosisBefore: kurtosis(folded.weight(n).data), kurtosisAfter: kurtosis(rotated.weight(n).data), incoherenceBefore: incoherence(folded.weight(n)), incoherenceAfter: incoherence(rotated.weight(n)) })))
;
console.error('cell 15 done at', (performance.now()/1000).toFixed(1));
// cell 17
const names = ["model.layers.1.self_attn.q_proj", "model.layers.1.mlp.down_proj"];
const calib4 = calib.subarray(0, 4 * 256);
const before = await activationStats(model, calib4, 256, { names, histogramBins: 0 });
const after = await activationStats(rotated, calib4, 256, { names, histogramBins: 0 });
const tag = (t: typeof before.layers, model: string) => t.toArray().map((r) => ({ model, ...(r as { toJSON(): Record<string, unknown> }).toJSON() }));
displayTable([...tag(before.layers, "original"), ...tag(after.layers, "rotated")])
;
console.error('cell 17 done at', (performance.now()/1000).toFixed(1));
// cell 19
const absmaxOf = (s: typeof before, name: string) => s.channels.toArray().map((r) => (r as { toJSON(): Record<string, number | string> }).toJSON()).filter((r) => r.name === name).map((r) => r.absmax as number);
line({ original: absmaxOf(before, names[0]!), rotated: absmaxOf(after, names[0]!) }, { title: `${names[0]} input: per-channel max |x|`, xTitle: "channel", yTitle: "max |x|" })
;
console.error('cell 19 done at', (performance.now()/1000).toFixed(1));
// cell 21
const smooth = (await smoothQuant(model, calib, { seqLen: 256, alpha: 0.5 })).model;
(await checkInvariance(model, smooth, probe, 128)).maxAbsDiff
;
console.error('cell 21 done at', (performance.now()/1000).toFixed(1));
// cell 23
const intSpec = (bits: number): IntSpec => ({ format: "int", bits, groupSize: 0, symmetric: true });
const rtn = async (m: LlamaModel, bits: number) => (await quantizeModelWeights(m, async (_n, W) => (await quantizeRtn(W, intSpec(bits), { ops })).weight)).model;
const withActs = (m: LlamaModel, bits?: number) => (bits ? withOnlineHooks(m, activationQuantHooks(intSpec(bits), { ops })) : m);
const bpw = (bits: number) => modelBitsPerWeight(model, (cols) => bitsPerWeight(intSpec(bits), cols));
const row = (recipe: string, format: string, bits: number, r: { perplexity: number; bitsPerToken: number; windows: number }) =>
  ({ recipe, format, bitsPerWeight: bits, perplexity: r.perplexity, bitsPerToken: r.bitsPerToken, model: "sotu-llama-d256-l4", split: "test", seqLen: 256, windows: r.windows, calibration: "train 16×256 seed 0" });
const settings: [string, number, number?][] = [["W4", 4], ["W3", 3], ["W8A8", 8, 8], ["W4A8", 4, 8], ["W4A4", 4, 4]];
;
console.error('cell 23 done at', (performance.now()/1000).toFixed(1));
// cell 25
const table = new ResultsTable("RTN (per-channel symmetric weights, per-token symmetric activations)");
table.add(row("FP32", "fp32", 32, await evaluateLm(model, test, evalOpts)));
for (const [recipe, m] of [["RTN", model], ["SmoothQuant α=0.5 + RTN", smooth], ["QuaRot + RTN", rotated]] as const) {
  for (const [format, w, a] of settings) table.add(row(recipe, format, bpw(w), await evaluateLm(withActs(await rtn(m, w), a), test, evalOpts)));
}
table
;
console.error('cell 25 done at', (performance.now()/1000).toFixed(1));
// cell 27
const spread: Record<string, number[]> = { "randomized Hadamard": [], "random orthogonal": [] };
for (let s = 0; s < 10; s++) {
  for (const [label, kind] of [["randomized Hadamard", "hadamard"], ["random orthogonal", "orthogonal"]] as const) {
    const m = await quarotRotate(model, { seed: s, r1: kind, r2: kind });
    spread[label]!.push((await evaluateLm(withActs(await rtn(m, 4), 4), test, { seqLen: 256, maxWindows: 8 })).perplexity);
  }
}
box(spread, { title: "W4A4 perplexity over 10 rotation seeds (8 test windows)", yTitle: "perplexity" })
;
console.error('cell 27 done at', (performance.now()/1000).toFixed(1));
