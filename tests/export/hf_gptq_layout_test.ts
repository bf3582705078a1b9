// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { decodeGptq, encodeGptq, packBitstream, readBitstream } from "../../lib/export/_gptq_layout.ts";
import { writeGptqCheckpoint } from "../../lib/export/hf_gptq.ts";
import { loadGptqCheckpoint } from "../../lib/export/hf_gptq_read.ts";
import { writeFakeQuantCheckpoint } from "../../lib/export/hf_fake_quant.ts";
import { gptqQuantizationConfig } from "../../lib/export/hf_gptq_config.ts";
import { HfExportError, planShards, toF16Checked } from "../../lib/export/hf_files.ts";
import { loadLlama } from "../../lib/model/load.ts";
import { applyRecipe, getRecipe } from "../../lib/pipeline/recipes.ts";
import { recipeProvenance } from "../../lib/pipeline/writer.ts";
import { dequantize, intQuantized } from "../../lib/quant/quantized_tensor.ts";
import { unpack } from "../../lib/ops/ts/pack.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { f16BitsToF32 } from "../../lib/tensor/numeric.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { tinyIds, tinyModel } from "../calib/_tiny_model.ts";
import { assertThrowsMessage } from "../_assert.ts";

/** f32 values rounded to f16 and back, as the export stores unquantized tensors. */
function f16Rounded(t: Tensor<"f32">): Float32Array {
  return Float32Array.from(toF16Checked("t", t).data, (h) => f16BitsToF32(h));
}

Deno.test("GPTQ bitstream: round trip for 2/3/4/8 bits; 3-bit values straddle words as AutoGPTQ packs them", () => {
  for (const bits of [2, 3, 4, 8]) {
    const n = 64;
    const vals = Array.from({ length: n }, (_, k) => (k * 7 + 3) % (1 << bits));
    const words = packBitstream(n, bits, (k) => vals[k]!);
    assert.equal(words.length, (n * bits) / 32);
    assert.deepEqual(vals.map((_, k) => readBitstream((w) => words[w]!, k, bits)), vals);
  }
  // AutoGPTQ 3-bit: value 10 puts its low 2 bits at bits 30–31 of word 0 and its high bit at bit 0 of word 1.
  const w = packBitstream(32, 3, (k) => (k === 10 ? 0b101 : 0));
  assert.equal(w[0], (0b01 << 30) >>> 0);
  assert.equal(w[1], 0b1);
  // 4-bit: value j of a word at shift 4j (AutoGPTQ's wf = [0, 4, ..., 28]).
  assert.equal(packBitstream(8, 4, (k) => k + 1)[0], 0x87654321);
});

/** An int4 per-channel tensor [8, 32] with one zero point and scale for every row. */
function q4(zero: number, scale: number, symmetric = false) {
  return intQuantized(
    `int4-ch-${symmetric ? "sym" : "asym"}`,
    new Tensor("u8", [8, 32], new Uint8Array(256).fill(3)),
    4,
    {
      scale: new Tensor("f32", [8, 1], new Float32Array(8).fill(scale)),
      zero: new Tensor("f32", [8, 1], new Float32Array(8).fill(zero)),
      symmetric,
    },
  );
}

Deno.test("encodeGptq: v1 stores zero − 1 (sym int4: 0x77777777), v2 stores zero; both decode to the same weights", () => {
  const sym = encodeGptq("x", q4(8, 0.5, true));
  assert.deepEqual([...sym.qzeros.data], [0x77777777]);
  for (const [z, format] of [[3, "gptq"], [3, "gptq_v2"], [0, "gptq_v2"], [15, "gptq_v2"]] as const) {
    const q = q4(z, 0.5);
    const t = encodeGptq("x", q, format);
    assert.equal(readBitstream((w) => t.qzeros.data[w]!, 0, 4), z - (format === "gptq" ? 1 : 0));
    const back = decodeGptq(t, 4, { formatId: q.formatId, symmetric: false, checkpointFormat: format });
    assert.deepEqual(dequantize(back).data, dequantize(q).data, `zero ${z} ${format}`);
  }
});

Deno.test("encodeGptq: values the layout cannot hold are clear errors", async () => {
  await assertThrowsMessage(
    () => encodeGptq("x", q4(0, 0.5)),
    RangeError,
    'zero of 0 needs checkpointFormat "gptq_v2"',
  );
  await assertThrowsMessage(() => encodeGptq("x", q4(3, 0.1)), RangeError, "scale 0.1", "exactly in f16");
  await assertThrowsMessage(() => encodeGptq("x", q4(7, 0.5, true)), RangeError, "zero point 7", "implies zero 8");
  const perTensor = intQuantized("int4-t-asym", new Tensor("u8", [8, 32]), 4, {
    scale: new Tensor("f32", [1, 1], new Float32Array([0.5])),
    zero: new Tensor("f32", [1, 1], new Float32Array([3])),
    symmetric: false,
  });
  await assertThrowsMessage(() => encodeGptq("x", perTensor), RangeError, "scales of shape [1,1]", "one scale per row");
  assert.doesNotThrow(() => encodeGptq("x", q4(3, 0.5)));
});

