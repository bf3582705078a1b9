// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { gguf } from "@huggingface/gguf";
import {
  BLOCK_Q4_0_BYTES,
  BLOCK_Q4_1_BYTES,
  BLOCK_Q8_0_BYTES,
  encodeQ4_0,
  encodeQ4_1,
  encodeQ8_0,
} from "../../lib/export/ggml_blocks.ts";
import { dequantizeRowQ4_0, dequantizeRowQ4_1, dequantizeRowQ8_0 } from "../../lib/export/ggml_decode.ts";
import { quantizeRowQ4_1Ref, quantizeRowQ8_0Ref } from "../../lib/export/ggml_ref.ts";
import { writeGguf } from "../../lib/export/gguf_writer.ts";
import { ggufTensorName, ropeRowPermutation } from "../../lib/export/gguf_llama.ts";
import { byteGgufTokenizer, ggufTokenizerFromDir } from "../../lib/export/gguf_tokenizer.ts";
import { writeGgufModel } from "../../lib/export/gguf_export.ts";
import { readGgufWeights } from "../../lib/export/gguf_read.ts";
import { f16BitsToF32, f32ToF16Bits } from "../../lib/tensor/numeric.ts";
import { f16MinParams } from "../../lib/quant/minmax.ts";
import { BUNDLED_MODEL_DIR, loadLlama } from "../../lib/model/load.ts";
import { parseLlamaConfig } from "../../lib/model/config.ts";
import { LlamaModel } from "../../lib/model/llama.ts";
import { applyRecipe, getRecipe } from "../../lib/pipeline/recipes.ts";
import { quarotRotate } from "../../lib/rotate/quarot.ts";
import { bitsPerWeight, formatId, parseFormatId } from "../../lib/quant/spec.ts";
import { byteLevelTokenizerConfig, byteLevelTokenizerJson, trainByteLevelBpe } from "../../lib/data/bpe_train.ts";
import { linearNames } from "../../lib/model/config.ts";

const h = (x: number) => f32ToF16Bits(x);

Deno.test("ggml blocks: sizes as ggml-common.h asserts them; nibble order and values as dequantize_row_* decode them", () => {
  assert.equal(BLOCK_Q4_0_BYTES, 18);
  assert.equal(BLOCK_Q4_1_BYTES, 20);
  assert.equal(BLOCK_Q8_0_BYTES, 34);
  const q = Uint8Array.from({ length: 32 }, (_, j) => j % 16);
  const b = encodeQ4_0(q, Uint16Array.of(h(0.5)));
  assert.equal(b.length, 18);
  assert.deepEqual([b[0], b[1]], [0x00, 0x38]); // f16 0.5 = 0x3800, little-endian
  assert.equal(b[2 + 3], 3 | (3 << 4)); // element 3 low nibble, element 19 high nibble
  assert.deepEqual(dequantizeRowQ4_0(b), Float32Array.from(q, (c) => (c - 8) * 0.5));
  const b1 = encodeQ4_1(q, Uint16Array.of(h(0.25)), Uint16Array.of(h(-1)));
  assert.deepEqual(dequantizeRowQ4_1(b1), Float32Array.from(q, (c) => c * 0.25 - 1));
  const qs = Int8Array.from({ length: 32 }, (_, j) => j * 8 - 128);
  assert.deepEqual(dequantizeRowQ8_0(encodeQ8_0(qs, Uint16Array.of(h(2)))), Float32Array.from(qs, (c) => c * 2));
  assert.throws(() => encodeQ4_0(Uint8Array.of(...new Array(32).fill(16)), Uint16Array.of(0)), /4-bit codes/);
});

Deno.test("ggml reference quantizers: Q8_0 rounds halves away from zero, Q4_1 maps min..max onto 0..15", () => {
  const x = new Float32Array(32);
  x[0] = 127; // d = 1
  x[1] = 2.5;
  x[2] = -2.5;
  const y = dequantizeRowQ8_0(quantizeRowQ8_0Ref(x));
  assert.deepEqual([y[0], y[1], y[2]], [127, 3, -3]);
  const z = Float32Array.from({ length: 32 }, (_, j) => (j % 16) - 4); // min −4, max 11: d = 1
  assert.deepEqual(dequantizeRowQ4_1(quantizeRowQ4_1Ref(z)), z);
});

