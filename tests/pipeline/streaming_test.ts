// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { BUNDLED_MODEL_DIR, loadLlama, openLlamaCheckpoint } from "../../lib/model/load.ts";
import { loadGptqCheckpoint } from "../../lib/export/hf_gptq_read.ts";
import { calibrationSamples, loadSplit } from "../../lib/calib/corpus.ts";
import { evaluateLm } from "../../lib/eval/perplexity.ts";
import { getCpuOps } from "../../lib/ops/backend.ts";
import { dequantize, type IntQuantized } from "../../lib/quant/quantized_tensor.ts";
import { linearNames } from "../../lib/model/config.ts";
import { unpack } from "../../lib/ops/ts/pack.ts";
import { applyRecipe, getRecipe } from "../../lib/pipeline/recipes.ts";
import { quantizeStreaming, StreamingUnsupportedError } from "../../lib/pipeline/streaming.ts";
import { createCheckpointWriter } from "../../lib/pipeline/writer.ts";
import type { PipelineProgress } from "../../lib/pipeline/progress.ts";
import { assertThrowsMessage } from "../_assert.ts";

const SEQ = 64;
const FORMAT = "int4-g64-asym";
const BATCH = 4;
/** Relative tolerance of perplexities computed with different head batching (same math, summed in f64). */
const PPL_RTOL = 1e-9;

const ops = getCpuOps();
const calibration = calibrationSamples(await loadSplit("train"), { nSamples: 8, seqLen: SEQ, seed: 0 });
const test = await loadSplit("test");
const evaluation = { ids: test, seqLen: SEQ, windows: 3 };

Deno.test("quantizeStreaming: GPTQ equals the in-memory applyRecipe (weights, codes, perplexity); outputs reload", async () => {
  const recipe = getRecipe("GPTQ");
  const model = await loadLlama(BUNDLED_MODEL_DIR, { ops });
  const mem = await applyRecipe(model, recipe, { format: FORMAT, calibration, seqLen: SEQ, ops, batchSize: BATCH });
  const out = await Deno.makeTempDir();
  using ckpt = await openLlamaCheckpoint(BUNDLED_MODEL_DIR);
  const writers = [
    await createCheckpointWriter(`${out}/fake_quant`, ckpt),
    await createCheckpointWriter(`${out}/gptq`, ckpt, { layout: "gptq" }),
  ];
  const r = await quantizeStreaming(ckpt, recipe, {
    format: FORMAT,
    calibration,
    seqLen: SEQ,
    ops,
    batchSize: BATCH,
    evaluation,
    writers,
  });
  assert.deepEqual(r.skippedWriters, []);
  assert.equal(r.bitsPerWeight, mem.bitsPerWeight);
  assert.deepEqual(r.layers.map((x) => [x.name, x.mse]), mem.layers.map((x) => [x.name, x.mse]));

  const back = await loadLlama(`${out}/fake_quant`, { ops });
  for (const [name, w] of mem.model.weights) assert.deepEqual(back.weight(name).data, w.data, name);
  const gptq = await loadGptqCheckpoint(`${out}/gptq`, { ops });
  for (let l = 0; l < model.config.numLayers; l++) {
    for (const name of linearNames(l)) {
      const q = gptq.quantized.get(name)!;
      assert.deepEqual(unpack(q.codes).data, unpack((mem.quantized.get(name) as IntQuantized).codes).data, name);
      assert.deepEqual(dequantize(q).data, mem.model.weight(`${name}.weight`).data, name);
    }
  }

  const ev = await evaluateLm(mem.model, test, { seqLen: SEQ, maxWindows: 3, batchSize: BATCH, reference: model });
  const fp = await evaluateLm(model, test, { seqLen: SEQ, maxWindows: 3, batchSize: BATCH });
  const e = r.evaluation!;
  assert.equal(e.windows, 3);
  assert.ok(
    Math.abs(e.quantized.perplexity / ev.perplexity - 1) < PPL_RTOL,
    `${e.quantized.perplexity} ${ev.perplexity}`,
  );
  assert.ok(Math.abs(e.referencePerplexity / fp.perplexity - 1) < PPL_RTOL);
  assert.ok(Math.abs(e.quantized.kl! - ev.kl!) < 1e-9 * Math.max(1, ev.kl!));
  assert.equal(e.quantized.top1Agreement, ev.top1Agreement);
  await Deno.remove(out, { recursive: true });
});

Deno.test("quantizeStreaming: RTN streams without calibration and equals applyRecipe", async () => {
  const recipe = getRecipe("RTN");
  const model = await loadLlama(BUNDLED_MODEL_DIR, { ops });
  const mem = await applyRecipe(model, recipe, { format: FORMAT, ops });
  using ckpt = await openLlamaCheckpoint(BUNDLED_MODEL_DIR);
  const out = await Deno.makeTempDir();
  const r = await quantizeStreaming(ckpt, recipe, {
    format: FORMAT,
    ops,
    writers: [await createCheckpointWriter(`${out}/q`, ckpt, { overwrite: true })],
  });
  assert.deepEqual(r.written, [`${out}/q`]);
  const back = await loadLlama(`${out}/q`, { ops });
  for (const [name, w] of mem.model.weights) assert.deepEqual(back.weight(name).data, w.data, name);
  const index = JSON.parse(await Deno.readTextFile(`${out}/q/model.safetensors.index.json`));
  assert.equal(new Set(Object.values(index.weight_map)).size, model.config.numLayers + 1); // one shard per layer + rest
  await Deno.remove(out, { recursive: true });
});

