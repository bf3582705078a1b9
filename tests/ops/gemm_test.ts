// SPDX-License-Identifier: MIT
/** gemm on strided windows, and matmul's `out`/`alpha`/`beta`: ts against an f64 reference, blas against ts. */
import assert from "node:assert/strict";
import { gemm } from "../../lib/ops/ts/gemm.ts";
import { matmul } from "../../lib/ops/ts/matmul.ts";
import type { MatrixView } from "../../lib/ops/ops.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { blasTest } from "../_backends.ts";
import { randF32, refMatmul, refTranspose } from "./_data.ts";

/** ts rounds one f64 value per output: within one f32 ulp (plus the f32 inputs' own rounding). */
const TS_RTOL = 2.5e-7;
/** sgemm sums in f32: K ≤ 100 products of N(0, 1) values. */
const BLAS_ATOL = 2e-5;

/** A window `[rows, cols]` at (r0, c0) of a fresh random `[R, C]` matrix. */
function windowOf(R: number, C: number, r0: number, c0: number, rows: number, cols: number, seed: number) {
  const full = randF32([R, C], seed).data;
  const v: MatrixView = { data: full, offset: r0 * C + c0, rows, cols, stride: C };
  const dense = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) dense[i * cols + j] = full[(r0 + i) * C + c0 + j]!;
  return { v, dense };
}

Deno.test("gemm() updates a strided window in place and leaves the rest of C untouched", () => {
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
    const [M, K, N] = [7, 13, 9];
    const A = transA ? windowOf(20, 30, 2, 3, K, M, 1) : windowOf(20, 30, 2, 3, M, K, 1);
    const B = transB ? windowOf(25, 40, 1, 5, N, K, 2) : windowOf(25, 40, 1, 5, K, N, 2);
    const C = windowOf(12, 20, 3, 4, M, N, 3);
    const before = C.v.data.slice();
    gemm(C.v, A.v, B.v, { transA, transB, alpha: -0.5, beta: 2 });
    const a = transA ? refTranspose(A.dense, K, M) : A.dense;
    const b = transB ? refTranspose(B.dense, N, K) : B.dense;
    const P = refMatmul(a, b, M, K, N);
    const want = P.map((p, i) => -0.5 * p + 2 * C.dense[i]!);
    const got = new Float64Array(M * N);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) got[i * N + j] = C.v.data[(3 + i) * 20 + 4 + j]!;
    assertAllClose(got, want, { rtol: TS_RTOL, atol: 1e-6 });
    for (let i = 0; i < 12; i++) {
      for (let j = 0; j < 20; j++) {
        const inside = i >= 3 && i < 3 + M && j >= 4 && j < 4 + N;
        if (!inside) assert.equal(C.v.data[i * 20 + j], before[i * 20 + j], `(${i}, ${j}) outside the window changed`);
      }
    }
  }
});

Deno.test("gemm() with beta = 0 ignores C's contents (NaN included), as BLAS", () => {
  const c = new Float32Array([NaN, NaN]);
  gemm({ data: c, offset: 0, rows: 1, cols: 2, stride: 2 }, {
    data: new Float32Array([2]),
    offset: 0,
    rows: 1,
    cols: 1,
    stride: 1,
  }, {
    data: new Float32Array([3, 4]),
    offset: 0,
    rows: 1,
    cols: 2,
    stride: 2,
  });
  assert.deepEqual(Array.from(c), [6, 8]);
});

Deno.test("gemm() rejects windows outside their array and mismatched dimensions", async () => {
  const d = new Float32Array(12);
  const v = (rows: number, cols: number, stride: number, offset = 0): MatrixView => ({
    data: d,
    offset,
    rows,
    cols,
    stride,
  });
  await assertThrowsMessage(() => gemm(v(3, 4, 4), v(3, 4, 4, 1), v(4, 4, 4)), TypeError, "gemm: Cannot use view 'A'");
  await assertThrowsMessage(() => gemm(v(2, 2, 1), v(2, 2, 2), v(2, 2, 2)), TypeError, "stride >= cols");
  await assertThrowsMessage(() => gemm(v(2, 3, 3), v(2, 2, 2), v(2, 2, 2)), TypeError, "expected [M, K]·[K, N]");
  await assertThrowsMessage(() => gemm(v(2, 2, 2), v(2, 2, 2), v(2, 2, 2), { beta: NaN }), RangeError, "finite");
});

Deno.test("matmul() writes into out, scales by alpha and accumulates with beta", async () => {
  const A = randF32([5, 6], 4), B = randF32([6, 3], 5);
  const P = refMatmul(A.data, B.data, 5, 6, 3);
  const out = randF32([5, 3], 6);
  const C0 = Float64Array.from(out.data);
  const r = matmul(A, B, { out, alpha: 2, beta: 1 });
  assert.equal(r, out);
  assertAllClose(out.data, P.map((p, i) => 2 * p + C0[i]!), { rtol: TS_RTOL, atol: 1e-6 });
  await assertThrowsMessage(() => matmul(A, B, { beta: 1 }), TypeError, "without 'out'");
  await assertThrowsMessage(
    () => matmul(A, B, { out: new Tensor("f32", [3, 5]) }),
    TypeError,
    "the product has shape [5, 3]",
  );
  const S = randF32([4, 4], 7);
  await assertThrowsMessage(() => matmul(S, S, { out: S }), TypeError, "overlaps 'A'");
});

blasTest("gemm() and matmul with out/alpha/beta match ts", (blas) => {
  const C1 = windowOf(40, 50, 5, 6, 17, 23, 7), C2 = windowOf(40, 50, 5, 6, 17, 23, 7);
  const A = windowOf(30, 100, 1, 2, 17, 90, 8), B = windowOf(95, 60, 3, 1, 90, 23, 9);
  gemm(C1.v, A.v, B.v, { alpha: -1, beta: 1 });
  blas.gemm(C2.v, A.v, B.v, { alpha: -1, beta: 1 });
  assertAllClose(C2.v.data, C1.v.data, { atol: BLAS_ATOL, rtol: 1e-5 });
  const X = randF32([2, 8, 9], 10), Y = randF32([9, 4], 11);
  const o1 = randF32([2, 8, 4], 12), o2 = new Tensor("f32", [2, 8, 4], o1.data.slice());
  matmul(X, Y, { out: o1, alpha: 0.5, beta: -1 });
  return blas.matmul(X, Y, { out: o2, alpha: 0.5, beta: -1 }).then((r) => {
    assert.equal(r, o2);
    assertAllClose(o2.data, o1.data, { atol: BLAS_ATOL, rtol: 1e-5 });
  });
});
