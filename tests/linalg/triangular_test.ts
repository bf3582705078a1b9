// SPDX-License-Identifier: MIT
/** Triangular inverse and solve (lib/linalg/triangular.ts). */
import assert from "node:assert/strict";
import { SingularMatrixError } from "../../lib/linalg/errors.ts";
import { triangularInverse, triangularSolve } from "../../lib/linalg/triangular.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { identity, randF64, refMatmul, refTranspose, triangular } from "../ops/_data.ts";

/** T⁻¹·T = I and residuals for diagonals in ±[1, 2], n ≤ 100. */
const ATOL = 1e-11;

Deno.test("triangularInverse() satisfies T⁻¹·T = I and keeps the triangle, lower and upper", () => {
  for (const lower of [true, false]) {
    for (const n of [1, 2, 7, 64, 100]) {
      const T = triangular(n, n, lower);
      const X = triangularInverse(T, { lower });
      assertAllClose(refMatmul(X.data, T.data, n, n, n), identity(n), {
        atol: ATOL,
        rtol: 0,
        msg: `lower=${lower} n=${n}: `,
      });
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) if (lower ? j > i : j < i) assert.equal(X.data[i * n + j], 0);
      }
    }
  }
});

Deno.test("triangularInverse() ignores the other triangle", () => {
  const T = triangular(5, 3, true);
  const dirty = new Tensor("f64", [5, 5], Float64Array.from(T.data));
  for (let i = 0; i < 5; i++) for (let j = i + 1; j < 5; j++) dirty.data[i * 5 + j] = 7;
  assert.deepEqual(triangularInverse(dirty, { lower: true }).data, triangularInverse(T, { lower: true }).data);
});

Deno.test("triangularSolve() solves op(T)·X = B for all four cases with a small residual", () => {
  for (const lower of [true, false]) {
    for (const transpose of [false, true]) {
      for (const [n, m] of [[1, 1], [9, 1], [40, 3], [65, 17]] as const) {
        const T = triangular(n, n + m, lower);
        const B = randF64([n, m], n * m);
        const X = triangularSolve(T, B, { lower, transpose });
        assert.deepEqual(X.shape, [n, m]);
        const opT = transpose ? refTranspose(T.data, n, n) : T.data;
        assertAllClose(refMatmul(opT, X.data, n, n, m), B, {
          atol: ATOL,
          rtol: 0,
          msg: `lower=${lower} transpose=${transpose} [${n}, ${m}]: `,
        });
      }
    }
  }
});

Deno.test("triangularSolve() accepts zero right-hand sides", () => {
  assert.deepEqual(triangularSolve(triangular(3, 1, true), new Tensor("f64", [3, 0]), { lower: true }).shape, [3, 0]);
});

Deno.test("triangular functions reject singular, mismatched and non-finite input", async () => {
  const T = triangular(4, 1, true);
  T.data[2 * 4 + 2] = 0;
  const e = await assertThrowsMessage(
    () => triangularInverse(T, { lower: true }),
    SingularMatrixError,
    "diagonal element 2",
  );
  assert.equal((e as SingularMatrixError).index, 2);
  await assertThrowsMessage(
    () => triangularSolve(triangular(4, 1, true), new Tensor("f64", [3, 2]), { lower: true }),
    TypeError,
    "B of shape [3, 2]",
    "4 rows",
  );
  const B = new Tensor("f64", [4, 1], new Float64Array([1, Infinity, 0, 0]));
  await assertThrowsMessage(() => triangularSolve(triangular(4, 1, true), B, { lower: true }), RangeError, "Infinity");
  await assertThrowsMessage(() => triangularInverse(new Tensor("f64", [3, 4]), { lower: true }), TypeError, "square");
});
