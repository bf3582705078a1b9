// SPDX-License-Identifier: MIT
/**
 * Where f64 matters in Hessian accumulation. H is kept in f64 across calls, and the default
 * per-call precision is f64; "f32" (ssyrk on blas, numpy's and PyTorch's arithmetic on f32 X)
 * is as good when the inputs are centred, but loses the structure of inputs that share a large
 * offset — LLM activations with massive channels look like that.
 */
import assert from "node:assert/strict";
import { accumulateHessian } from "../../lib/ops/ts/hessian.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose } from "../_assert.ts";
import { blasTest } from "../_backends.ts";
import { randF32 } from "./_data.ts";

/** Exact f64 XᵀX (products of f32 values are exact in f64). */
function exact(X: Tensor<"f32">): Float64Array {
  const [t, n] = X.shape as [number, number];
  const H = new Float64Array(n * n);
  for (let r = 0; r < t; r++) {
    for (let i = 0; i < n; i++) {
      const a = X.data[r * n + i]!;
      for (let j = 0; j < n; j++) H[i * n + j]! += a * X.data[r * n + j]!;
    }
  }
  return H;
}

/** Covariance part of H: H − (Σx)(Σx)ᵀ/t, the part GPTQ's feedback depends on. */
function centred(H: ArrayLike<number>, X: Tensor<"f32">): Float64Array {
  const [t, n] = X.shape as [number, number];
  const s = new Float64Array(n);
  for (let r = 0; r < t; r++) for (let i = 0; i < n; i++) s[i]! += X.data[r * n + i]!;
  return Float64Array.from({ length: n * n }, (_, k) => H[k]! - (s[Math.floor(k / n)]! * s[k % n]!) / t);
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

Deno.test("accumulateHessian: H stays f64 across calls (f32 storage would drop later batches)", () => {
  const n = 4;
  const H = new Tensor("f64", [n, n]);
  const Hf32 = new Float32Array(n * n);
  const big = new Tensor("f32", [1, n], new Float32Array([4096, 4096, 4096, 4096]));
  accumulateHessian(H, big); // 2^24 on every entry
  for (let i = 0; i < n * n; i++) Hf32[i] = H.data[i]!;
  const small = new Tensor("f32", [1, n], new Float32Array([1, 0.5, 0.25, 0.125]));
  for (let c = 0; c < 64; c++) {
    accumulateHessian(H, small);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) Hf32[i * n + j] = Math.fround(Hf32[i * n + j]! + small.data[i]! * small.data[j]!);
    }
  }
  assert.equal(H.data[0], 2 ** 24 + 64); // f64 keeps every batch
  assert.equal(Hf32[0], 2 ** 24); // f32 storage: each +1 rounds away
});

blasTest(
  "accumulateHessian precision f32 matches f64 on centred inputs, loses offset inputs' covariance",
  async (blas) => {
    const [t, n] = [2048, 48];
    const X = randF32([t, n], 21);
    const H32 = new Tensor("f64", [n, n]), H64 = new Tensor("f64", [n, n]);
    await blas.accumulateHessian(H32, X, 1, { precision: "f32" });
    await blas.accumulateHessian(H64, X, 1);
    const ref = exact(X);
    assertAllClose(H64.data, ref, { rtol: 1e-12, atol: 1e-9 });
    assert.ok(relErr(H32.data, ref) < 1e-6, "centred inputs: f32 sums are fine");

    // The same noise on top of a common offset of 300: XᵀX ≈ t·300² dominates and the f32 sums'
    // rounding (relative 6e-8 of 2·10^8) swamps the covariance (entries ~ t).
    const Y = new Tensor("f32", [t, n], X.data.map((v) => 300 + v));
    const Y32 = new Tensor("f64", [n, n]), Y64 = new Tensor("f64", [n, n]);
    await blas.accumulateHessian(Y32, Y, 1, { precision: "f32" });
    await blas.accumulateHessian(Y64, Y, 1);
    const cov = centred(exact(Y), Y);
    const e64 = relErr(centred(Y64.data, Y), cov), e32 = relErr(centred(Y32.data, Y), cov);
    assert.ok(e64 < 1e-6, `f64 keeps the covariance (relative error ${e64})`);
    assert.ok(e32 > 1e-3, `f32 sums lose it (relative error ${e32})`);
  },
);
