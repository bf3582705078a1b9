// SPDX-License-Identifier: MIT
/** QR, symmetric eigendecomposition and SVD (lib/linalg/qr.ts, eigh.ts, svd.ts). */
import assert from "node:assert/strict";
import { eigh } from "../../lib/linalg/eigh.ts";
import { qr } from "../../lib/linalg/qr.ts";
import { svd } from "../../lib/linalg/svd.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { identity, randF64, refMatmul, refTranspose, spd } from "../ops/_data.ts";

/** Reconstruction and orthogonality of f64 factorizations of O(1) matrices, n ≤ 80. */
const ATOL = 1e-11;

Deno.test("qr() gives orthonormal Q, upper-triangular R and Q·R = A for tall, square and wide A", () => {
  for (const [m, n] of [[1, 1], [6, 6], [40, 13], [13, 40], [65, 64]] as const) {
    const A = randF64([m, n], m * 100 + n);
    const { Q, R } = qr(A);
    const k = Math.min(m, n);
    assert.deepEqual(Q.shape, [m, k]);
    assert.deepEqual(R.shape, [k, n]);
    assertAllClose(refMatmul(Q.data, R.data, m, k, n), A, { atol: ATOL, rtol: 0, msg: `[${m}, ${n}] QR: ` });
    assertAllClose(refMatmul(refTranspose(Q.data, m, k), Q.data, k, m, k), identity(k), { atol: ATOL, rtol: 0 });
    for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) assert.equal(R.data[i * n + j], 0);
  }
});

Deno.test("qr() handles a zero column", () => {
  const A = new Tensor("f64", [3, 2], new Float64Array([0, 1, 0, 2, 0, 3]));
  const { Q, R } = qr(A);
  assertAllClose(refMatmul(Q.data, R.data, 3, 2, 2), A, { atol: ATOL, rtol: 0 });
});

Deno.test("eigh() gives ascending eigenvalues and orthonormal eigenvectors with A·V = V·Λ", () => {
  for (const n of [1, 2, 5, 33, 80]) {
    const A = spd(n, n);
    const { values, vectors: V } = eigh(A);
    for (let i = 1; i < n; i++) assert.ok(values[i - 1]! <= values[i]!, "ascending");
    const VL = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) VL[i * n + j] = V.data[i * n + j]! * values[j]!;
    assertAllClose(refMatmul(A.data, V.data, n, n, n), VL, { atol: ATOL, rtol: 0, msg: `n=${n} AV=VΛ: ` });
    assertAllClose(refMatmul(refTranspose(V.data, n, n), V.data, n, n, n), identity(n), { atol: ATOL, rtol: 0 });
  }
});

Deno.test("eigh() finds known eigenvalues, including negative and repeated ones", () => {
  const A = new Tensor("f64", [3, 3], new Float64Array([2, 0, 0, 0, -1, 0, 0, 0, 2]));
  assertAllClose(eigh(A).values, [-1, 2, 2], { atol: 1e-15, rtol: 0 });
  const B = new Tensor("f64", [2, 2], new Float64Array([0, 1, 1, 0]));
  assertAllClose(eigh(B).values, [-1, 1], { atol: 1e-15, rtol: 0 });
});

Deno.test("svd() reconstructs A with orthonormal factors and descending singular values", () => {
  for (const [m, n] of [[1, 1], [7, 3], [3, 7], [50, 20], [20, 50]] as const) {
    const A = randF64([m, n], m + 31 * n);
    const { U, S, V } = svd(A);
    const k = Math.min(m, n);
    assert.deepEqual(U.shape, [m, k]);
    assert.deepEqual(V.shape, [n, k]);
    for (let i = 1; i < k; i++) assert.ok(S[i - 1]! >= S[i]!, "descending");
    const US = new Float64Array(m * k);
    for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) US[i * k + j] = U.data[i * k + j]! * S[j]!;
    assertAllClose(refMatmul(US, refTranspose(V.data, n, k), m, k, n), A, {
      atol: ATOL,
      rtol: 0,
      msg: `[${m}, ${n}]: `,
    });
    assertAllClose(refMatmul(refTranspose(U.data, m, k), U.data, k, m, k), identity(k), { atol: ATOL, rtol: 0 });
    assertAllClose(refMatmul(refTranspose(V.data, n, k), V.data, k, n, k), identity(k), { atol: ATOL, rtol: 0 });
  }
});

Deno.test("svd() singular values match the square roots of the eigenvalues of AᵀA; rank truncates", () => {
  const A = randF64([30, 12], 5);
  const { S } = svd(A);
  const AtA = new Tensor("f64", [12, 12], refMatmul(refTranspose(A.data, 30, 12), A.data, 12, 30, 12));
  const ev = Array.from(eigh(AtA).values).reverse().map(Math.sqrt);
  assertAllClose(S, ev, { atol: 1e-10, rtol: 0 });
  const t = svd(A, { rank: 3 });
  assert.deepEqual(t.U.shape, [30, 3]);
  assert.deepEqual(Array.from(t.S), Array.from(S.slice(0, 3)));
});

Deno.test("decompositions reject bad input", async () => {
  await assertThrowsMessage(() => eigh(new Tensor("f64", [2, 3])), TypeError, "square");
  await assertThrowsMessage(() => svd(randF64([3, 2], 1), { rank: 3 }), RangeError, "rank 3");
  await assertThrowsMessage(() => qr(new Tensor("f64", [2], new Float64Array(2)) as Tensor<"f64">), TypeError, "2-D");
  const A = randF64([2, 2], 1);
  A.data[3] = NaN;
  await assertThrowsMessage(() => svd(A), RangeError, "NaN");
});
