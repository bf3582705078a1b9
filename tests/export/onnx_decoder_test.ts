// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import * as ort from "onnxruntime-web";
import { AutoModelForCausalLM, AutoTokenizer, env } from "@huggingface/transformers";
import { buildOnnxDecoder, OnnxDecoderExportError, writeOnnxDecoder } from "../../lib/export/onnx_decoder.ts";
import { byteTokenizerFiles } from "../../lib/export/tokenizer_files.ts";
import { BUNDLED_MODEL_DIR, loadLlama } from "../../lib/model/load.ts";
import { linearNames, type LlamaConfig, parseLlamaConfig } from "../../lib/model/config.ts";
import type { LlamaModel } from "../../lib/model/llama.ts";
import { generate } from "../../lib/model/generate.ts";
import { ByteTokenizer, HfTokenizer, loadTokenizer } from "../../lib/model/tokenizer.ts";
import { applyRecipe, getRecipe } from "../../lib/pipeline/recipes.ts";
import { openOnnxLm } from "../../lib/eval/onnx_lm.ts";
import { HookedLlamaModel } from "../../lib/rotate/hooked_model.ts";
import { Rng } from "../../lib/tensor/random.ts";
import type { IntQuantized } from "../../lib/quant/quantized_tensor.ts";
import { ARCH_VARIANTS, fixtureDir, golden, maxAbsDiff } from "../model/_arch_fixtures.ts";

/** Logits may differ from quantlab's forward by f32 accumulation order only. */
const ATOL = 1e-4;

ort.env.wasm.numThreads = 1;

/** One decoder call: B rows of S new tokens after `past` cached ones. */
interface Step {
  ids: number[][];
  /** `[B, past + S]`, 1 = token, 0 = padding. */
  mask: number[][];
  /** `[B, S]`. */
  positions: number[][];
}

const i64 = (rows: number[][]) =>
  new ort.Tensor("int64", BigInt64Array.from(rows.flat(), (v) => BigInt(v)), [rows.length, rows[0]!.length]);

