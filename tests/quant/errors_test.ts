// SPDX-License-Identifier: MIT
/** Bad input gives clear errors: bits out of range, group size not dividing, NaN/Inf, empty calibration, misuse. */
import { quantize } from "../../lib/quant/quantize.ts";
import { mseSearch } from "../../lib/quant/mse.ts";
import { neuqiParams } from "../../lib/quant/neuqi.ts";
import { sinqQuantize } from "../../lib/quant/sinq.ts";
import { klCalibrate, klDivergenceCurve } from "../../lib/quant/kl_calibration.ts";
import { RunningMinMax } from "../../lib/quant/running.ts";
import { codebookLevels } from "../../lib/quant/codebook.ts";
import { log2Quantize } from "../../lib/quant/log2.ts";
import { parseQuantSpec } from "../../lib/quant/spec.ts";
import { quantizeActivations } from "../../lib/quant/activation.ts";
import { HessianAccumulator } from "../../lib/calib/hessian.ts";
import { collectHessians } from "../../lib/calib/capture.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertThrowsMessage } from "../_assert.ts";
import { tinyModel } from "../calib/_tiny_model.ts";

const W = randnF32([4, 48], 0);

Deno.test("bits out of range", async () => {
  for (const bits of [1, 9, 2.5]) {
    await assertThrowsMessage(
      () => quantize(W, { format: "int", bits, groupSize: 0, symmetric: false }),
      RangeError,
      `${bits} bits`,
      "2..8",
    );
    await assertThrowsMessage(() => quantize(W, { format: "log2", bits, groupSize: 0 }), RangeError, "2..8");
  }
  await assertThrowsMessage(() => parseQuantSpec("int9-g128-asym"), RangeError, "int9-g128-asym");
  await assertThrowsMessage(() => parseQuantSpec("fp4-e4m3-ch"), RangeError, "Cannot parse");
});

Deno.test("group size not dividing the row", async () => {
  for (
    const spec of [
      { format: "int", bits: 4, groupSize: 32, symmetric: false } as const,
      { format: "fp", element: "e2m1", groupSize: 20 } as const,
      { format: "codebook", name: "nf4", groupSize: 64 } as const,
      { format: "mx", element: "e4m3" } as const,
    ]
  ) {
    await assertThrowsMessage(() => quantize(W, spec), RangeError, "Cannot group 48 columns", "divisible");
  }
  await assertThrowsMessage(
    () => neuqiParams(W, { format: "int", bits: 3, groupSize: 7, symmetric: false }),
    RangeError,
    "groups of 7",
  );
  await assertThrowsMessage(
    () => sinqQuantize(W, { format: "int", bits: 3, groupSize: 64, symmetric: false }),
    RangeError,
    "groups of 64",
  );
});

Deno.test("NaN/Inf in weights", async () => {
  const bad = new Tensor("f32", [2, 4], new Float32Array([1, 2, NaN, 4, 5, 6, 7, 8]));
  const inf = new Tensor("f32", [2, 4], new Float32Array([1, 2, 3, 4, 5, Infinity, 7, 8]));
  for (
    const spec of [
      { format: "int", bits: 4, groupSize: 0, symmetric: false } as const,
      { format: "fp", element: "e4m3", groupSize: 0 } as const,
      { format: "mx", element: "e2m1", blockSize: 4 } as const,
    ]
  ) {
    await assertThrowsMessage(() => quantize(bad, spec), RangeError, "NaN");
    await assertThrowsMessage(() => quantize(inf, spec), RangeError, "Infinity");
  }
  await assertThrowsMessage(
    () => mseSearch(bad, { format: "int", bits: 4, groupSize: 0, symmetric: false }),
    RangeError,
    "NaN",
  );
  await assertThrowsMessage(
    () => neuqiParams(inf, { format: "int", bits: 4, groupSize: 0, symmetric: false }),
    RangeError,
    "Infinity",
  );
  await assertThrowsMessage(
    () => sinqQuantize(bad, { format: "int", bits: 4, groupSize: 4, symmetric: false }),
    RangeError,
    "NaN",
  );
  await assertThrowsMessage(
    () => quantizeActivations(bad, { format: "int", bits: 8, groupSize: 0, symmetric: true }),
    RangeError,
    "NaN",
  );
});

Deno.test("an empty calibration set", async () => {
  await assertThrowsMessage(() => new HessianAccumulator(8).hessian, RangeError, "empty calibration set");
  await assertThrowsMessage(() => collectHessians(tinyModel(0), new Int32Array(0), 16), RangeError, "empty");
  await assertThrowsMessage(() => klCalibrate(new Tensor("f32", [0, 4])), RangeError, "empty");
  await assertThrowsMessage(() => klDivergenceCurve(new Uint32Array(256)), RangeError, "empty");
  await assertThrowsMessage(() => new RunningMinMax().min, RangeError, "empty");
  await assertThrowsMessage(() => new RunningMinMax().observe(new Tensor("f32", [0, 3])), RangeError, "empty batch");
});

Deno.test("observers and formats that do not combine", async () => {
  await assertThrowsMessage(
    () => quantize(W, { format: "mx", element: "e2m1", blockSize: 16 }, { observer: "mse" }),
    RangeError,
    "MX",
  );
  await assertThrowsMessage(
    () => quantize(W, { format: "int", bits: 4, groupSize: 0, symmetric: false }, { observer: "mse-output" }),
    RangeError,
    "'H'",
  );
  await assertThrowsMessage(
    () => quantize(W, { format: "fp", element: "e2m1", groupSize: 0 }, { observer: "neuqi" }),
    RangeError,
    "asymmetric int",
  );
  await assertThrowsMessage(
    () => neuqiParams(W, { format: "int", bits: 4, groupSize: 0, symmetric: true }),
    RangeError,
    "symmetric",
  );
  await assertThrowsMessage(() => codebookLevels("mine"), RangeError, "levels");
  await assertThrowsMessage(() => codebookLevels("mine", Float32Array.of(0, 1, 1)), RangeError, "ascending");
  const neg = new Tensor("f32", [1, 2], new Float32Array([0.5, -0.1]));
  await assertThrowsMessage(() => quantize(neg, { format: "log2", bits: 4, groupSize: 0 }), RangeError, "negative");
  await assertThrowsMessage(
    () => log2Quantize(neg, new Tensor("f32", [1, 1], new Float32Array([1])), 4),
    RangeError,
    "≥ 0",
  );
});

Deno.test("min-max treats groups of subnormal weights like all-zero groups (no Inf/NaN codes)", async () => {
  const { minmaxParams } = await import("../../lib/quant/minmax.ts");
  const { tsOps } = await import("../../lib/ops/ts/mod.ts");
  const { Tensor } = await import("../../lib/tensor/tensor.ts");
  const W = new Tensor("f32", [2, 4], new Float32Array([3e-40, -1e-39, 0, 4e-38, 1, -0.5, 0.25, 0]));
  const p = minmaxParams(W, { format: "int", bits: 4, groupSize: 0, symmetric: false });
  const Q = await tsOps.fakeQuantize(W, p);
  for (const v of Q.data) if (!Number.isFinite(v)) throw new Error(`non-finite ${v}`);
  if (Q.data.slice(0, 4).some((v) => Math.abs(v) > 1e-30)) throw new Error(`tiny row not zero: ${Q.data}`);
});
