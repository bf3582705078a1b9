// SPDX-License-Identifier: MIT
/**
 * The Hugging Face GPTQ export against an independent dequantizer: tools/dequant_gptq.py (Debian
 * /usr/bin/python3 + torch, AutoGPTQ formulas) turns each export back into f32 weights, which must
 * be bit-identical to the fake-quant weights quantlab evaluated (linears; the f32 product
 * `scale·(q − zero)` is exact) and to the f16-rounded source (every other tensor). quantlab's own
 * reader must agree too.
 */
import assert from "node:assert/strict";
import { BUNDLED_MODEL_DIR, loadLlama, openLlamaCheckpoint } from "../../lib/model/load.ts";
import type { LlamaModel } from "../../lib/model/llama.ts";
import { writeGptqCheckpoint } from "../../lib/export/hf_gptq.ts";
import { loadGptqCheckpoint } from "../../lib/export/hf_gptq_read.ts";
import { HfExportError, toF16Checked } from "../../lib/export/hf_files.ts";
import { openCheckpoint } from "../../lib/tensor/safetensors_checkpoint.ts";
import { f16BitsToF32 } from "../../lib/tensor/numeric.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { getCpuOps } from "../../lib/ops/backend.ts";
import { calibrationSamples, loadSplit } from "../../lib/calib/corpus.ts";
import { applyRecipe, getRecipe, type RecipeResult } from "../../lib/pipeline/recipes.ts";
import { quantizeStreaming } from "../../lib/pipeline/streaming.ts";
import { createCheckpointWriter, recipeProvenance } from "../../lib/pipeline/writer.ts";
import { fixtureDir } from "../model/_arch_fixtures.ts";
import { tinyIds } from "../calib/_tiny_model.ts";
import { assertThrowsMessage } from "../_assert.ts";

const SEQ = 64;
const ops = getCpuOps();
const calibration = calibrationSamples(await loadSplit("train"), { nSamples: 8, seqLen: SEQ, seed: 0 });
const SCRIPT = new URL("../../tools/dequant_gptq.py", import.meta.url).pathname;
/** Act-order GPTQ with groups fixed before the sweep (trivial g_idx, desc_act true). */
const STATIC = getRecipe(JSON.stringify({
  name: "GPTQ+act-order+static",
  reconstruction: { kind: "gptq", actOrder: true, staticGroups: true },
}));

/** Runs the independent dequantizer on `[in, out]` pairs; returns its report lines by input dir. */
async function dequantPy(pairs: [string, string][]): Promise<Map<string, Record<string, unknown>>> {
  const r = await new Deno.Command("/usr/bin/python3", {
    args: [SCRIPT, ...pairs.flat()],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const err = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, `dequant_gptq.py failed:\n${err}`);
  const lines = new TextDecoder().decode(r.stdout).trim().split("\n").map((l) => JSON.parse(l));
  return new Map(lines.map((l) => [l.dir as string, l]));
}

function bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Asserts two f32 arrays have the same bits, reporting the first difference. */
function assertBitIdentical(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const g = bytes(got), w = bytes(want);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i]) assert.fail(`${what}: element ${i >> 2} is ${got[i >> 2]}, expected ${want[i >> 2]}`);
  }
}

/** What the export must hold for `name`: the evaluated weight for linears, its f16 rounding otherwise. */
function expected(r: RecipeResult | { model: LlamaModel; quantized: ReadonlyMap<string, unknown> }, name: string) {
  const w = r.model.weight(name);
  if (r.quantized.has(name.replace(/\.weight$/, ""))) return w.data;
  return Float32Array.from(toF16Checked(name, w).data, (h) => f16BitsToF32(h));
}

/** Checks the python dequantization and quantlab's reader of `dir` against the model of `r`. */
async function checkExact(r: { model: LlamaModel; quantized: ReadonlyMap<string, unknown> }, dir: string, py: string) {
  const fromPy = await loadLlama(py, { ops });
  const fromReader = await loadGptqCheckpoint(dir, { ops });
  assert.deepEqual([...fromPy.weights.keys()].sort(), [...r.model.weights.keys()].sort(), `${dir}: tensor names`);
  for (const name of r.model.weights.keys()) {
    const want = expected(r, name);
    assertBitIdentical(fromPy.weight(name).data, want, `${dir} python ${name}`);
    assertBitIdentical(fromReader.model.weight(name).data, want, `${dir} reader ${name}`);
  }
}

/** The exported config.json is the source's with torch_dtype float16 and the quantization config. */
async function checkFiles(dir: string, source: string, sidecars: string[]) {
  const src = JSON.parse(await Deno.readTextFile(`${source}/config.json`));
  const cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  const qc = JSON.parse(await Deno.readTextFile(`${dir}/quantize_config.json`));
  assert.deepEqual(cfg, { ...src, "torch_dtype": "float16", "quantization_config": qc });
  for (const f of sidecars) {
    assert.deepEqual(await Deno.readFile(`${dir}/${f}`), await Deno.readFile(`${source}/${f}`), f);
  }
  using ck = await openCheckpoint(dir);
  for (const name of ck.names) {
    const dtype = (await ck.info(name)).dtype;
    const want = /\.(qweight|qzeros|g_idx)$/.test(name) ? "I32" : "F16";
    assert.equal(dtype, want, `${dir}: ${name} stored as ${dtype}`);
  }
  return qc as Record<string, unknown>;
}

