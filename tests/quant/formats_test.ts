// SPDX-License-Identifier: MIT
/** Every format's grid equals its definition; ids round-trip; accounting is exact; error within half a step. */
import assert from "node:assert/strict";
import { decodeMinifloat, type MINIFLOAT_FORMATS, minifloatLevels, minifloatMax } from "../../lib/quant/minifloat.ts";
import { NF3_LEVELS, NF4_LEVELS, normalFloatLevels, normalQuantile } from "../../lib/quant/codebook.ts";
import { mxElementLevels, mxScales } from "../../lib/quant/mx.ts";
import { log2Levels, log2Quantize } from "../../lib/quant/log2.ts";
import { bitsPerWeight, formatId, parseFormatId, parseQuantSpec, type QuantSpec } from "../../lib/quant/spec.ts";
import { quantize } from "../../lib/quant/quantize.ts";
import { dequantize, quantizedBitsPerWeight } from "../../lib/quant/quantized_tensor.ts";
import { formatParams, specLevels } from "../../lib/quant/format_params.ts";
import { minmaxParams } from "../../lib/quant/minmax.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose } from "../_assert.ts";

/** f32 products: |w − ŵ| may exceed scale/2 by a few ulps of w. */
const HALF_STEP_SLACK = 1e-6;
/** Acklam's Φ⁻¹ vs the f32 NF4 table shipped by bitsandbytes. */
const NF4_ATOL = 1e-6;

/** Independent enumeration: every (sign, exponent, mantissa) by the IEEE-style formula. */
function byFormula(E: number, M: number, maxExpField: number, dropTopMantissa: boolean): number[] {
  const bias = 2 ** (E - 1) - 1, out = new Set<number>();
  for (let e = 0; e <= maxExpField; e++) {
    for (let m = 0; m < 2 ** M; m++) {
      if (dropTopMantissa && e === maxExpField && m === 2 ** M - 1) continue;
      const v = e === 0 ? 2 ** (1 - bias) * m / 2 ** M : 2 ** (e - bias) * (1 + m / 2 ** M);
      out.add(v);
      out.add(-v);
    }
  }
  return [...out].sort((a, b) => a - b); // a Set holds 0 and −0 once
}

Deno.test("minifloat grids equal their definitions", () => {
  assert.deepEqual(
    Array.from(minifloatLevels("e2m1")),
    [-6, -4, -3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4, 6],
  );
  assert.deepEqual(Array.from(minifloatLevels("e4m3")), byFormula(4, 3, 15, true));
  assert.deepEqual(Array.from(minifloatLevels("e5m2")), byFormula(5, 2, 30, false));
  assert.deepEqual(Array.from(minifloatLevels("e3m2")), byFormula(3, 2, 7, false));
  assert.deepEqual(Array.from(minifloatLevels("e2m3")), byFormula(2, 3, 3, false));
  const expect = {
    e4m3: [253, 448, 2 ** -9],
    e5m2: [247, 57344, 2 ** -16],
    e3m2: [63, 28, 0.0625],
    e2m3: [63, 7.5, 0.125],
    e2m1: [15, 6, 0.5],
  };
  for (const [name, [count, max, minSub]] of Object.entries(expect)) {
    const l = minifloatLevels(name as keyof typeof MINIFLOAT_FORMATS);
    assert.equal(l.length, count, name);
    assert.equal(minifloatMax(name as keyof typeof MINIFLOAT_FORMATS), max, name);
    assert.equal(l[l.length / 2 + 0.5], minSub, `${name} smallest subnormal`);
  }
  assert.ok(Number.isNaN(decodeMinifloat(0xff, "e4m3")));
  assert.equal(decodeMinifloat(0x7c, "e5m2"), Infinity);
});

Deno.test("NF4 equals the QLoRA construction; NF3 is the 3-bit analogue", () => {
  assertAllClose(normalFloatLevels(4), NF4_LEVELS, { atol: NF4_ATOL, rtol: 0 });
  assert.equal(NF4_LEVELS.length, 16);
  assert.equal(NF3_LEVELS.length, 8);
  assert.deepEqual([NF3_LEVELS[0], NF3_LEVELS[3], NF3_LEVELS[7]], [-1, 0, 1]);
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959963984540054) < 1e-8);
});

Deno.test("MX: shared scale 2^(floor(log2 amax) − emax) per 32 columns; int8 elements are k/64", () => {
  const levels = mxElementLevels("int8");
  assert.equal(levels.length, 256);
  assert.deepEqual([levels[0], levels[128], levels[255]], [-2, 0, 127 / 64]);
  const W = randnF32([3, 64], 4);
  for (const [el, emax] of [["e4m3", 8], ["e5m2", 15], ["e3m2", 4], ["e2m3", 2], ["e2m1", 2], ["int8", 0]] as const) {
    const S = mxScales(W, el);
    assert.deepEqual(S.shape, [3, 2]);
    for (let r = 0; r < 3; r++) {
      for (let g = 0; g < 2; g++) {
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(W.data[r * 64 + g * 32 + j]!));
        assert.equal(S.data[r * 2 + g], 2 ** (Math.floor(Math.log2(amax)) - emax), `${el}`);
      }
    }
  }
});

