// SPDX-License-Identifier: MIT
/** Hadamard matrices n = m·2^k, randomized Hadamard rotations through the FWHT op, random orthogonal. */
import assert from "node:assert/strict";
import {
  hadamard,
  hadamardRotation,
  hadamardSizeFactors,
  randomHadamard,
  sylvester,
} from "../../lib/rotate/hadamard.ts";
import { HADAMARD_FACTOR_ORDERS } from "../../lib/rotate/hadamard_factors.ts";
import {
  MatrixRotation,
  orthogonalityError,
  orthogonalRotation,
  randomOrthogonal,
} from "../../lib/rotate/orthogonal.ts";
import { fwht, matmul } from "../../lib/ops/ts/mod.ts";
import { transpose } from "../../lib/tensor/manip.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { cpuBackends } from "../_backends.ts";

/** Orthogonality of f32 rotation matrices (the bound). */
const ORTHO_TOL = 1e-6;
/** Dense products vs FWHT/matmul application, f32. */
const APPLY_ATOL = 2e-6;

function randn(shape: number[], seed: number): Tensor<"f32"> {
  const rng = new Rng(seed);
  return new Tensor("f32", shape, Float32Array.from({ length: shape[0]! * shape[1]! }, () => rng.normal()));
}

/** max |H·Hᵀ − n·I| for a ±1 matrix (exact integer arithmetic in f64). */
function hadamardDefect(H: Tensor<"f32">): number {
  const n = H.shape[0]!, h = H.data;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let dot = 0;
      for (let k = 0; k < n; k++) dot += h[i * n + k]! * h[j * n + k]!;
      worst = Math.max(worst, Math.abs(dot - (i === j ? n : 0)));
    }
  }
  return worst;
}

/** Supported sizes checked densely: 2^k ≤ 512 and m·2^k for every stored m, k = 0..2. */
const SIZES = [
  1,
  2,
  4,
  8,
  16,
  32,
  64,
  128,
  256,
  512,
  ...HADAMARD_FACTOR_ORDERS.flatMap((m) => [m, 2 * m, 4 * m]),
];

Deno.test("hadamard(n): H·Hᵀ = n·I for every checked supported n", () => {
  for (const n of SIZES) assert.equal(hadamardDefect(hadamard(n)), 0, `n = ${n}`);
});

Deno.test("hadamard(n) is the matrix the FWHT op multiplies by (x·Hᵀ)", () => {
  for (const n of [8, 24, 80, 344]) {
    const { m } = hadamardSizeFactors(n);
    const H = hadamard(n), I = new Tensor("f32", [n, n]);
    for (let i = 0; i < n; i++) I.data[i * n + i] = 1;
    const opts = m > 1 ? { scale: 1, hadamardM: new Tensor("f32", [m, m], hadamard(m).data) } : { scale: 1 };
    assertAllClose(fwht(I, opts), transpose(H), { atol: 0, rtol: 0, msg: `n = ${n}: ` });
  }
});

Deno.test("hadamardSizeFactors picks the smallest stored m and rejects other sizes", async () => {
  assert.deepEqual(hadamardSizeFactors(11008), { m: 172, P: 64 });
  assert.deepEqual(hadamardSizeFactors(14336), { m: 28, P: 512 });
  assert.deepEqual(hadamardSizeFactors(40 * 8), { m: 20, P: 16 });
  assert.deepEqual(sylvester(2).data, new Float32Array([1, 1, 1, -1]));
  await assertThrowsMessage(() => hadamardSizeFactors(100), RangeError, "size 100", "172");
  await assertThrowsMessage(() => hadamard(0), RangeError, "size 0");
});

Deno.test("randomized Hadamard matrices are orthogonal to 1e-6", () => {
  for (const n of [16, 12, 96, 172, 256, 688, 768]) {
    const R = randomHadamard(n, { seed: n });
    assert.ok(orthogonalityError(R) < ORTHO_TOL, `n = ${n}: ${orthogonalityError(R)}`);
  }
  // seeded: equal seeds give equal matrices, different seeds differ
  assert.deepEqual(randomHadamard(24, { seed: 3 }).data, randomHadamard(24, { seed: 3 }).data);
  assert.notDeepEqual(randomHadamard(24, { seed: 3 }).data, randomHadamard(24, { seed: 4 }).data);
});

Deno.test("random orthogonal matrices are orthogonal to 1e-6 and seeded", async () => {
  for (const n of [1, 7, 64, 200]) {
    const Q = randomOrthogonal(n, { seed: n });
    assert.ok(orthogonalityError(Q) < ORTHO_TOL, `n = ${n}: ${orthogonalityError(Q)}`);
  }
  assert.deepEqual(randomOrthogonal(9, { seed: 1 }).data, randomOrthogonal(9, { seed: 1 }).data);
  assert.notDeepEqual(randomOrthogonal(9, { seed: 1 }).data, randomOrthogonal(9, { seed: 2 }).data);
  await assertThrowsMessage(() => randomOrthogonal(0, { seed: 1 }), RangeError, "size 0");
  await assertThrowsMessage(() => new MatrixRotation(new Tensor("f32", [2, 3])), TypeError, "[2, 3]");
});

for (const ops of cpuBackends()) {
  Deno.test(`rotations apply X·R and X·Rᵀ like the dense matrix on ${ops.name}`, async () => {
    const rotations = [
      hadamardRotation(64),
      hadamardRotation(64, { seed: 5 }),
      hadamardRotation(96, { seed: 6 }), // 12·8, non-symmetric Paley factor
      hadamardRotation(344, { seed: 7 }), // 172·2, Goethals–Seidel factor
      orthogonalRotation(48, { seed: 8 }),
    ];
    for (const R of rotations) {
      const X = randn([5, R.n], R.n), M = R.matrix();
      assertAllClose(await R.apply(X, ops), matmul(X, M), { atol: APPLY_ATOL, rtol: 0, msg: `${R.description} X·R: ` });
      assertAllClose(await R.applyTranspose(X, ops), matmul(X, M, { transB: true }), {
        atol: APPLY_ATOL,
        rtol: 0,
        msg: `${R.description} X·Rᵀ: `,
      });
    }
    await assertThrowsMessage(() => hadamardRotation(8).apply(randn([2, 4], 1), ops), TypeError, "[2, 4]", "[rows, 8]");
  });
}
