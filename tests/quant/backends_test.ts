// SPDX-License-Identifier: MIT
/** Codes and values are identical on the ts and blas backends for every format and observer. */
import assert from "node:assert/strict";
import { quantize, type WeightObserver } from "../../lib/quant/quantize.ts";
import { sinqQuantize } from "../../lib/quant/sinq.ts";
import { quantizeActivations } from "../../lib/quant/activation.ts";
import { unpack } from "../../lib/ops/ts/pack.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { formatId, type QuantSpec } from "../../lib/quant/spec.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { blasTest } from "../_backends.ts";

const SPECS: QuantSpec[] = [
  { format: "int", bits: 2, groupSize: 32, symmetric: false },
  { format: "int", bits: 3, groupSize: 0, symmetric: true },
  { format: "int", bits: 8, groupSize: 64, symmetric: false },
  { format: "fp", element: "e4m3", groupSize: 32 },
  { format: "fp", element: "e2m1", groupSize: 0 },
  { format: "codebook", name: "nf4", groupSize: 64 },
  { format: "mx", element: "e2m1" },
  { format: "mx", element: "int8" },
];

blasTest("quantize gives identical codes and values on ts and blas", async (blas) => {
  const W = randnF32([24, 128], 21);
  for (const spec of SPECS) {
    const observers: WeightObserver[] = spec.format === "mx" ? ["minmax"] : ["minmax", "mse"];
    for (const observer of observers) {
      const a = await quantize(W, spec, { ops: tsOps, observer });
      const b = await quantize(W, spec, { ops: blas, observer });
      const id = `${formatId(spec)} ${observer}`;
      assert.deepEqual(unpack(b.quantized.codes).data, unpack(a.quantized.codes).data, id);
      assert.deepEqual(b.weight.data, a.weight.data, id);
      assert.deepEqual(b.params.scale.data, a.params.scale.data, id);
    }
  }
  const s1 = await sinqQuantize(W, SPECS[0]!, { ops: tsOps }), s2 = await sinqQuantize(W, SPECS[0]!, { ops: blas });
  assert.deepEqual(unpack(s2.quantized.codes).data, unpack(s1.quantized.codes).data);
  const X = randnF32([16, 128], 22);
  const spec = { format: "int", bits: 8, groupSize: 0, symmetric: true } as const;
  assert.deepEqual(
    (await quantizeActivations(X, spec, { ops: blas })).data,
    (await quantizeActivations(X, spec, { ops: tsOps })).data,
  );
});
