// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { loadGptqCheckpoint, writeFakeQuantCheckpoint, writeGptqCheckpoint } from "../../lib/model/export_gptq.ts";
import { encodeGptq, packBitstream, readBitstream } from "../../lib/model/_gptq_layout.ts";
import { loadLlama } from "../../lib/model/load.ts";
import { applyRecipe, getRecipe } from "../../lib/pipeline/recipes.ts";
import { type IntQuantized, intQuantized } from "../../lib/quant/quantized_tensor.ts";
import { unpack } from "../../lib/ops/ts/pack.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { tinyIds, tinyModel } from "../calib/_tiny_model.ts";

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
});

Deno.test("export: fake-quant and packed GPTQ checkpoints read back to identical dequantized weights", async () => {
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
      await writeFakeQuantCheckpoint(`${dir}/fq`, r.model);
      await writeGptqCheckpoint(`${dir}/gptq`, r.model, r.quantized as Map<string, IntQuantized>);
      const fq = await loadLlama(`${dir}/fq`, { ops: tsOps });
      const gq = await loadGptqCheckpoint(`${dir}/gptq`, { ops: tsOps });
      for (const [name, w] of r.model.weights) {
        assert.deepEqual(fq.weight(name).data, w.data, `${recipe} fake-quant ${name}`);
        assert.deepEqual(gq.model.weight(name).data, w.data, `${recipe} gptq ${name}`);
      }
      for (const [name, q] of r.quantized) {
        assert.deepEqual(unpack(gq.quantized.get(name)!.codes).data, unpack(q.codes).data);
        assert.deepEqual(gq.quantized.get(name)!.groupIndex, q.groupIndex);
      }
      const qc = JSON.parse(await Deno.readTextFile(`${dir}/gptq/config.json`)).quantization_config;
      assert.equal(qc.desc_act, recipe === "GPTQ+act-order");
      assert.equal(qc.quantlab_format, format);
      assert.equal(qc.group_size, format === "int3-ch-sym" ? -1 : Number(format!.split("-g")[1]!.split("-")[0]));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export: values the v1 layout cannot hold are clear errors", () => {
  const codes = new Tensor("u8", [8, 32]);
  const q = (zero: number, scale: number) =>
    intQuantized("int4-ch-asym", codes, 4, {
      scale: new Tensor("f32", [8, 1], new Float32Array(8).fill(scale)),
      zero: new Tensor("f32", [8, 1], new Float32Array(8).fill(zero)),
      symmetric: false,
    });
  assert.throws(() => encodeGptq("x", q(0, 0.5)), /zero must be in 1..15/);
  assert.throws(() => encodeGptq("x", q(3, 0.1)), /exactly in f16/);
  assert.doesNotThrow(() => encodeGptq("x", q(3, 0.5)));
});
