// SPDX-License-Identifier: MIT
/** matmul: the ts backend against an f64 reference, and blas against ts. */
import assert from "node:assert/strict";
import { matmul } from "../../lib/ops/ts/matmul.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { blasTest } from "../_backends.ts";
import { randF32, refMatmul, refTranspose } from "./_data.ts";

/** ts accumulates in f64 and rounds once: within one f32 ulp of the f64 reference. */
const TS_RTOL = 1.2e-7;
const TS_ATOL = 1e-12;
/** sgemm accumulates in f32: K ≤ 600 products of N(0, 1) values. */
const BLAS_ATOL = 1e-4;
const BLAS_RTOL = 1e-5;

/** Shapes [M, K, N]: edge cases, sizes off the 2-row / 4-k / block multiples, and > one block. */
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 37, 5],
  [6, 9, 1],
  [3, 5, 7],
  [33, 130, 17],
  [70, 257, 530],
  [5, 0, 4],
  [0, 3, 2],
];

function reference(
  A: Tensor,
  B: Tensor,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): Float64Array {
  const a = transA ? refTranspose(A.data, k, m) : A.data;
  const b = transB ? refTranspose(B.data, n, k) : B.data;
  return refMatmul(a, b, m, k, n);
}

Deno.test("matmul() matches an f64 reference for edge shapes and all transpose flags", () => {
  for (const [m, k, n] of SHAPES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const A = randF32(transA ? [k, m] : [m, k], m * 7 + k);
        const B = randF32(transB ? [n, k] : [k, n], n * 11 + k);
        const C = matmul(A, B, { transA, transB });
        assert.deepEqual(C.shape, [m, n]);
        assertAllClose(C, reference(A, B, m, k, n, transA, transB), {
          atol: TS_ATOL,
          rtol: TS_RTOL,
          msg: `[${m}, ${k}, ${n}] transA=${transA} transB=${transB}: `,
        });
      }
    }
  }
});

Deno.test("matmul() multiplies 3-D batches and broadcasts a 2-D operand over the batch", () => {
  const A3 = randF32([3, 5, 9], 1);
  const B3 = randF32([3, 9, 4], 2);
  const A2 = randF32([5, 9], 3);
  const B2 = randF32([9, 4], 4);
  for (const [A, B] of [[A3, B3], [A3, B2], [A2, B3]] as const) {
    const C = matmul(A, B);
    assert.deepEqual(C.shape, [3, 5, 4]);
    for (let p = 0; p < 3; p++) {
      const a = A.rank === 3 ? A.data.subarray(p * 45, (p + 1) * 45) : A.data;
      const b = B.rank === 3 ? B.data.subarray(p * 36, (p + 1) * 36) : B.data;
      assertAllClose(C.data.subarray(p * 20, (p + 1) * 20), refMatmul(a, b, 5, 9, 4), { atol: TS_ATOL, rtol: TS_RTOL });
    }
  }
  const Bt = randF32([3, 4, 9], 5);
  const Ct = matmul(A3, Bt, { transB: true });
  assertAllClose(
    Ct.data.subarray(20, 40),
    refMatmul(A3.data.subarray(45, 90), refTranspose(Bt.data.subarray(36, 72), 4, 9), 5, 9, 4),
    {
      atol: TS_ATOL,
      rtol: TS_RTOL,
    },
  );
  assert.deepEqual(matmul(randF32([0, 2, 3], 1), randF32([0, 3, 4], 2)).shape, [0, 2, 4]);
});

Deno.test("matmul() rejects mismatched shapes, ranks and dtypes with clear messages", async () => {
  await assertThrowsMessage(
    () => matmul(randF32([4, 8], 1), randF32([7, 2], 2)),
    TypeError,
    "matmul: Cannot multiply A of shape [4, 8] by B of shape [7, 2]: inner dimensions differ (8 != 7)",
  );
  await assertThrowsMessage(
    () => matmul(randF32([2, 3, 4], 1), randF32([3, 4, 5], 2)),
    TypeError,
    "batch sizes differ (2 != 3)",
  );
  await assertThrowsMessage(() => matmul(randF32([4], 1), randF32([4, 1], 2)), TypeError, "2-D or 3-D");
  await assertThrowsMessage(
    () => matmul(new Tensor("f64", [2, 2]) as unknown as Tensor<"f32">, randF32([2, 2], 1)),
    TypeError,
    'dtype "f64"',
  );
  await assertThrowsMessage(() => tsOps.matmul(randF32([4, 8], 1), randF32([7, 2], 2)), TypeError, "(8 != 7)");
});

blasTest("matmul() matches ts for edge shapes, transposes and batches", async (blas) => {
  assert.equal(blas.name, "blas");
  for (const [m, k, n] of [...SHAPES, [130, 600, 67] as [number, number, number]]) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const A = randF32(transA ? [k, m] : [m, k], m + k);
        const B = randF32(transB ? [n, k] : [k, n], n + 3 * k);
        const o = { transA, transB };
        assertAllClose(await blas.matmul(A, B, o), matmul(A, B, o), {
          atol: BLAS_ATOL,
          rtol: BLAS_RTOL,
          msg: `[${m}, ${k}, ${n}] ${JSON.stringify(o)}: `,
        });
      }
    }
  }
  const A3 = randF32([3, 17, 9], 1);
  const B2 = randF32([4, 9], 2);
  assertAllClose(await blas.matmul(A3, B2, { transB: true }), matmul(A3, B2, { transB: true }), {
    atol: BLAS_ATOL,
    rtol: BLAS_RTOL,
  });
  const A2 = randF32([9, 17], 3);
  const B3 = randF32([3, 9, 5], 4);
  assertAllClose(await blas.matmul(A2, B3, { transA: true }), matmul(A2, B3, { transA: true }), {
    atol: BLAS_ATOL,
    rtol: BLAS_RTOL,
  });
  await assertThrowsMessage(() => blas.matmul(randF32([4, 8], 1), randF32([7, 2], 2)), TypeError, "(8 != 7)");
});
