// SPDX-License-Identifier: MIT
/** accumulateHessian: ts against an f64 reference, blas (dsyrk) against ts. */
import assert from "node:assert/strict";
import { accumulateHessian } from "../../lib/ops/ts/hessian.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { blasTest } from "../_backends.ts";
import { randF32, refMatmul, refTranspose, spd } from "./_data.ts";

/** Both sides sum exact f32×f32 products in f64; only the summation order differs. */
const ATOL = 1e-11;
const RTOL = 1e-12;

const SHAPES: [number, number][] = [[1, 1], [1, 9], [9, 1], [7, 5], [70, 33], [130, 300]];

function reference(H0: Tensor<"f64">, X: Tensor<"f32">, alpha: number): Float64Array {
  const [t, n] = X.shape as [number, number];
  const XtX = refMatmul(refTranspose(X.data, t, n), X.data, n, t, n);
  return H0.data.map((h, i) => h + alpha * (XtX[i] as number));
}

Deno.test("accumulateHessian() adds alpha·XᵀX to a symmetric H, for edge shapes", () => {
  for (const [tokens, n] of SHAPES) {
    const X = randF32([tokens, n], tokens * 31 + n);
    const H = spd(n, n);
    const expected = reference(H, X, 0.25);
    accumulateHessian(H, X, 0.25);
    assertAllClose(H, expected, { atol: ATOL, rtol: RTOL, msg: `[${tokens}, ${n}]: ` });
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) assert.equal(H.data[i * n + j], H.data[j * n + i]);
  }
});

Deno.test("accumulateHessian() defaults alpha to 1 and accepts zero tokens", () => {
  const X = randF32([3, 4], 1);
  const H = new Tensor("f64", [4, 4]);
  accumulateHessian(H, X);
  assertAllClose(H, reference(new Tensor("f64", [4, 4]), X, 1), { atol: ATOL, rtol: RTOL });
  const before = Float64Array.from(H.data);
  accumulateHessian(H, new Tensor("f32", [0, 4]));
  assert.deepEqual(H.data, before);
});

Deno.test("accumulateHessian() rejects mismatched shapes, dtypes and non-finite X without touching H", async () => {
  const H = new Tensor("f64", [4, 4]);
  await assertThrowsMessage(
    () => accumulateHessian(H, randF32([3, 5], 1)),
    TypeError,
    "X of shape [3, 5]",
    "H of shape [4, 4]",
  );
  await assertThrowsMessage(
    () => accumulateHessian(new Tensor("f64", [4, 3]), randF32([3, 4], 1)),
    TypeError,
    "square",
  );
  await assertThrowsMessage(
    () => accumulateHessian(new Tensor("f32", [4, 4]) as unknown as Tensor<"f64">, randF32([3, 4], 1)),
    TypeError,
    'dtype "f32"',
  );
  const X = randF32([3, 4], 2);
  X.data[9] = Infinity;
  await assertThrowsMessage(() => accumulateHessian(H, X), RangeError, "element [2, 1] is Infinity");
  assert.ok(H.data.every((v) => v === 0));
  await assertThrowsMessage(() => accumulateHessian(H, randF32([3, 4], 1), NaN), RangeError, "alpha NaN");
});

blasTest("accumulateHessian() (dsyrk) matches ts", async (blas) => {
  for (const [tokens, n] of [...SHAPES, [0, 3] as [number, number], [3000, 40] as [number, number]]) {
    const X = randF32([tokens, n], tokens + 7 * n);
    const Hts = spd(n, n + 1);
    const Hblas = new Tensor("f64", [n, n], Float64Array.from(Hts.data));
    accumulateHessian(Hts, X, 2 / Math.max(1, tokens));
    await blas.accumulateHessian(Hblas, X, 2 / Math.max(1, tokens));
    assertAllClose(Hblas, Hts, { atol: ATOL, rtol: RTOL, msg: `[${tokens}, ${n}]: ` });
  }
  const H = new Tensor("f64", [4, 4]);
  const X = randF32([3, 4], 2);
  X.data[0] = NaN;
  await assertThrowsMessage(() => blas.accumulateHessian(H, X), RangeError, "element [0, 0] is NaN");
  assert.ok(H.data.every((v) => v === 0));
  await assertThrowsMessage(() => blas.accumulateHessian(H, randF32([3, 5], 1)), TypeError, "X of shape [3, 5]");
});
