// SPDX-License-Identifier: MIT
/** The gemm-panel `weightedErrorOps` against the f64 specification `weightedError`. */
import assert from "node:assert/strict";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { weightedError } from "../../lib/calib/metrics.ts";
import { weightedErrorOps } from "../../lib/calib/weighted_error.ts";
import { cpuBackends } from "../_backends.ts";

/** f32 products against the f64 specification. */
const RTOL = 2e-5;

/** A positive-definite H = XᵀX/n + 0.1·I (f64) from seeded data. */
function spd(n: number, seed: number): Tensor<"f64"> {
  const X = randnF32([2 * n, n], seed);
  const H = new Float64Array(n * n);
  for (let t = 0; t < 2 * n; t++) {
    for (let i = 0; i < n; i++) {
      const xi = X.data[t * n + i] as number;
      for (let j = 0; j < n; j++) H[i * n + j] = (H[i * n + j] as number) + (xi * (X.data[t * n + j] as number)) / n;
    }
  }
  for (let i = 0; i < n; i++) H[i * n + i] = (H[i * n + i] as number) + 0.1;
  return new Tensor("f64", [n, n], H);
}

for (const ops of cpuBackends()) {
  Deno.test(`weightedErrorOps equals weightedError on ${ops.name} (several panels, ragged last panel)`, async () => {
    for (const [rows, cols] of [[7, 5], [33, 300], [64, 520]] as const) {
      const W = randnF32([rows, cols], 1);
      const noise = randnF32([rows, cols], 2, 0.05);
      const Q = new Tensor("f32", [rows, cols], W.data.map((w, i) => w + (noise.data[i] as number)));
      const H = spd(cols, 3);
      const want = weightedError(W, Q, H);
      const got = await weightedErrorOps(W, Q, H, ops);
      assert.ok(Math.abs(got - want) <= RTOL * Math.abs(want), `${rows}×${cols}: ${got} vs ${want}`);
    }
  });
}

Deno.test("weightedErrorOps names mismatched shapes", async () => {
  const W = randnF32([2, 3], 0);
  const H = new Tensor("f64", [2, 2], new Float64Array(4));
  await assert.rejects(
    () => weightedErrorOps(W, W, H, cpuBackends()[0]!),
    /weightedErrorOps: Cannot weight W of shape \[2, 3\] by H of shape \[2, 2\]/,
  );
});