Deno.test("quantizeStreaming: reads one layer at a time, in order, each tensor once", async () => {
  using ckpt = await openLlamaCheckpoint(BUNDLED_MODEL_DIR);
  const reads: { name: string; layer: number }[] = [];
  let layer = -1;
  const spy = {
    ...ckpt,
    read: (name: string) => {
      reads.push({ name, layer });
      return ckpt.read(name);
    },
    files: {
      ...ckpt.files,
      readRaw: (name: string) => {
        reads.push({ name, layer });
        return ckpt.files.readRaw(name);
      },
    },
    readPrefix: async (prefix: string) => {
      const m = await ckpt.readPrefix(prefix);
      for (const name of m.keys()) reads.push({ name, layer });
      return m;
    },
  };
  await quantizeStreaming(spy, getRecipe("GPTQ"), {
    format: FORMAT,
    calibration,
    seqLen: SEQ,
    ops,
    evaluation,
    onProgress: (p) => {
      if (p.stage === "sublayer") layer = p.layer;
      if (p.stage === "layer") layer = -1;
    },
  });
  const names = reads.map((r) => r.name);
  assert.equal(new Set(names).size, names.length, "no tensor is read twice");
  assert.deepEqual(new Set(names), new Set(ckpt.shapes.keys()), "every tensor is read");
  for (let l = 0; l < ckpt.config.numLayers; l++) {
    const prefix = `model.layers.${l}.`;
    const idx = reads.map((r, i) => (r.name.startsWith(prefix) ? i : -1)).filter((i) => i >= 0);
    // Layer l is read as one contiguous run, before its first sublayer event and after layer l−1 finished.
    assert.equal(idx.at(-1)! - idx[0]! + 1, idx.length, `layer ${l} is read contiguously`);
    assert.ok(reads.slice(idx[0]!, idx.at(-1)! + 1).every((r) => r.layer === -1));
  }
  const first = names.indexOf("model.layers.0.input_layernorm.weight");
  assert.ok(names.indexOf("model.embed_tokens.weight") < first);
  assert.ok(
    names.indexOf("lm_head.weight") >
      names.lastIndexOf(`model.layers.${ckpt.config.numLayers - 1}.mlp.down_proj.weight`),
  );
});

Deno.test("quantizeStreaming: progress has sublayers, per-layer seconds, ETA and evaluation windows", async () => {
  using ckpt = await openLlamaCheckpoint(BUNDLED_MODEL_DIR);
  const events: PipelineProgress[] = [];
  const r = await quantizeStreaming(ckpt, getRecipe("GPTQ"), {
    format: FORMAT,
    calibration,
    seqLen: SEQ,
    ops,
    evaluation,
    onProgress: (p) => events.push(p),
  });
  const L = ckpt.config.numLayers;
  assert.equal(events[0]!.stage, "start");
  assert.equal(events.at(-1)!.stage, "done");
  assert.equal(events.filter((e) => e.stage === "sublayer").length, 4 * L);
  const layers = events.filter((e) => e.stage === "layer");
  assert.deepEqual(layers.map((e) => e.layerSeconds.length), Array.from({ length: L }, (_, i) => i + 1));
  assert.equal(r.layerSeconds.length, L);
  for (const e of layers.slice(0, -1)) {
    assert.ok(e.eta !== undefined && e.eta >= 0, "an ETA after every finished layer");
  }
  const ev = events.filter((e) => e.stage === "eval" && e.evalWindowsDone > 0);
  assert.deepEqual(ev.map((e) => e.evalWindowsDone), [1, 2, 3]);
  assert.ok(ev.every((e) => e.evalWindows === 3 && e.eta !== undefined));
  assert.ok(events.some((e) => e.stage === "sublayer" && e.sublayer === "self_attn.q_proj+k_proj+v_proj"));
});

Deno.test("quantizeStreaming: refuses model-wide transforms and missing calibration, naming the fix", async () => {
  using ckpt = await openLlamaCheckpoint(BUNDLED_MODEL_DIR);
  await assertThrowsMessage(
    () => quantizeStreaming(ckpt, getRecipe("Hadamard+GPTQ"), { format: FORMAT, calibration, seqLen: SEQ }),
    StreamingUnsupportedError,
    "applyRecipe",
  );
  await assertThrowsMessage(
    () => quantizeStreaming(ckpt, getRecipe("GPTQ"), { format: FORMAT }),
    RangeError,
    "needs calibration data",
  );
});
