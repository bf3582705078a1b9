// SPDX-License-Identifier: MIT
/**
 * llama.cpp (node-llama-cpp 3.21.1's prebuilt CPU binaries, offline) runs quantlab's GGUF
 * exports: its next-token log-probs agree with quantlab's forward on the same dequantized
 * weights (the GGUF decoded back), and perplexities agree within 0.5%.
 *
 * Tolerances come from llama.cpp's CPU arithmetic, not from the export (the weights are
 * bit-identical, see gguf_test.ts): its KV cache is f16, F16 weights multiply f16-rounded
 * activations, and Q4_0/Q4_1/Q8_0 weights multiply activations quantized to 8 bits per block of 32.
 */
import assert from "node:assert/strict";
import { BUNDLED_MODEL_DIR, loadLlama } from "../../lib/model/load.ts";
import { applyRecipe, getRecipe } from "../../lib/pipeline/recipes.ts";
import { calibrationSamples, loadSplit } from "../../lib/calib/corpus.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { byteGgufTokenizer, type GgufTokenizer } from "../../lib/export/gguf_tokenizer.ts";
import { bytesToUnicode } from "../../lib/data/bpe_train.ts";
import { type GgufExportOptions, writeGgufModel } from "../../lib/export/gguf_export.ts";
import { loadGgufModel } from "../../lib/export/gguf_read.ts";
import type { LlamaModel } from "../../lib/model/llama.ts";
import {
  llamaCppTargetLogProbs,
  openLlamaCpp,
  perplexityOf,
  quantlabTargetLogProbs,
} from "../../tools/_llamacpp_runner.ts";

/** Perplexities of llama.cpp and quantlab on the same weights differ by at most this fraction. */
const MAX_PPL_REL_DIFF = 0.005;
/** F32/F16 weights: only f16 activations/KV cache differ. Max and mean |Δ log p| in nats. */
const FLOAT_MAX_ABS_LOGP = 0.02, FLOAT_MEAN_ABS_LOGP = 0.002;
/** Q4_0/Q4_1/Q8_0 weights: llama.cpp also quantizes the activations to 8 bits per 32 (measured max ≈ 0.09, mean ≈ 0.005). */
const QUANT_MAX_ABS_LOGP = 0.2, QUANT_MEAN_ABS_LOGP = 0.015;
/** Random-weight fixtures on random ids, F32 weights: f16 KV cache only (measured max ≈ 0.012, mean ≈ 0.003). */
const FIXTURE_MAX_ABS_LOGP = 0.02, FIXTURE_MEAN_ABS_LOGP = 0.005;

const SEQ = 256, WINDOWS = 2;
const test = await loadSplit("test");
const windows = Array.from({ length: WINDOWS }, (_, w) => Array.from(test.subarray(w * SEQ, (w + 1) * SEQ)));

async function compare(path: string, reference: LlamaModel, ids: number[][]) {
  const s = await openLlamaCpp(path, { contextSize: Math.max(...ids.map((w) => w.length)) });
  try {
    const cpp: Float64Array[] = [], ql: Float64Array[] = [];
    let max = 0, sum = 0, n = 0;
    for (const w of ids) {
      const a = await llamaCppTargetLogProbs(s, w), b = await quantlabTargetLogProbs(reference, w);
      cpp.push(a);
      ql.push(b);
      for (let i = 0; i < a.length; i++) {
        (max = Math.max(max, Math.abs(a[i]! - b[i]!)), sum += Math.abs(a[i]! - b[i]!), n++);
      }
    }
    return { max, mean: sum / n, pplCpp: perplexityOf(cpp), pplQuantlab: perplexityOf(ql), session: s };
  } catch (e) {
    await s.dispose();
    throw e;
  }
}

const model = await loadLlama(BUNDLED_MODEL_DIR);
const dir = await Deno.makeTempDir({ prefix: "quantlab-llamacpp-" });
const calibration = calibrationSamples(await loadSplit("train"), { nSamples: 8, seqLen: SEQ, seed: 0 });

