// SPDX-License-Identifier: MIT
/** RTN over a whole model: every format and observer yields a runnable model and exact size accounting. */
import assert from "node:assert/strict";
import { rtnModel } from "../../lib/pipeline/rtn_model.ts";
import { collectHessians } from "../../lib/calib/capture.ts";
import { dequantize, storageBits } from "../../lib/quant/quantized_tensor.ts";
import { bitsPerWeight, parseQuantSpec } from "../../lib/quant/spec.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { tinyIds, tinyModel } from "../calib/_tiny_model.ts";

Deno.test("rtnModel: a quantized model the forward pass runs, packed tensors that dequantize to it", async () => {
  const model = tinyModel(6);
  const ids = tinyIds(2, 16, 7);
  const H = await collectHessians(model, ids, 16);
  const cases = [
    ["int4-g32-asym", "minmax"],
    ["int3-ch-asym", "mse"],
    ["int3-g32-asym", "mse-output"],
    ["int3-g32-asym", "neuqi"],
    ["int4-g32-asym", "sinq"],
    ["fp4-e2m1-g32", "percentile"],
    ["nf4-g32", "mse"],
    ["mxfp4-e2m1", "minmax"],
    ["fp8-e4m3-ch", "minmax"],
  ] as const;
  const ref = await model.forward(ids, 16);
  for (const [id, observer] of cases) {
    const spec = parseQuantSpec(id);
    const r = await rtnModel(model, spec, { observer, hessians: H });
    assert.equal(r.formatId, id);
    assert.equal(r.quantized.size, 14);
    assert.equal(r.layers.length, 14);
    let bits = 0, n = 0;
    for (const [name, q] of r.quantized) {
      assertAllClose(dequantize(q), r.model.weight(`${name}.weight`), { atol: 0, rtol: 0, msg: `${id} ${name}: ` });
      bits += storageBits(q);
      n += q.shape[0] * q.shape[1];
    }
    assert.equal(r.bitsPerWeight, bits / n);
    if (observer !== "sinq" && observer !== "neuqi") {
      // Every linear here has ≥ 32 columns, so the nominal rate applies layer by layer.
      for (const row of r.layers) {
        assert.equal(row.bitsPerWeight, bitsPerWeight(spec, row.cols, row.rows), `${id} ${row.name}`);
      }
    }
    assert.ok(r.layers.every((row) => row.weightedError! > 0 && row.sqnr > 0));
    const out = await r.model.forward(ids, 16);
    assert.ok(out.data.every(Number.isFinite));
    assert.notDeepEqual(out.data, ref.data);
  }
  await assertThrowsMessage(
    () => rtnModel(model, parseQuantSpec("int4-g32-asym"), { observer: "mse-output" }),
    RangeError,
    "Hessian",
  );
});
