// SPDX-License-Identifier: MIT
/** Cholesky factorization and inverse (lib/linalg/cholesky.ts). */
import assert from "node:assert/strict";
import { cholesky, choleskyInverse } from "../../lib/linalg/cholesky.ts";
import { NotPositiveDefiniteError } from "../../lib/linalg/errors.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { identity, refMatmul, refTranspose, spd } from "../ops/_data.ts";

/** ‖L·Lᵀ − A‖∞ for well-conditioned A with entries O(1), n ≤ 150. */
const RECON_ATOL = 1e-12;
/** A·A⁻¹ = I for condition numbers ≲ 1e3. */
const INVERSE_ATOL = 1e-10;

Deno.test("cholesky() reproduces A = L·Lᵀ with L lower triangular, for sizes around the 4-row block", () => {
  for (const n of [1, 2, 3, 4, 5, 7, 8, 13, 64, 150]) {
    const A = spd(n, n);
    const L = cholesky(A);
    assert.deepEqual(L.shape, [n, n]);
    for (let i = 0; i < n; i++) {
      assert.ok(L.data[i * n + i]! > 0, `positive diagonal at ${i}`);
      for (let j = i + 1; j < n; j++) assert.equal(L.data[i * n + j], 0, `upper entry [${i}, ${j}] is zero`);
    }
    assertAllClose(refMatmul(L.data, refTranspose(L.data, n, n), n, n, n), A, {
      atol: RECON_ATOL,
      rtol: 0,
      msg: `n=${n}: `,
    });
  }
});

Deno.test("cholesky() reads only the lower triangle", () => {
  const A = spd(6, 1);
  const B = new Tensor("f64", [6, 6], Float64Array.from(A.data));
  for (let i = 0; i < 6; i++) for (let j = i + 1; j < 6; j++) B.data[i * 6 + j] = 99;
  assert.deepEqual(cholesky(B).data, cholesky(A).data);
});

Deno.test("cholesky() of a 0×0 matrix is 0×0", () => {
  assert.deepEqual(cholesky(new Tensor("f64", [0, 0])).shape, [0, 0]);
});

Deno.test("cholesky() throws NotPositiveDefiniteError with the pivot, value and hint", async () => {
  // diag(1, …, 1, −3.2e-5 at 17, 1, …): the factorization breaks exactly at pivot 17.
  const n = 20;
  const A = new Tensor("f64", [n, n], identity(n));
  A.data[17 * n + 17] = -3.2e-5;
  const e = await assertThrowsMessage(
    () => cholesky(A),
    NotPositiveDefiniteError,
    "cholesky: Cannot factor A of shape [20, 20]: not positive definite at pivot 17 (value -3.2e-5); hint: increase dampRatio",
  ) as NotPositiveDefiniteError;
  assert.ok(e instanceof RangeError);
  assert.equal(e.pivot, 17);
  assert.equal(e.value, -3.2e-5);
  assert.equal(e.hint, "increase dampRatio");
  const custom = await assertThrowsMessage(
    () => cholesky(A, { hint: "add 1e-2" }),
    NotPositiveDefiniteError,
    "hint: add 1e-2",
  );
  assert.equal((custom as NotPositiveDefiniteError).hint, "add 1e-2");
});

Deno.test("cholesky() detects a semidefinite (rank-deficient) matrix at the right pivot", () => {
  // [[1, 1, 0], [1, 1, 0], [0, 0, 1]]: the second pivot is exactly 0.
  const A = new Tensor("f64", [3, 3], new Float64Array([1, 1, 0, 1, 1, 0, 0, 0, 1]));
  assert.throws(
    () => cholesky(A),
    (e: unknown) => e instanceof NotPositiveDefiniteError && e.pivot === 1 && e.value === 0,
  );
});

Deno.test("cholesky() rejects non-square, wrong dtype and non-finite input", async () => {
  await assertThrowsMessage(() => cholesky(new Tensor("f64", [2, 3])), TypeError, "[2, 3]", "square");
  await assertThrowsMessage(
    () => cholesky(new Tensor("f32", [2, 2]) as unknown as Tensor<"f64">),
    TypeError,
    'dtype "f32"',
  );
  const A = spd(3, 2);
  A.data[4] = NaN;
  await assertThrowsMessage(() => cholesky(A), RangeError, "element [1, 1] is NaN");
});

Deno.test("choleskyInverse() gives A⁻¹ with A·A⁻¹ = I and a symmetric result", () => {
  for (const n of [1, 5, 33]) {
    const A = spd(n, 10 + n);
    const Ainv = choleskyInverse(cholesky(A));
    assertAllClose(refMatmul(A.data, Ainv.data, n, n, n), identity(n), { atol: INVERSE_ATOL, rtol: 0 });
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) assert.equal(Ainv.data[i * n + j], Ainv.data[j * n + i]);
  }
});
