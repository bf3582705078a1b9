// SPDX-License-Identifier: MIT
/**
 * Scales never overflow: weights and activations at ±FLT_MAX (3.4e38) quantize to finite values
 * within a bounded error, for int2–int8 RTN per tensor, channel and group, symmetric and
 * asymmetric, and for the activation quantizer, on the ts and blas backends (identical results).
 */
import assert from "node:assert/strict";
import { quantize } from "../../lib/quant/quantize.ts";
import { quantizeActivations } from "../../lib/quant/activation.ts";
import { F32_MAX } from "../../lib/quant/minmax.ts";
import type { QuantSpec } from "../../lib/quant/spec.ts";
import type { Ops } from "../../lib/ops/ops.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { blasTest } from "../_backends.ts";

/** Relative slack on the error bound: only f32 rounding of the bound itself. */
const BOUND_RTOL = 1e-6;

/** [3, 8]: FLT_MAX at both signs, beside ordinary and tiny values (groups of 4 mix them). */
const W = new Tensor(
  "f32",
  [3, 8],
  Float32Array.from([
    F32_MAX,
    -F32_MAX,
    1,
    -0.5,
    0,
    2.5e38,
    -3e38,
    7, //
    -F32_MAX,
    3.0e38,
    1e-20,
    0.25,
    -F32_MAX,
    -1e38,
    0,
    0, //
    F32_MAX,
    F32_MAX,
    F32_MAX,
    F32_MAX,
    1,
    2,
    3,
    -4,
  ]),
);

function intSpecs(): QuantSpec[] {
  const out: QuantSpec[] = [];
  for (const bits of [2, 3, 4, 8]) {
    for (const symmetric of [true, false]) {
      out.push({ format: "int", bits, groupSize: 0, symmetric }); // per channel
      out.push({ format: "int", bits, groupSize: 4, symmetric }); // per group
      out.push({ format: "int", bits, groupSize: 0, symmetric, perTensor: true });
    }
  }
  return out;
}

/** |ŵ − w| ≤ 2·absmax/(maxq + 1) per group (one shrunk step at most), and ŵ finite. */
function assertBounded(X: Tensor<"f32">, Y: Tensor<"f32">, bits: number, groupSize: number, label: string): void {
  const [rows, cols] = X.shape as [number, number];
  const gs = groupSize === 0 ? cols : groupSize;
  const maxq = 2 ** bits - 1;
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < cols; g += gs) {
      let m = 0;
      for (let j = g; j < g + gs; j++) m = Math.max(m, Math.abs(X.data[r * cols + j] as number));
      const bound = (2 * m / (maxq + 1)) * (1 + BOUND_RTOL);
      for (let j = g; j < g + gs; j++) {
        const x = X.data[r * cols + j] as number, y = Y.data[r * cols + j] as number;
        assert.ok(Number.isFinite(y), `${label}: [${r}, ${j}] = ${y} for ${x}`);
        assert.ok(Math.abs(y - x) <= bound, `${label}: [${r}, ${j}] = ${y} for ${x}, error above ${bound}`);
      }
    }
  }
}

/** Per-tensor specs: the bound uses the tensor's absmax, so check with groupSize = cols on a flat view. */
async function checkIntRtn(ops: Ops): Promise<Map<string, Float32Array>> {
  const results = new Map<string, Float32Array>();
  for (const spec of intSpecs()) {
    if (spec.format !== "int") continue;
    const { weight } = await quantize(W, spec, { ops });
    const label = `${ops.name} int${spec.bits} g${spec.groupSize} ${spec.symmetric ? "sym" : "asym"}${
      spec.perTensor ? " per-tensor" : ""
    }`;
    if (spec.perTensor) {
      const flat = (t: Tensor<"f32">) => new Tensor("f32", [1, t.size], t.data);
      assertBounded(flat(W), flat(weight), spec.bits, 0, label);
    } else {
      assertBounded(W, weight, spec.bits, spec.groupSize, label);
    }
    results.set(label.replace(`${ops.name} `, ""), weight.data);
  }
  return results;
}

Deno.test("int2–int8 RTN of ±FLT_MAX gives finite values within one step (ts)", async () => {
  await checkIntRtn(tsOps);
});

blasTest("int RTN of ±FLT_MAX is finite and identical on blas and ts", async (blas) => {
  const a = await checkIntRtn(tsOps), b = await checkIntRtn(blas);
  for (const [label, data] of a) assert.deepEqual(b.get(label), data, label);
});

Deno.test("the activation quantizer keeps ±FLT_MAX finite: per token, per tensor, static threshold", async () => {
  const perToken = { format: "int", bits: 8, groupSize: 0, symmetric: true } as const;
  assertBounded(W, await quantizeActivations(W, perToken), 8, 0, "per-token int8");
  assertBounded(W, await quantizeActivations(W, { ...perToken, symmetric: false }), 8, 0, "per-token int8 asym");
  assertBounded(W, await quantizeActivations(W, { ...perToken, bits: 4, groupSize: 4 }), 4, 4, "int4 g4");
  const flat = new Tensor("f32", [1, W.size], W.data);
  const static8 = await quantizeActivations(flat, perToken, { threshold: F32_MAX });
  assertBounded(flat, static8, 8, 0, "static threshold FLT_MAX");
  for (
    const spec of [{ format: "fp", element: "e4m3", groupSize: 0 }, { format: "codebook", name: "nf4", groupSize: 0 }]
  ) {
    const Y = await quantizeActivations(W, spec as QuantSpec);
    assert.ok(Y.data.every(Number.isFinite), `${spec.format}: ${Array.from(Y.data)}`);
  }
});

blasTest("the activation quantizer gives the same finite values on blas", async (blas) => {
  const spec = { format: "int", bits: 8, groupSize: 0, symmetric: false } as const;
  const a = await quantizeActivations(W, spec), b = await quantizeActivations(W, spec, { ops: blas });
  assert.ok(b.data.every(Number.isFinite));
  assert.deepEqual(b.data, a.data);
});
