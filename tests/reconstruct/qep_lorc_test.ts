// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { qepCorrect, qepCrossHessian } from "../../lib/reconstruct/qep.ts";
import { lorc } from "../../lib/reconstruct/lorc.ts";
import { svd } from "../../lib/linalg/svd.ts";
import { quantizeRtn } from "../../lib/quant/rtn.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { blasTest } from "../_backends.ts";
import { hessianOf, randomInputs, randomWeights } from "./_data.ts";

/** Normal equations of the QEP least-squares problem hold to this (relative to their scale). */
const NORMAL_EQ_RTOL = 1e-3;
/** Eckart–Young: the residual equals the tail of the spectrum (f32 factors). */
const ECKART_YOUNG_RTOL = 1e-4;

function perturbed(X: Tensor<"f32">, seed: number, std: number): Tensor<"f32"> {
  const rng = new Rng(seed);
  return new Tensor("f32", X.shape, X.data.map((v) => v + std * rng.normal()));
}

Deno.test("qepCrossHessian: 2/N·(X − X̂)ᵀX̂, zero when X̂ = X", async () => {
  const X = randomInputs(40, 6, 1);
  const Xh = perturbed(X, 2, 0.1);
  const Hd = await qepCrossHessian(X, Xh);
  let s = 0;
  for (let t = 0; t < 40; t++) s += (X.get(t, 1) - Xh.get(t, 1)) * Xh.get(t, 4);
  assertAllClose([Hd.get(1, 4)], [(2 * s) / 40], { rtol: 1e-5, atol: 1e-7 });
  assert.ok((await qepCrossHessian(X, X)).data.every((v) => v === 0));
});

Deno.test("qepCorrect: α = 1 solves min ‖W·Xᵀ − W*·X̂ᵀ‖² (normal equations); α scales the step", async () => {
  const N = 400, n = 12;
  const X = randomInputs(N, n, 3);
  const Xh = perturbed(X, 4, 0.2);
  const W = randomWeights(5, n, 5);
  const stats = { Hhat: hessianOf(Xh), Hdelta: await qepCrossHessian(X, Xh) };
  const Wstar = await qepCorrect(W, stats, { alpha: 1, dampRatio: 0 });
  // X̂ᵀ(X̂·W*ᵀ − X·Wᵀ) = 0, checked row by row of W.
  for (let r = 0; r < 5; r++) {
    const resid = new Float64Array(N);
    let scale = 0;
    for (let t = 0; t < N; t++) {
      let a = 0, b = 0;
      for (let j = 0; j < n; j++) {
        a += Xh.get(t, j) * Wstar.get(r, j);
        b += X.get(t, j) * W.get(r, j);
      }
      resid[t] = a - b;
      scale += b * b;
    }
    for (let j = 0; j < n; j++) {
      let g = 0;
      for (let t = 0; t < N; t++) g += Xh.get(t, j) * resid[t]!;
      assert.ok(Math.abs(g) <= NORMAL_EQ_RTOL * scale, `row ${r} col ${j}: ${g}`);
    }
  }
  const half = await qepCorrect(W, stats, { alpha: 0.5, dampRatio: 0 });
  assertAllClose(half, W.data.map((w, i) => w + 0.5 * (Wstar.data[i]! - w)), { atol: 1e-6, rtol: 1e-5 });
  await assertThrowsMessage(() => qepCorrect(W, stats, { alpha: 2 }), RangeError, "alpha 2");
});

Deno.test("lorc: rank-r residual equals the tail singular values (Eckart–Young)", async () => {
  const W = randomWeights(24, 16, 6);
  const { weight } = await quantizeRtn(W, { format: "int", bits: 3, groupSize: 0, symmetric: false }, { ops: tsOps });
  const E = new Tensor("f64", [24, 16], Float64Array.from(W.data, (w, i) => w - weight.data[i]!));
  const S = svd(E).S;
  for (const rank of [0, 1, 4, 16]) {
    const r = await lorc(W, weight, { rank });
    let tail = 0;
    for (let i = rank; i < S.length; i++) tail += S[i]! ** 2;
    assertAllClose([r.errorAfter], [tail], { rtol: ECKART_YOUNG_RTOL, atol: 1e-12 });
    assertAllClose([r.errorBefore], [S.reduce((a, s) => a + s * s, 0)], { rtol: 1e-9 });
    assert.equal(r.extraBitsPerWeight, (rank * 40 * 16) / (24 * 16));
  }
  const int8 = await lorc(W, weight, { rank: 4, factorBits: 8 });
  assert.ok(int8.errorAfter < int8.errorBefore);
  await assertThrowsMessage(() => lorc(W, weight, { rank: 17 }), RangeError, "rank 17");
});

blasTest("lorc on blas (dgesdd) matches the Jacobi SVD", async (blas) => {
  const W = randomWeights(32, 24, 7);
  const { weight } = await quantizeRtn(W, { format: "int", bits: 2, groupSize: 0, symmetric: false }, { ops: tsOps });
  const a = await lorc(W, weight, { rank: 5 });
  const b = await lorc(W, weight, { rank: 5, ops: blas });
  assertAllClose(b.singularValues, a.singularValues, { rtol: 1e-9 });
  assertAllClose(b.weight, a.weight, { atol: 1e-5, rtol: 1e-5 });
});