const cases: {
  label: string;
  make: () => Promise<{ m: LlamaModel; options: Omit<GgufExportOptions, "tokenizer"> }>;
}[] = [
  { label: "F16", make: () => Promise.resolve({ m: model, options: { type: "F16" } }) },
  ...([
    ["Q8_0 from RTN int8-g32-sym", "RTN", "int8-g32-sym", "Q8_0"],
    ["Q4_0 from RTN int4-g32-sym", "RTN", "int4-g32-sym", "Q4_0"],
    ["Q4_0 from GPTQ int4-g32-sym", "GPTQ", "int4-g32-sym", "Q4_0"],
    ["Q4_1 from RTN int4-g32-asym-f16min", "RTN", "int4-g32-asym-f16min", "Q4_1"],
  ] as const).map(([label, recipe, format, type]) => ({
    label,
    make: async () => {
      const r = await applyRecipe(model, getRecipe(recipe), { format, calibration, seqLen: SEQ });
      return { m: r.model, options: { type, quantized: r.quantized } };
    },
  })),
];

for (const { label, make } of cases) {
  Deno.test(`llama.cpp runs the bundled model's ${label} GGUF like quantlab`, async () => {
    const { m, options } = await make();
    const path = `${dir}/${label.split(" ")[0]}.gguf`;
    await writeGgufModel(path, m, { ...options, tokenizer: byteGgufTokenizer() });
    const reference = await loadGgufModel(path, model.config, model.ops); // the weights llama.cpp reads
    const r = await compare(path, reference, windows);
    try {
      const float = options.type === "F16";
      assert.ok(r.max <= (float ? FLOAT_MAX_ABS_LOGP : QUANT_MAX_ABS_LOGP), `max |Δ log p| ${r.max}`);
      assert.ok(r.mean <= (float ? FLOAT_MEAN_ABS_LOGP : QUANT_MEAN_ABS_LOGP), `mean |Δ log p| ${r.mean}`);
      assert.ok(Math.abs(r.pplCpp / r.pplQuantlab - 1) <= MAX_PPL_REL_DIFF, `ppl ${r.pplCpp} vs ${r.pplQuantlab}`);
      // The byte vocabulary: llama.cpp tokenizes text to the same ids as quantlab's ByteTokenizer.
      const text = "The Union is strong — “état”.\n";
      assert.deepEqual(Array.from(r.session.model.tokenize(text)), Array.from(new TextEncoder().encode(text)));
    } finally {
      await r.session.dispose();
    }
  });
}

const ARCH_FIXTURES = ["llama-plain", "llama-bias", "llama-tied", "llama-linear", "llama-llama3", "qwen2", "qwen3"];
for (const name of ARCH_FIXTURES) {
  Deno.test(`llama.cpp runs the ${name} fixture's F32 GGUF like quantlab (permutation, biases, RoPE scaling, arch)`, async () => {
    const fixture = await loadLlama(new URL(`../fixtures/arch/${name}`, import.meta.url).pathname);
    const path = `${dir}/${name}.gguf`;
    // The fixtures have no tokenizer: the first V byte symbols stand in (evaluation passes ids).
    const V = fixture.config.vocabSize;
    const tokenizer: GgufTokenizer = {
      model: "gpt2",
      pre: "default",
      tokens: bytesToUnicode().slice(0, V),
      tokenTypes: new Array(V).fill(1),
      merges: [],
      vocabSize: V,
      addBos: false,
    };
    await writeGgufModel(path, fixture, { type: "F32", tokenizer });
    const rng = new Rng(7);
    const ids = [0, 1].map(() => Array.from({ length: 64 }, () => rng.int(fixture.config.vocabSize)));
    const r = await compare(path, fixture, ids);
    await r.session.dispose();
    assert.ok(
      r.max <= FIXTURE_MAX_ABS_LOGP && r.mean <= FIXTURE_MEAN_ABS_LOGP,
      `|Δ log p| max ${r.max}, mean ${r.mean}`,
    );
  });
}

Deno.test({
  name: "llama.cpp export tests: clean up",
  fn: async () => await Deno.remove(dir, { recursive: true }),
});
