// SPDX-License-Identifier: MIT
/** The blas backend's LAPACK routines against lib/linalg (the ts reference). */
import assert from "node:assert/strict";
import { cholesky, choleskyInverse } from "../../lib/linalg/cholesky.ts";
import { eigh } from "../../lib/linalg/eigh.ts";
import { NotPositiveDefiniteError, SingularMatrixError } from "../../lib/linalg/errors.ts";
import { qr } from "../../lib/linalg/qr.ts";
import { svd } from "../../lib/linalg/svd.ts";
import { triangularInverse, triangularSolve } from "../../lib/linalg/triangular.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { blasTest } from "../_backends.ts";
import { identity, randF64, spd, triangular } from "./_data.ts";

/** LAPACK and the ts reference differ by f64 rounding only (well-conditioned inputs). */
const ATOL = 1e-10;
const RTOL = 1e-10;
/** Sizes around LAPACK/OpenBLAS block sizes and the ts 4-row block. */
const SIZES = [1, 2, 3, 5, 64, 65, 130];

blasTest("cholesky() (dpotrf) matches ts and zeroes the upper triangle", async (blas) => {
  for (const n of SIZES) {
    const A = spd(n, n);
    assertAllClose(await blas.cholesky(A), cholesky(A), { atol: ATOL, rtol: RTOL, msg: `n=${n}: ` });
  }
  assert.deepEqual((await blas.cholesky(new Tensor("f64", [0, 0]))).shape, [0, 0]);
});

blasTest("cholesky() (dpotrf) reports the same pivot and value as ts when A is not positive definite", async (blas) => {
  for (const [n, pivot] of [[20, 17], [130, 100], [3, 0]] as const) {
    const A = new Tensor("f64", [n, n], identity(n));
    A.data[pivot * n + pivot] = -3.2e-5;
    const e = await assertThrowsMessage(
      () => blas.cholesky(A),
      NotPositiveDefiniteError,
      `cholesky: Cannot factor A of shape [${n}, ${n}]: not positive definite at pivot ${pivot} (value -3.2e-5); hint: increase dampRatio`,
    ) as NotPositiveDefiniteError;
    assert.equal(e.pivot, pivot);
    assert.equal(e.value, -3.2e-5);
  }
  const S = spd(50, 3);
  S.data[40 * 50 + 40] = -1; // breaks at 40 after real work on the leading block
  const ts = await assertThrowsMessage(() => tsOps.cholesky(S), NotPositiveDefiniteError) as NotPositiveDefiniteError;
  const bl = await assertThrowsMessage(() => blas.cholesky(S), NotPositiveDefiniteError) as NotPositiveDefiniteError;
  assert.equal(bl.pivot, ts.pivot);
  assertAllClose([bl.value], [ts.value], { atol: 1e-12, rtol: 1e-12 });
});

blasTest("triangularInverse() (dtrtri) matches ts for lower and upper, ignoring the other triangle", async (blas) => {
  for (const lower of [true, false]) {
    for (const n of SIZES) {
      const T = triangular(n, n, lower);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (lower ? j > i : j < i) T.data[i * n + j] = 5;
      assertAllClose(await blas.triangularInverse(T, { lower }), triangularInverse(T, { lower }), {
        atol: ATOL,
        rtol: RTOL,
        msg: `lower=${lower} n=${n}: `,
      });
    }
  }
  const S = triangular(4, 1, true);
  S.data[5] = 0;
  await assertThrowsMessage(
    () => blas.triangularInverse(S, { lower: true }),
    SingularMatrixError,
    "diagonal element 1",
  );
});

blasTest("triangularSolve() (dtrsm) matches ts for all four cases and edge shapes", async (blas) => {
  for (const lower of [true, false]) {
    for (const transpose of [false, true]) {
      for (const [n, m] of [[1, 1], [1, 5], [9, 1], [65, 3], [130, 70], [4, 0]] as const) {
        const T = triangular(n, n * 3 + m, lower);
        const B = randF64([n, m], n + m);
        const o = { lower, transpose };
        assertAllClose(await blas.triangularSolve(T, B, o), triangularSolve(T, B, o), {
          atol: ATOL,
          rtol: RTOL,
          msg: `${JSON.stringify(o)} [${n}, ${m}]: `,
        });
      }
    }
  }
  await assertThrowsMessage(
    () => blas.triangularSolve(triangular(4, 1, true), new Tensor("f64", [3, 2]), { lower: true }),
    TypeError,
    "B must have 4 rows",
  );
});

blasTest("linear algebra rejects non-square and non-finite input like ts", async (blas) => {
  await assertThrowsMessage(
    () => blas.cholesky(new Tensor("f64", [2, 3])),
    TypeError,
    "cholesky: Cannot use 'A' of shape [2, 3]",
  );
  const A = spd(3, 1);
  A.data[1] = NaN;
  await assertThrowsMessage(() => blas.cholesky(A), RangeError, "element [0, 1] is NaN");
  await assertThrowsMessage(
    () => blas.triangularInverse(new Tensor("f32", [2, 2]) as unknown as Tensor<"f64">, { lower: true }),
    TypeError,
    'dtype "f32"',
  );
});

blasTest("choleskyInverse (dpotri), eigh (dsyevd), svd (dgesdd) and qr (dgeqrf) match lib/linalg", async (blas) => {
  for (const n of [1, 4, 33]) {
    const L = cholesky(spd(n, n));
    assertAllClose(await blas.choleskyInverse(L), choleskyInverse(L), { atol: 1e-9, rtol: 1e-9 });
    const S = spd(n, n + 1);
    const a = await blas.eigh(S);
    const b = eigh(S);
    assertAllClose(a.values, b.values, { atol: ATOL, rtol: RTOL });
    // eigenvectors are unique up to sign: compare |V| column by column after aligning signs
    for (let j = 0; j < n; j++) {
      const sign = Math.sign(a.vectors.data[j]!) * Math.sign(b.vectors.data[j]!) || 1;
      for (let i = 0; i < n; i++) {
        assert.ok(Math.abs(a.vectors.data[i * n + j]! - sign * b.vectors.data[i * n + j]!) < 1e-8);
      }
    }
  }
  for (const [m, n] of [[1, 1], [9, 4], [4, 9], [40, 40]] as const) {
    const A = randF64([m, n], m * n);
    const a = await blas.svd(A, { rank: Math.min(m, n, 3) });
    const b = svd(A, { rank: Math.min(m, n, 3) });
    assertAllClose(a.S, b.S, { atol: ATOL, rtol: RTOL });
    assert.deepEqual(a.U.shape, b.U.shape);
    assert.deepEqual(a.V.shape, b.V.shape);
    const k = b.S.length;
    for (let r = 0; r < k; r++) {
      const sign = Math.sign(a.V.data[r]!) * Math.sign(b.V.data[r]!) || 1;
      for (let i = 0; i < m; i++) assert.ok(Math.abs(a.U.data[i * k + r]! - sign * b.U.data[i * k + r]!) < 1e-8);
      for (let i = 0; i < n; i++) assert.ok(Math.abs(a.V.data[i * k + r]! - sign * b.V.data[i * k + r]!) < 1e-8);
    }
    const qa = await blas.qr(A);
    const qb = qr(A);
    assertAllClose(qa.Q, qb.Q, { atol: 1e-9, rtol: 0, msg: `Q [${m}, ${n}]: ` });
    assertAllClose(qa.R, qb.R, { atol: 1e-9, rtol: 0, msg: `R [${m}, ${n}]: ` });
  }
});
