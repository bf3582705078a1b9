// SPDX-License-Identifier: MIT
/** Codes on the WebGPU backend equal the ts backend's for every format (skipped without an adapter, required in CI). */
import assert from "node:assert/strict";
import { createWebgpuOps } from "../../kernels/webgpu_ops.ts";
import { quantize } from "../../lib/quant/quantize.ts";
import { unpack } from "../../lib/ops/ts/pack.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { formatId, parseQuantSpec } from "../../lib/quant/spec.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { gpuTest } from "../_gpu.ts";

/** Codes may differ by one level only at exact rounding ties (f32 products agree bit for bit otherwise). */
const MAX_CODE_MISMATCH_RATE = 1e-4;

gpuTest("quantize gives the same codes on webgpu and ts", async (ctx) => {
  const gpu = createWebgpuOps(ctx, { cpu: tsOps });
  const W = randnF32([64, 256], 31);
  for (
    const id of [
      "int4-g128-asym",
      "int3-ch-sym",
      "int8-g64-asym",
      "fp8-e4m3-ch",
      "fp4-e2m1-g32",
      "nf4-g64",
      "mxfp4-e2m1",
    ]
  ) {
    const spec = parseQuantSpec(id);
    const a = await quantize(W, spec, { ops: tsOps }), b = await quantize(W, spec, { ops: gpu });
    const ca = unpack(a.quantized.codes).data, cb = unpack(b.quantized.codes).data;
    let bad = 0;
    for (let i = 0; i < ca.length; i++) {
      if (ca[i] !== cb[i]) {
        bad++;
        assert.ok(Math.abs(ca[i]! - cb[i]!) === 1, `${formatId(spec)}: code ${i} differs by more than one level`);
      }
    }
    assert.ok(bad / ca.length <= MAX_CODE_MISMATCH_RATE, `${id}: ${bad} of ${ca.length} codes differ`);
  }
});