/** Runs one step; `past` null means an empty cache. Returns logits `[B·S·V]` and the new cache. */
async function decode(
  s: ort.InferenceSession,
  c: LlamaConfig,
  step: Step,
  past: Record<string, ort.Tensor> | null,
): Promise<{ logits: Float32Array; cache: Record<string, ort.Tensor> }> {
  const B = step.ids.length;
  const feeds: Record<string, ort.Tensor> = {
    "input_ids": i64(step.ids),
    "attention_mask": i64(step.mask),
    "position_ids": i64(step.positions),
  };
  for (let l = 0; l < c.numLayers; l++) {
    for (const kind of ["key", "value"]) {
      feeds[`past_key_values.${l}.${kind}`] = past?.[`present.${l}.${kind}`] ??
        new ort.Tensor("float32", new Float32Array(0), [B, c.numKvHeads, 0, c.headDim]);
    }
  }
  const out = await s.run(feeds);
  return { logits: out.logits!.data as Float32Array, cache: out };
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const ones = (n: number) => new Array(n).fill(1);

/** Rows of a `[rows, V]` logits array. */
const rows = (x: Float32Array, from: number, to: number, V: number) => x.subarray(from * V, to * V);

/**
 * Checks a decoder on B sequences of T tokens: all at once, then a prefix of T/2 and the rest
 * one token at a time through the cache; every step's logits against `reference` `[B·T, V]`.
 */
async function checkWithAndWithoutCache(
  bytes: Uint8Array,
  c: LlamaConfig,
  ids: Int32Array,
  T: number,
  ref: Float32Array,
) {
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  const B = ids.length / T,
    V = c.vocabSize,
    seqs = range(0, B).map((b) => Array.from(ids.subarray(b * T, (b + 1) * T)));
  try {
    const full = await decode(s, c, {
      ids: seqs,
      mask: seqs.map(() => ones(T)),
      positions: seqs.map(() => range(0, T)),
    }, null);
    assert.ok(maxAbsDiff(full.logits, ref) <= ATOL, `full: max |Δ| = ${maxAbsDiff(full.logits, ref)}`);
    const P = T >> 1;
    let step = await decode(s, c, {
      ids: seqs.map((q) => q.slice(0, P)),
      mask: seqs.map(() => ones(P)),
      positions: seqs.map(() => range(0, P)),
    }, null);
    for (let t = P; t < T; t++) {
      step = await decode(s, c, {
        ids: seqs.map((q) => [q[t]!]),
        mask: seqs.map(() => ones(t + 1)),
        positions: seqs.map(() => [t]),
      }, step.cache);
      for (let b = 0; b < B; b++) {
        const d = maxAbsDiff(rows(step.logits, b, b + 1, V), rows(ref, b * T + t, b * T + t + 1, V));
        assert.ok(d <= ATOL, `cached step ${t}, row ${b}: max |Δ| = ${d}`);
      }
    }
    assert.deepEqual(step.cache["present.0.key"]!.dims, [B, c.numKvHeads, T, c.headDim]);
  } finally {
    await s.release();
  }
}

Deno.test("ONNX decoder of every architecture fixture: logits with and without the KV cache equal quantlab's forward", async (t) => {
  for (const variant of ARCH_VARIANTS) {
    await t.step(variant, async () => {
      const model = await loadLlama(fixtureDir(variant));
      const { ids, T } = await golden(variant);
      const dec = buildOnnxDecoder(model);
      assert.deepEqual(dec.inputNames.slice(0, 5), [
        "input_ids",
        "attention_mask",
        "position_ids",
        "past_key_values.0.key",
        "past_key_values.0.value",
      ]);
      assert.deepEqual(dec.outputNames.slice(0, 3), ["logits", "present.0.key", "present.0.value"]);
      const ref = (await model.forward(ids, T)).data;
      await checkWithAndWithoutCache(dec.bytes, model.config, ids, T, ref);
    });
  }
});

Deno.test("ONNX decoder: a left-padded batch (transformers.js positions) gives each prompt's own logits, then one cached step", async () => {
  const model = await loadLlama(BUNDLED_MODEL_DIR), c = model.config, V = c.vocabSize;
  const tok = new ByteTokenizer();
  const prompts = ["Our Union", "The state of the Union is"].map((p) => Array.from(tok.encode(p)));
  const S = Math.max(...prompts.map((p) => p.length));
  const pad = prompts.map((p) => S - p.length);
  // transformers.js: position_ids = cumsum(mask) − 1, 1 where masked
  const step: Step = {
    ids: prompts.map((p, b) => [...new Array(pad[b]!).fill(0), ...p]),
    mask: prompts.map((p, b) => [...new Array(pad[b]!).fill(0), ...ones(p.length)]),
    positions: prompts.map((p, b) => [...new Array(pad[b]!).fill(1), ...range(0, p.length)]),
  };
  const s = await ort.InferenceSession.create(buildOnnxDecoder(model).bytes, { executionProviders: ["wasm"] });
  try {
    const first = await decode(s, c, step, null);
    const next = [65, 32];
    for (let b = 0; b < 2; b++) {
      const p = prompts[b]!, ref = (await model.forward(p, p.length)).data;
      const got = rows(first.logits, b * S + pad[b]!, (b + 1) * S, V);
      assert.ok(maxAbsDiff(got, ref) <= ATOL, `prompt ${b}: max |Δ| = ${maxAbsDiff(got, ref)}`);
    }
    const second = await decode(s, c, {
      ids: next.map((id) => [id]),
      mask: step.mask.map((m) => [...m, 1]),
      positions: prompts.map((p) => [p.length]),
    }, first.cache);
    for (let b = 0; b < 2; b++) {
      const p = [...prompts[b]!, next[b]!], ref = (await model.forward(p, p.length)).data;
      const d = maxAbsDiff(rows(second.logits, b, b + 1, V), rows(ref, p.length - 1, p.length, V));
      assert.ok(d <= ATOL, `cached step of prompt ${b}: max |Δ| = ${d}`);
    }
  } finally {
    await s.release();
  }
});

Deno.test("openOnnxLm evaluates the KV-cache decoder (mask of ones, positions from 0, empty cache)", async () => {
  const model = await loadLlama(BUNDLED_MODEL_DIR);
  const ids = Int32Array.from(new ByteTokenizer().encode("State of the Union, 1862: Fellow-citizens of the Senate"));
  const T = 24, both = ids.subarray(0, 2 * T); // 2 windows
  const lm = await openOnnxLm(buildOnnxDecoder(model).bytes);
  try {
    const got = await lm.logits(both, T), want = await model.forward(both, T);
    assert.deepEqual(got.shape, want.shape);
    assert.ok(maxAbsDiff(got.data, want.data) <= ATOL, `max |Δ| = ${maxAbsDiff(got.data, want.data)}`);
  } finally {
    await lm.release();
  }
});

Deno.test("ONNX decoder q4: MatMulNBits from the packed codes computes quantlab's int4 model (GQA, biases)", async () => {
  const model = await loadLlama(fixtureDir("llama-bias"));
  const { ids, T } = await golden("llama-bias");
  for (const format of ["int4-g32-sym", "int4-g16-asym"]) {
    const r = await applyRecipe(model, getRecipe("RTN"), { format });
    const dec = buildOnnxDecoder(r.model, { quantized: r.quantized });
    const block = format.includes("g32") ? "b32" : "b16 +zp";
    for (const l of [0, 1]) for (const n of linearNames(l)) assert.equal(dec.linears.get(n), `MatMulNBits ${block}`);
    assert.equal(dec.linears.get("lm_head"), "f32");
    await checkWithAndWithoutCache(dec.bytes, r.model.config, ids, T, (await r.model.forward(ids, T)).data);
  }
});

Deno.test("ONNX decoder refuses what it cannot run exactly, naming the layer", async () => {
  const model = await loadLlama(fixtureDir("llama-plain"));
  const r = await applyRecipe(model, getRecipe("RTN"), { format: "int4-g32-asym" });
  const up = "model.layers.1.mlp.up_proj";
  const without = new Map(r.quantized);
  without.delete(up);
  assert.throws(() => buildOnnxDecoder(r.model, { quantized: without }), /"model\.layers\.1\.mlp\.up_proj".*missing/);
  const extra = new Map(r.quantized).set(`${up}.weight`, r.quantized.get(up)!);
  assert.throws(
    () => buildOnnxDecoder(r.model, { quantized: extra }),
    /"model\.layers\.1\.mlp\.up_proj\.weight".*no linear/,
  );
  // the unquantized weights are not what the codes decode to (as with LoRC's low-rank term)
  assert.throws(() => buildOnnxDecoder(model, { quantized: r.quantized }), OnnxDecoderExportError);
  assert.throws(
    () => buildOnnxDecoder(model, { quantized: r.quantized }),
    /decode \[0, 0\] to .* but quantlab evaluated/,
  );
  const q = r.quantized.get(up)!;
  const shuffled = new Map(r.quantized).set(up, {
    ...q,
    groupIndex: Int32Array.from({ length: q.shape[1] }, (_, j) => 1 - (j >> 5)),
  });
  assert.throws(() => buildOnnxDecoder(r.model, { quantized: shuffled }), /up_proj.*act-order/);
  const codebook = { formatId: "nf4-g32", kind: "codebook" as const, levels: new Float32Array(16) };
  const { zero: _z, symmetric: _s, ...base } = q as IntQuantized;
  assert.throws(
    () => buildOnnxDecoder(r.model, { quantized: new Map(r.quantized).set(up, { ...base, ...codebook }) }),
    /up_proj.*codebook/,
  );
  const int8 = await applyRecipe(model, getRecipe("RTN"), { format: "int8-g32-sym" });
  assert.throws(() => buildOnnxDecoder(int8.model, { quantized: int8.quantized }), /q_proj.*8 bits/);
  const hooked = new HookedLlamaModel(model.config, model.weights, model.ops, "rotated", { queryKey: () => {} });
  assert.throws(() => buildOnnxDecoder(hooked), /query\/key step .* r3: false/);
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(() => writeOnnxDecoder(`${dir}/out`, model), /Cannot find a tokenizer in ".*llama-plain"/);
    const tokenizer = byteTokenizerFiles(128);
    await assert.rejects(() => writeOnnxDecoder(dir, model, { tokenizer }), Deno.errors.AlreadyExists);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("byte tokenizer files: transformers.js and @huggingface/tokenizers map byte b to id b and back", async () => {
  const root = await Deno.makeTempDir();
  try {
    const files = byteTokenizerFiles(256);
    await Deno.mkdir(`${root}/bytes`);
    await Deno.writeTextFile(`${root}/bytes/tokenizer.json`, JSON.stringify(files.tokenizerJson));
    await Deno.writeTextFile(`${root}/bytes/tokenizer_config.json`, JSON.stringify(files.tokenizerConfig));
    env.allowRemoteModels = false;
    env.localModelPath = root;
    const tjs = await AutoTokenizer.from_pretrained("bytes");
    const hf = new HfTokenizer(files.tokenizerJson, files.tokenizerConfig), bytes = new ByteTokenizer();
    const ascii = String.fromCharCode(...range(0, 128));
    for (const text of [ascii, "  Hé, l'état ✓ 😀\n\ttab  ", "Mr. Speaker , ! ?"]) {
      const want = [...bytes.encode(text)];
      assert.deepEqual(tjs.encode(text, { add_special_tokens: true }), want);
      assert.deepEqual([...hf.encode(text, { addSpecialTokens: true })], want);
      assert.equal(tjs.decode(want), text);
      assert.equal(hf.decode(want), text);
    }
    const rng = new Rng(3), noise = Array.from({ length: 400 }, () => rng.int(256)); // invalid UTF-8 too
    assert.equal(tjs.decode(noise), bytes.decode(noise));
    assert.equal(hf.decode(noise), bytes.decode(noise));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** Greedy tokens of transformers.js from `dir` (fp32 or q4) for each prompt. */
async function transformersJsGreedy(root: string, id: string, dtype: "fp32" | "q4", prompts: string[], n: number) {
  env.allowRemoteModels = false;
  env.localModelPath = root;
  const tok = await AutoTokenizer.from_pretrained(id);
  const model = await AutoModelForCausalLM.from_pretrained(id, { dtype, device: "cpu" });
  try {
    const out: number[][] = [];
    for (const p of prompts) {
      const ids = await model.generate({ ...tok(p), max_new_tokens: n, do_sample: false });
      out.push((ids as unknown as { tolist(): bigint[][] }).tolist()[0]!.map(Number));
    }
    return out;
  } finally {
    await model.dispose();
  }
}

Deno.test({
  name: "transformers.js (local files only) generates quantlab's greedy tokens from the fp32 and q4 exports",
  // onnxruntime-node keeps its thread pool alive after the sessions are released
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const model: LlamaModel = await loadLlama(BUNDLED_MODEL_DIR);
    const r = await applyRecipe(model, getRecipe("RTN"), { format: "int4-g32-asym" });
    const root = await Deno.makeTempDir();
    try {
      const folder = await writeOnnxDecoder(`${root}/sotu`, r.model, { quantized: r.quantized });
      for (const f of ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"]) {
        assert.ok(folder.files.has(f), f);
      }
      assert.ok(folder.files.get("onnx/model_q4.onnx")! < folder.files.get("onnx/model.onnx")! / 4);
      const config = JSON.parse(await Deno.readTextFile(`${root}/sotu/config.json`));
      assert.deepEqual(parseLlamaConfig(config), model.config);
      const tok = await loadTokenizer(`${root}/sotu`);
      assert.deepEqual([...tok.encode("Union ✓")], [...new ByteTokenizer().encode("Union ✓")]);
      const prompts = ["The state of the Union is", "Mr. Speaker, ", "We will"];
      const bytes = new ByteTokenizer();
      const want = await Promise.all(
        prompts.map((p) => generate(r.model, bytes, p, { maxTokens: 32, temperature: 0 })),
      );
      for (const dtype of ["fp32", "q4"] as const) {
        const got = await transformersJsGreedy(root, "sotu", dtype, prompts, 32);
        for (let i = 0; i < prompts.length; i++) {
          assert.equal(got[i]!.length, bytes.encode(prompts[i]!).length + 32);
          assert.deepEqual(got[i], [...bytes.encode(want[i]!)], `${dtype}, prompt ${JSON.stringify(prompts[i])}`);
        }
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