Deno.test("HF GPTQ export: the bundled model (asym, sym, act-order, static groups, RTN, sharded) dequantizes exactly in PyTorch", async () => {
  const model = await loadLlama(BUNDLED_MODEL_DIR, { ops });
  const dir = await Deno.makeTempDir();
  try {
    const cases = [
      ["rtn", getRecipe("RTN"), "int4-g128-asym"],
      ["gptq-sym", getRecipe("GPTQ"), "int4-g64-sym"],
      ["act-order", getRecipe("GPTQ+act-order"), "int4-g64-asym"],
      ["static", STATIC, "int8-g128-sym"],
    ] as const;
    const results = new Map<string, RecipeResult>();
    const pairs: [string, string][] = [];
    for (const [tag, recipe, format] of cases) {
      const r = await applyRecipe(model, recipe, { format, calibration, seqLen: SEQ, ops });
      results.set(tag, r);
      await writeGptqCheckpoint(`${dir}/${tag}`, r.model, r.quantized, {
        provenance: recipeProvenance(recipe),
        ...(tag === "act-order" && { maxShardSize: 1 << 20 }), // 1 MiB: several shards and an index
      });
      pairs.push([`${dir}/${tag}`, `${dir}/${tag}.py`]);
    }
    const report = await dequantPy(pairs);
    for (const [tag, recipe, format] of cases) {
      const out = `${dir}/${tag}`;
      await checkExact(results.get(tag)!, out, `${out}.py`);
      const qc = await checkFiles(out, BUNDLED_MODEL_DIR, ["tokenizer_config.json"]);
      const sym = format.endsWith("-sym");
      assert.equal(qc["sym"], sym);
      assert.equal(qc["bits"], Number(format[3]));
      assert.equal(qc["desc_act"], tag === "act-order" || tag === "static", tag);
      assert.equal("damp_percent" in qc, tag !== "rtn", tag);
      assert.equal(qc["static_groups"], tag === "rtn" ? undefined : tag === "static", tag);
      assert.deepEqual(qc["quantlab"], { format, method: tag === "rtn" ? "rtn" : "gptq", recipe: recipe.name });
      const line = report.get(out)!;
      assert.equal(line["linears"], 28);
      assert.equal(line["sym_zeros_implicit"], true, `${tag}: stored symmetric zeros are 2^(bits-1)`);
    }
    const shards = [...Deno.readDirSync(`${dir}/act-order`)].map((e) => e.name).filter((n) =>
      n.endsWith(".safetensors")
    );
    assert.ok(shards.length > 1 && shards.every((n) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(n)), `${shards}`);
    const index = JSON.parse(await Deno.readTextFile(`${dir}/act-order/model.safetensors.index.json`));
    assert.equal(new Set(Object.values(index.weight_map)).size, shards.length);
    using ck = await openCheckpoint(`${dir}/rtn`);
    assert.equal(ck.metadata["format"], "pt");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A copy of a fixture with bos/eos ids, a generation config and a tokenizer file of its own. */
async function sourceWithSideFiles(dir: string, variant: "qwen2" | "qwen3"): Promise<string> {
  const src = `${dir}/src-${variant}`;
  await Deno.mkdir(src);
  const config = JSON.parse(await Deno.readTextFile(`${fixtureDir(variant)}/config.json`));
  await Deno.writeTextFile(
    `${src}/config.json`,
    JSON.stringify({ ...config, "bos_token_id": 1, "eos_token_id": [2, 3] }),
  );
  await Deno.copyFile(`${fixtureDir(variant)}/model.safetensors`, `${src}/model.safetensors`);
  await Deno.writeTextFile(`${src}/generation_config.json`, JSON.stringify({ "eos_token_id": [2, 3], "top_p": 0.8 }));
  await Deno.writeTextFile(`${src}/tokenizer.json`, `{"version": "1.0", "variant": "${variant}"}`);
  return src;
}

Deno.test("HF GPTQ export: qwen2 biases and qwen3 q/k norms travel; zero points of 0 need gptq_v2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pairs: [string, string][] = [];
    const checks: [{ model: LlamaModel; quantized: ReadonlyMap<string, unknown> }, string, string][] = [];
    const sources = { qwen2: await sourceWithSideFiles(dir, "qwen2"), qwen3: await sourceWithSideFiles(dir, "qwen3") };
    for (
      const [variant, recipe, format] of [
        ["qwen2", getRecipe("GPTQ+act-order"), "int4-g16-asym"],
        ["qwen2", getRecipe("RTN"), "int3-g32-sym"],
        ["qwen3", getRecipe("GPTQ"), "int2-g16-sym"],
      ] as const
    ) {
      const model = await loadLlama(sources[variant], { ops });
      const r = await applyRecipe(model, recipe, { format, calibration: tinyIds(4, 16, 3), seqLen: 16, ops });
      const out = `${dir}/${variant}-${format}`;
      await writeGptqCheckpoint(out, r.model, r.quantized, { provenance: recipeProvenance(recipe) });
      pairs.push([out, `${out}.py`]);
      checks.push([r, out, sources[variant]]);
    }
    // A linear whose weights are all ≥ 0 gets zero points of 0 under asymmetric min-max.
    const qwen2 = await loadLlama(fixtureDir("qwen2"), { ops });
    const name = "model.layers.0.self_attn.q_proj.weight";
    const W = qwen2.weight(name);
    const positive = qwen2.withWeights(new Map([[name, new Tensor("f32", W.shape, W.data.map(Math.abs))]]));
    const r0 = await applyRecipe(positive, getRecipe("RTN"), { format: "int4-g16-asym", ops });
    await assertThrowsMessage(
      () => writeGptqCheckpoint(`${dir}/v1`, r0.model, r0.quantized),
      RangeError,
      "zero point 0",
      'needs checkpointFormat "gptq_v2"',
    );
    await writeGptqCheckpoint(`${dir}/v2`, r0.model, r0.quantized, { checkpointFormat: "gptq_v2" });
    pairs.push([`${dir}/v2`, `${dir}/v2.py`]);
    checks.push([r0, `${dir}/v2`, fixtureDir("qwen2")]);

    const report = await dequantPy(pairs);
    for (const [r, out, source] of checks) {
      await checkExact(r, out, `${out}.py`);
      await checkFiles(out, source, source === fixtureDir("qwen2") ? [] : ["generation_config.json", "tokenizer.json"]);
    }
    assert.equal(report.get(`${dir}/v2`)!["checkpoint_format"], "gptq_v2");
    using ck = await openCheckpoint(`${dir}/qwen2-int4-g16-asym`);
    assert.ok(ck.names.includes("model.layers.1.self_attn.v_proj.bias"));
    using ck3 = await openCheckpoint(`${dir}/qwen3-int2-g16-sym`);
    assert.ok(ck3.names.includes("model.layers.0.self_attn.k_norm.weight"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HF GPTQ export: the streaming writer's output dequantizes exactly too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const recipe = getRecipe("GPTQ+act-order");
    using ckpt = await openLlamaCheckpoint(BUNDLED_MODEL_DIR);
    const writers = [
      await createCheckpointWriter(`${dir}/fq`, ckpt),
      await createCheckpointWriter(`${dir}/gptq`, ckpt, { layout: "gptq", provenance: recipeProvenance(recipe) }),
    ];
    const r = await quantizeStreaming(ckpt, recipe, {
      format: "int4-g128-sym",
      calibration,
      seqLen: SEQ,
      ops,
      writers,
    });
    assert.deepEqual(r.skippedWriters, []);
    await dequantPy([[`${dir}/gptq`, `${dir}/gptq.py`]]);
    const fq = await loadLlama(`${dir}/fq`, { ops });
    const packed = new Map(
      [...fq.weights.keys()].filter((n) => /_proj\.weight$/.test(n)).map((n) => [n.slice(0, -7), 0]),
    );
    await checkExact({ model: fq, quantized: packed }, `${dir}/gptq`, `${dir}/gptq.py`);
    const qc = await checkFiles(`${dir}/gptq`, BUNDLED_MODEL_DIR, ["tokenizer_config.json"]);
    assert.equal(qc["desc_act"], true);
    assert.equal(qc["damp_percent"], 0.01);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HF GPTQ export: f16 overflow and weights the codes do not reproduce are refused, naming the tensor", async () => {
  const model = await loadLlama(fixtureDir("qwen2"), { ops });
  const r = await applyRecipe(model, getRecipe("RTN"), { format: "int4-g16-sym", ops });
  const dir = await Deno.makeTempDir();
  try {
    const norm = new Tensor("f32", [32], new Float32Array(32).fill(1));
    norm.data[5] = 1e5;
    await assertThrowsMessage(
      () => writeGptqCheckpoint(`${dir}/a`, r.model.withWeights(new Map([["model.norm.weight", norm]])), r.quantized),
      HfExportError,
      '"model.norm.weight"',
      "element 5 is 100000",
    );
    const name = "model.layers.1.mlp.up_proj.weight";
    const edited = r.model.weight(name).data.slice();
    edited[7]! += 0.25;
    const tampered = r.model.withWeights(new Map([[name, new Tensor("f32", [64, 32], edited)]]));
    await assertThrowsMessage(
      () => writeGptqCheckpoint(`${dir}/b`, tampered, r.quantized),
      HfExportError,
      '"model.layers.1.mlp.up_proj"',
      "at element 7",
    );
    await assertThrowsMessage(
      () => writeGptqCheckpoint(`${dir}/c`, r.model, r.quantized, { sourceDir: fixtureDir("qwen3") }),
      HfExportError,
      "describes another model",
    );
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