Deno.test("log2 levels are powers of two and rounding is in the log domain", () => {
  assert.deepEqual(Array.from(log2Levels(2)), [0.125, 0.25, 0.5, 1]);
  const s = new Tensor("f32", [1, 1], new Float32Array([1]));
  // Boundary between 0.5 and 0.25 is their geometric mean 2^-1.5 ≈ 0.3536.
  const x = new Tensor("f32", [1, 2], new Float32Array([0.36, 0.35]));
  assert.deepEqual(Array.from(log2Quantize(x, s, 3).values.data), [0.5, 0.25]);
});

const SPECS: QuantSpec[] = [
  { format: "int", bits: 4, groupSize: 32, symmetric: false },
  { format: "int", bits: 3, groupSize: 0, symmetric: true },
  { format: "int", bits: 6, groupSize: 64, symmetric: false },
  { format: "int", bits: 8, groupSize: 0, symmetric: true, perTensor: true },
  { format: "fp", element: "e4m3", groupSize: 0 },
  { format: "fp", element: "e5m2", groupSize: 32 },
  { format: "fp", element: "e3m2", groupSize: 32 },
  { format: "fp", element: "e2m3", groupSize: 64 },
  { format: "fp", element: "e2m1", groupSize: 32, perTensor: true },
  { format: "codebook", name: "nf4", groupSize: 64 },
  { format: "codebook", name: "nf3", groupSize: 32 },
  { format: "codebook", name: "tern", levels: Float32Array.of(-1, 0, 1), groupSize: 32 },
  { format: "mx", element: "e2m1" },
  { format: "mx", element: "e4m3" },
  { format: "mx", element: "int8", blockSize: 16 },
];

Deno.test("format ids round-trip and bits per weight equal the packed storage", async () => {
  const W = randnF32([8, 128], 7);
  for (const spec of SPECS) {
    const id = formatId(spec);
    if (!id.startsWith("cb-")) assert.equal(formatId(parseQuantSpec(id)), id);
    const { weight, quantized } = await quantize(W, spec);
    assert.equal(quantized.formatId, id);
    assert.equal(quantizedBitsPerWeight(quantized), bitsPerWeight(spec, 128, 8), id);
    assertAllClose(dequantize(quantized), weight, { atol: 0, rtol: 0, msg: `${id}: ` });
  }
  assert.deepEqual(parseFormatId("int8-t-sym"), {
    format: "int",
    bits: 8,
    groupSize: 0,
    symmetric: true,
    perTensor: true,
  });
  assert.equal(bitsPerWeight({ format: "fp", element: "e2m1", groupSize: 32 }, 4096), 4.5);
  assert.equal(bitsPerWeight({ format: "mx", element: "e4m3" }, 4096), 8.25);
});

Deno.test("|w − Q(w)| ≤ scale/2 inside the range (int); ≤ half the level gap (codebooks)", async () => {
  const W = randnF32([16, 128], 11);
  for (const spec of SPECS) {
    const { weight, params } = await quantize(W, spec);
    const [R, G] = params.scale.shape as [number, number];
    const levels = specLevels(spec);
    for (let r = 0; r < 16; r++) {
      for (let j = 0; j < 128; j++) {
        const k = (R === 1 ? 0 : r * G) + Math.floor(j / (128 / G));
        const s = params.scale.data[k]!, w = W.data[r * 128 + j]!, e = Math.abs(w - weight.data[r * 128 + j]!);
        let bound: number;
        if (spec.format === "int") {
          const z = params.zero!.data[k]!, lo = s * (0 - z), hi = s * (params.maxq! - z);
          if (w < lo || w > hi) continue;
          bound = s / 2;
        } else {
          const t = w / s, L = levels!;
          if (t < L[0]! || t > L[L.length - 1]!) continue;
          let gap = 0;
          for (let i = 1; i < L.length; i++) if (L[i - 1]! <= t && t <= L[i]!) gap = L[i]! - L[i - 1]!;
          bound = (s * gap) / 2;
        }
        assert.ok(
          e <= bound + HALF_STEP_SLACK * Math.max(1, Math.abs(w)),
          `${formatId(spec)} [${r}, ${j}]: ${e} > ${bound}`,
        );
      }
    }
  }
});

Deno.test("per-tensor int params broadcast one range; formatParams agrees with minmaxParams for int", () => {
  const W = randnF32([4, 32], 2);
  const spec = { format: "int", bits: 4, groupSize: 8, symmetric: false } as const;
  const a = minmaxParams(W, spec), b = formatParams(W, spec);
  assert.deepEqual(a.scale.data, b.scale.data);
  assert.deepEqual(a.zero.data, b.zero!.data);
  assert.deepEqual(minmaxParams(W, { ...spec, perTensor: true }).scale.shape, [1, 1]);
});
