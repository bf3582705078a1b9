// SPDX-License-Identifier: MIT
/**
 * One definition of stored bits: `bitsPerWeight(spec, cols, rows)`, `storageBits(q)`, the
 * demo's RTN rows (`modelBitsPerWeight` over `bitsPerWeight`), `rtnModel` and the recipes'
 * GPTQ rows agree for the same format.
 */
import assert from "node:assert/strict";
import { bitsPerWeight, parseQuantSpec, type QuantSpec, specLayout } from "../../lib/quant/spec.ts";
import { intQuantized, quantizedLayout, storageBits } from "../../lib/quant/quantized_tensor.ts";
import { quantize } from "../../lib/quant/quantize.ts";
import { sinqQuantize } from "../../lib/quant/sinq.ts";
import { GROUP_INDEX_BITS, storedBits } from "../../lib/quant/stored_bits.ts";
import { modelBitsPerWeight } from "../../lib/pipeline/quantize_model.ts";
import { rtnModel } from "../../lib/pipeline/rtn_model.ts";
import { applyRecipe, getRecipe } from "../../lib/pipeline/recipes.ts";
import { linearNames } from "../../lib/model/config.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { tinyIds, tinyModel } from "../calib/_tiny_model.ts";

/** The formats the issue names, with their bits per weight for a 256-column row, from the format definitions. */
const NAMED: readonly [string, number][] = [
  ["int3-g128-asym", 3 + (16 + 3) / 128],
  ["int4-g128-asym", 4 + (16 + 4) / 128],
  ["int3-ch-asym", 3 + (16 + 3) / 256],
  ["nf4-g64", 4 + 16 / 64],
  ["fp4-e2m1-g32", 4 + 16 / 32],
  ["mxfp4-e2m1", 4 + 8 / 32],
];

Deno.test("bitsPerWeight: codes at their real width plus parameters, no 32-bit word rounding", () => {
  for (const [id, expected] of NAMED) assert.equal(bitsPerWeight(parseQuantSpec(id), 256, 64), expected, id);
  // int3 per channel is ≈3.0x, not the 3.2 + 19/cols of 10 codes per u32 word.
  assert.ok(bitsPerWeight(parseQuantSpec("int3-ch-asym"), 4096) < 3.01);
  // Per-tensor parameters and a custom table are spread over rows·cols.
  assert.equal(bitsPerWeight(parseQuantSpec("int8-t-sym"), 64, 4), 8 + 16 / 256);
  const tern: QuantSpec = { format: "codebook", name: "tern", levels: Float32Array.of(-1, 0, 1), groupSize: 32 };
  assert.equal(bitsPerWeight(tern, 64, 4), 2 + 16 / 32 + (3 * 16) / 256);
  assert.throws(() => bitsPerWeight(parseQuantSpec("int4-g128-asym"), 96), /divisible/);
});

Deno.test("specLayout equals the layout of the packed tensor quantize() builds, for every format family", async () => {
  const W = randnF32([8, 128], 3);
  const absW = new Tensor("f32", [8, 128], W.data.map(Math.abs)); // log2 codes are for non-negative values
  const ids = [
    "int2-g64-sym",
    "int3-ch-asym",
    "int3-g32-asym",
    "int5-g32-asym",
    "int6-ch-sym",
    "int7-g64-asym",
    "int8-t-asym",
    "fp8-e4m3-ch",
    "fp6-e3m2-g32",
    "fp4-e2m1-t",
    "nf4-g64",
    "nf3-ch",
    "mxfp4-e2m1",
    "mxfp6-e2m3",
    "mxint8-b16",
    "log2-b3-ch",
  ];
  const specs: QuantSpec[] = ids.map(parseQuantSpec);
  specs.push({ format: "codebook", name: "tern", levels: Float32Array.of(-1, 0, 1), groupSize: 32 });
  for (const spec of specs) {
    const { quantized } = await quantize(spec.format === "log2" ? absW : W, spec);
    const layout = specLayout(spec, 8, 128);
    assert.deepEqual(quantizedLayout(quantized), layout, quantized.formatId);
    assert.equal(storageBits(quantized), storedBits(layout), quantized.formatId);
    assert.equal(storageBits(quantized), bitsPerWeight(spec, 128, 8) * 8 * 128, quantized.formatId);
  }
});