Deno.test("toF16Checked: rounds to nearest f16 and names the tensor and value that overflows", async () => {
  const t = new Tensor("f32", [3], new Float32Array([1 / 3, 65504, -65519]));
  assert.deepEqual(f16Rounded(t), new Float32Array([0.333251953125, 65504, -65504]));
  const big = new Tensor("f32", [2], new Float32Array([1, 70000]));
  await assertThrowsMessage(
    () => toF16Checked("model.norm.weight", big),
    HfExportError,
    '"model.norm.weight"',
    "element 1 is 70000",
  );
});

Deno.test("planShards: bounded shards in order, an oversized tensor alone", () => {
  assert.deepEqual(planShards([4, 4, 4], 8), [0, 0, 1]);
  assert.deepEqual(planShards([4, 20, 4, 4], 8), [0, 1, 2, 2]);
  assert.deepEqual(planShards([1, 2, 3], 100), [0, 0, 0]);
});

Deno.test("gptqQuantizationConfig: RTN makes no GPTQ claims; GPTQ records its damping; g_idx needs act-order", async () => {
  const q = q4(8, 0.5, true);
  const rtn = gptqQuantizationConfig(q, false, { provenance: recipeProvenance(getRecipe("RTN")) });
  assert.deepEqual(rtn, {
    "quant_method": "gptq",
    "checkpoint_format": "gptq",
    bits: 4,
    "group_size": -1,
    "desc_act": false,
    sym: true,
    "lm_head": false,
    quantlab: { format: "int4-ch-sym", method: "rtn", recipe: "RTN" },
  });
  const g = gptqQuantizationConfig(q, true, { provenance: recipeProvenance(getRecipe("GPTQ+act-order")) });
  assert.equal(g["damp_percent"], 0.01);
  assert.equal(g["desc_act"], true);
  assert.equal(g["true_sequential"], true);
  assert.equal(g["static_groups"], false);
  await assertThrowsMessage(
    () => gptqQuantizationConfig(q, true, { provenance: recipeProvenance(getRecipe("RTN")) }),
    HfExportError,
    'made by "rtn"',
    "g_idx is permuted",
  );
});

Deno.test("export: fake-quant and GPTQ checkpoints of a model in memory read back to the evaluated weights", async () => {
  const model = tinyModel(0);
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [recipe, format] of [["GPTQ+act-order", "int4-g16-asym"], ["GPTQ", "int3-ch-sym"], ["RTN", "int2-g32-asym"]]
    ) {
      const r = await applyRecipe(model, getRecipe(recipe!), {
        format: format!,
        calibration: tinyIds(4, 16, 2),
        seqLen: 16,
      });
      const out = `${dir}/${recipe}`;
      await writeFakeQuantCheckpoint(`${out}/fq`, r.model);
      await writeGptqCheckpoint(`${out}/gptq`, r.model, r.quantized, {
        provenance: recipeProvenance(getRecipe(recipe!)),
        checkpointFormat: "gptq_v2", // int2 asym may have zero points of 0
      });
      const fq = await loadLlama(`${out}/fq`, { ops: tsOps });
      const gq = await loadGptqCheckpoint(`${out}/gptq`, { ops: tsOps });
      for (const [name, w] of r.model.weights) {
        assert.deepEqual(fq.weight(name).data, w.data, `${recipe} fake-quant ${name}`);
        const want = r.quantized.has(name.replace(/\.weight$/, "")) ? w.data : f16Rounded(w);
        assert.deepEqual(gq.model.weight(name).data, want, `${recipe} gptq ${name}`);
      }
      for (const [name, q] of r.quantized) {
        assert.deepEqual(unpack(gq.quantized.get(name)!.codes).data, unpack(q.codes).data);
        assert.deepEqual(gq.quantized.get(name)!.groupIndex, q.groupIndex);
      }
      const qc = gq.quantizationConfig;
      assert.equal(qc["desc_act"], recipe === "GPTQ+act-order");
      assert.deepEqual(qc["quantlab"], { format, method: recipe === "RTN" ? "rtn" : "gptq", recipe });
      assert.equal(qc["group_size"], format === "int3-ch-sym" ? -1 : Number(format!.split("-g")[1]!.split("-")[0]));
      assert.equal(qc["checkpoint_format"], "gptq_v2");
      await assert.rejects(() => writeGptqCheckpoint(`${out}/gptq`, r.model, r.quantized), Deno.errors.AlreadyExists);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