Deno.test("GGUF writer: @huggingface/gguf reads back every value type, the tensor table and the data", async () => {
  const path = await Deno.makeTempFile({ suffix: ".gguf" });
  try {
    const meta = new Map<string, Parameters<typeof writeGguf>[1] extends ReadonlyMap<string, infer V> ? V : never>([
      ["general.architecture", { type: "string", value: "llama" }],
      ["t.u8", { type: "uint8", value: 255 }],
      ["t.i8", { type: "int8", value: -128 }],
      ["t.u16", { type: "uint16", value: 65535 }],
      ["t.i16", { type: "int16", value: -32768 }],
      ["t.u32", { type: "uint32", value: 4294967295 }],
      ["t.i32", { type: "int32", value: -5 }],
      ["t.f32", { type: "float32", value: 1.5 }],
      ["t.f64", { type: "float64", value: Math.PI }],
      ["t.u64", { type: "uint64", value: 2n ** 40n }],
      ["t.i64", { type: "int64", value: -(2n ** 40n) }],
      ["t.bool", { type: "bool", value: true }],
      ["t.str", { type: "string", value: "état ✓" }],
      ["t.arr", { type: "array", itemType: "int32", value: [1, -2, 3] }],
      ["t.empty", { type: "array", itemType: "string", value: [] }],
    ]);
    const a = Float32Array.from({ length: 6 }, (_, i) => i);
    const q = encodeQ4_0(new Uint8Array(64).fill(9), Uint16Array.of(h(1), h(2)));
    const r = await writeGguf(path, meta, [
      { name: "a", shape: [2, 3], type: "F32", data: new Uint8Array(a.buffer) },
      { name: "q", shape: [2, 32], type: "Q4_0", data: () => q },
    ]);
    const p = await gguf(path, { allowLocalFile: true, typedMetadata: true });
    assert.equal(p.metadata.version, 3);
    assert.equal((p.metadata as Record<string, unknown>)["general.alignment"], 32);
    for (const [k, v] of meta) {
      const got = p.typedMetadata[k as keyof typeof p.typedMetadata] as { value: unknown };
      const want = v.type === "float32" ? Math.fround(v.value as number) : v.value;
      assert.deepEqual(typeof want === "bigint" ? BigInt(got.value as bigint) : got.value, want, k);
    }
    assert.deepEqual(p.tensorInfos.map((t) => [t.name, t.shape.map(Number), t.dtype]), [["a", [3, 2], 0], [
      "q",
      [32, 2],
      2,
    ]]);
    assert.equal(Number(p.tensorDataOffset) % 32, 0);
    const bytes = await Deno.readFile(path);
    const qInfo = p.tensorInfos[1]!;
    assert.equal(Number(qInfo.offset) % 32, 0);
    const at = Number(p.tensorDataOffset + qInfo.offset);
    assert.deepEqual(bytes.subarray(at, at + q.length), q);
    assert.equal(bytes.length, r.bytes);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("Q/K permutation equals convert_hf_to_gguf's reshape(heads, 2, hd/2).swapaxes(1, 2)", () => {
  const heads = 3, hd = 8, rows = heads * hd;
  const perm = ropeRowPermutation(rows, heads);
  for (let hh = 0; hh < heads; hh++) {
    for (let i = 0; i < hd / 2; i++) {
      for (let t = 0; t < 2; t++) {
        // element [hh, t, i] of the reshape lands at [hh, i, t] after the swap
        assert.equal(perm[hh * hd + i * 2 + t], hh * hd + t * (hd / 2) + i);
      }
    }
  }
  assert.equal(ggufTensorName("model.layers.2.self_attn.k_norm.weight"), "blk.2.attn_k_norm.weight");
});

Deno.test("f16min format: scale and scale·zero are f16 values; the id round-trips and counts a 16-bit zero", () => {
  for (const [lo, hi] of [[-0.37, 0.51], [-1e-3, 7e-3], [-2.2, 0.1]] as const) {
    const p = f16MinParams(lo, Math.fround((hi - lo) / 15), 15);
    const exact = (x: number) => f16BitsToF32(f32ToF16Bits(x)) === x;
    assert.ok(exact(p.scale) && exact(p.scale * p.zero), `${p.scale}·${p.zero}`);
    assert.ok(Math.abs(p.scale / ((hi - lo) / 15) - 1) < 8 * 2 ** -10);
  }
  const spec = parseFormatId("int4-g32-asym-f16min");
  assert.equal(formatId(spec), "int4-g32-asym-f16min");
  assert.equal(bitsPerWeight(spec, 256), 4 + 32 / 32);
});

const model = await loadLlama(BUNDLED_MODEL_DIR);

Deno.test("GGUF export of the bundled model: metadata, tokenizer and bit-exact Q4_0/Q4_1/Q8_0 weights", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [format, type] of [["int4-g32-sym", "Q4_0"], ["int4-g32-asym-f16min", "Q4_1"], [
        "int8-g32-sym",
        "Q8_0",
      ]] as const
    ) {
      const r = await applyRecipe(model, getRecipe("RTN"), { format });
      const path = `${dir}/${type}.gguf`;
      await writeGgufModel(path, r.model, { type, quantized: r.quantized, tokenizer: byteGgufTokenizer() });
      const back = await readGgufWeights(path, model.config);
      for (let l = 0; l < 4; l++) {
        for (const n of linearNames(l)) {
          assert.deepEqual(back.get(`${n}.weight`)!.data, r.model.weight(`${n}.weight`).data, n);
        }
      }
      const p = await gguf(path, { allowLocalFile: true });
      const m = p.metadata as Record<string, unknown>;
      assert.equal(m["general.architecture"], "llama");
      assert.equal(m["llama.attention.head_count"], 4);
      assert.equal(m["llama.block_count"], 4);
      assert.equal(m["tokenizer.ggml.model"], "gpt2");
      assert.deepEqual(m["tokenizer.ggml.merges"], []);
      assert.equal((m["tokenizer.ggml.tokens"] as string[])[10], "Ċ"); // "\n" as GPT-2 prints it
      assert.equal(
        p.tensorInfos.find((t) => t.name === "blk.0.attn_q.weight")!.dtype,
        { Q4_0: 2, Q4_1: 3, Q8_0: 8 }[type],
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GGUF export refuses what llama.cpp would not run exactly, naming the layer and why", async () => {
  const path = `${await Deno.makeTempDir()}/x.gguf`;
  const tokenizer = byteGgufTokenizer();
  const rtn = async (format: string) => await applyRecipe(model, getRecipe("RTN"), { format });
  const asym = await rtn("int4-g32-asym");
  await assert.rejects(
    writeGgufModel(path, asym.model, { type: "Q4_1", quantized: asym.quantized, tokenizer }),
    /model\.layers\.0\.self_attn\.q_proj.*int4-g32-asym-f16min/,
  );
  await assert.rejects(
    writeGgufModel(path, asym.model, { type: "Q4_0", quantized: asym.quantized, tokenizer }),
    /zero .* is not 8 \(asymmetric\)/,
  );
  const g16 = await rtn("int4-g16-sym");
  await assert.rejects(
    writeGgufModel(path, g16.model, { type: "Q4_0", quantized: g16.quantized, tokenizer }),
    /groups of 16 columns/,
  );
  const lorc = await applyRecipe(model, { name: "RTN+LoRC", reconstruction: { kind: "rtn" }, lorc: { rank: 4 } }, {
    format: "int4-g32-sym",
  });
  await assert.rejects(
    writeGgufModel(path, lorc.model, { type: "Q4_0", quantized: lorc.quantized, tokenizer }),
    /quantlab evaluated .* LoRC/,
  );
  const online = await quarotRotate(model, { r3: false });
  await assert.rejects(writeGgufModel(path, online, { type: "F16", tokenizer }), /online R4 Hadamard/);
  const fused = await quarotRotate(model, { r3: false, r4: false }); // plain weights after fusion: accepted
  await writeGgufModel(path, fused, { type: "F16", tokenizer });
  const mistral = parseLlamaConfig({
    model_type: "mistral",
    vocab_size: 256,
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    sliding_window: 16,
    max_position_embeddings: 64,
  });
  await assert.rejects(
    writeGgufModel(path, new LlamaModel(mistral, new Map(), model.ops), { type: "F16", tokenizer }),
    /sliding_window 16 < context 64/,
  );
  await Deno.remove(path.slice(0, path.lastIndexOf("/")), { recursive: true });
});

Deno.test('GGUF tokenizer: a byte-level BPE tokenizer.json gives tokens, merges, pre "gpt2" and special tokens', async () => {
  const bpe = trainByteLevelBpe("the then there the the other", { vocabSize: 262 });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(byteLevelTokenizerJson(bpe)));
    await Deno.writeTextFile(`${dir}/tokenizer_config.json`, JSON.stringify(byteLevelTokenizerConfig(bpe)));
    const t = await ggufTokenizerFromDir(dir, 264);
    assert.equal(t.pre, "gpt2");
    assert.equal(t.merges.length, bpe.merges.length);
    assert.equal(t.tokens[t.bosId!], "<|begin_of_text|>");
    assert.equal(t.tokenTypes[t.bosId!], 3);
    assert.equal(t.addBos, true);
    assert.equal(t.tokens[263], "[PAD263]");
    const json = byteLevelTokenizerJson(bpe);
    await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify({ ...json, normalizer: { type: "NFKC" } }));
    await assert.rejects(ggufTokenizerFromDir(dir, 264), /normalizer "NFKC"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