Deno.test("storageBits: 3-bit codes held 10 per u32 count 3 bits; g_idx counts 32 bits per column only when non-trivial", () => {
  const rows = 4, cols = 64, G = 2;
  const codes = new Tensor("u8", [rows, cols], Uint8Array.from({ length: rows * cols }, (_, i) => i % 8));
  const scale = new Tensor("f32", [rows, G], new Float32Array(rows * G).fill(0.1));
  const zero = new Tensor("f32", [rows, G], new Float32Array(rows * G).fill(4));
  const plain = intQuantized("int3-g32-asym", codes, 3, { scale, zero, symmetric: false });
  assert.ok(plain.codes.words.size * 32 > rows * cols * 3); // the in-memory packing pads
  assert.equal(storageBits(plain), rows * cols * 3 + rows * G * (16 + 3));
  const identity = Int32Array.from({ length: cols }, (_, j) => Math.floor(j / 32));
  const trivial = intQuantized("int3-g32-asym", codes, 3, { scale, zero, symmetric: false, groupIndex: identity });
  assert.equal(storageBits(trivial), storageBits(plain));
  const permuted = Int32Array.from({ length: cols }, (_, j) => j % G);
  const actOrder = intQuantized("int3-g32-asym", codes, 3, { scale, zero, symmetric: false, groupIndex: permuted });
  assert.equal(storageBits(actOrder), storageBits(plain) + cols * GROUP_INDEX_BITS);
  const sym = intQuantized("int3-g32-sym", codes, 3, { scale, zero, symmetric: true });
  assert.equal(storageBits(sym), rows * cols * 3 + rows * G * 16);
});

Deno.test("storageBits: SINQ's column scale and NeUQI's f16 zeros are counted on top of the format", async () => {
  const W = randnF32([8, 128], 5);
  const spec = parseQuantSpec("int4-g64-asym");
  const nominal = bitsPerWeight(spec, 128, 8) * 8 * 128;
  const sinq = await sinqQuantize(W, spec);
  assert.equal(storageBits(sinq.quantized), nominal + 128 * 16);
  const neuqi = await quantize(W, spec, { observer: "neuqi" });
  assert.equal(storageBits(neuqi.quantized), nominal + 8 * 2 * (16 - 4));
});

Deno.test("the demo's RTN rows, rtnModel, the recipes' RTN/GPTQ rows and QuantizedTensor agree per format", async () => {
  const model = tinyModel(2, undefined, { d: 128, ffn: 256, layers: 1 });
  const calibration = tinyIds(4, 16, 5);
  const shapes = linearNames(0).map((name) => model.weight(`${name}.weight`).shape as [number, number]);
  const weights = shapes.reduce((s, [rows, cols]) => s + rows * cols, 0);
  for (const [id] of NAMED) {
    const spec = parseQuantSpec(id);
    // tools/demo.ts computes its RTN rows exactly so.
    const demo = modelBitsPerWeight(model, (cols, rows) => bitsPerWeight(spec, cols, rows));
    const rtn = await rtnModel(model, spec);
    assert.equal(rtn.bitsPerWeight, demo, id);
    let bits = 0;
    for (const name of linearNames(0)) {
      bits += storageBits((await quantize(model.weight(`${name}.weight`), spec)).quantized);
    }
    assert.equal(bits / weights, demo, id);
    if (spec.format !== "int") continue;
    const recipeRtn = await applyRecipe(model, getRecipe("RTN"), { format: id });
    const gptq = await applyRecipe(model, getRecipe("GPTQ"), { format: id, calibration, seqLen: 16 });
    assert.equal(recipeRtn.bitsPerWeight, demo, id);
    assert.equal(gptq.bitsPerWeight, demo, id);
    // Act-order with dynamic groups stores g_idx (int32 per column) where a row has several groups.
    const actOrder = await applyRecipe(model, getRecipe("GPTQ+act-order"), { format: id, calibration, seqLen: 16 });
    const grouped = shapes.filter(([, cols]) => spec.groupSize > 0 && cols > spec.groupSize);
    assert.ok(spec.groupSize === 0 || grouped.length > 0, id);
    const gIdx = grouped.reduce((s, [, cols]) => s + cols * GROUP_INDEX_BITS, 0) / weights;
    assert.ok(Math.abs(actOrder.bitsPerWeight - demo - gIdx) < 1e-12, `${id}: ${actOrder.bitsPerWeight}`);
  }
});
