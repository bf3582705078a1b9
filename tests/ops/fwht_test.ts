// SPDX-License-Identifier: MIT
/** fwht (lib/ops/ts/fwht.ts) against dense Hadamard products; blas shares the code. */
import assert from "node:assert/strict";
import { fwht } from "../../lib/ops/ts/fwht.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { blasTest } from "../_backends.ts";
import { identity, randF32, refMatmul, refTranspose } from "./_data.ts";

/** f32 butterflies vs an f64 dense product, outputs O(1), n ≤ 1536 (log2 n ≤ 11 stages). */
const ATOL = 3e-6;
const RTOL = 1e-5;

/** Sylvester H_P[b, b'] = (−1)^popcount(b & b'). */
function sylvester(P: number): Float64Array {
  const H = new Float64Array(P * P);
  for (let b = 0; b < P; b++) {
    for (let c = 0; c < P; c++) {
      let v = b & c;
      let parity = 0;
      while (v) {
        parity ^= v & 1;
        v >>>= 1;
      }
      H[b * P + c] = parity ? -1 : 1;
    }
  }
  return H;
}

/**
 * Paley construction I of a Hadamard matrix of order q + 1 for a prime q ≡ 3 (mod 4):
 * H = I + S with S = [[0, 1ᵀ], [−1, Q]] and Q[i, j] = χ(j − i), χ the quadratic character mod q.
 * For q = 11 this gives H₁₂, which is not symmetric (it exercises the H_m orientation).
 */
function paley(q: number): Float32Array {
  const squares = new Set<number>();
  for (let x = 1; x < q; x++) squares.add((x * x) % q);
  const chi = (a: number) => (a % q === 0 ? 0 : squares.has(((a % q) + q) % q) ? 1 : -1);
  const m = q + 1;
  const H = new Float32Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      let s: number;
      if (i === 0) s = j === 0 ? 0 : 1;
      else if (j === 0) s = -1;
      else s = chi(j - i);
      H[i * m + j] = s + (i === j ? 1 : 0);
    }
  }
  return H;
}

/** Dense H_n = H_m ⊗ H_P as f64 `[n, n]`. */
function kron(Hm: ArrayLike<number>, m: number, HP: Float64Array, P: number): Float64Array {
  const n = m * P;
  const H = new Float64Array(n * n);
  for (let a = 0; a < m; a++) {
    for (let a2 = 0; a2 < m; a2++) {
      for (let b = 0; b < P; b++) {
        for (let b2 = 0; b2 < P; b2++) {
          H[(a * P + b) * n + a2 * P + b2] = (Hm[a * m + a2] as number) * (HP[b * P + b2] as number);
        }
      }
    }
  }
  return H;
}

/** Reference y = x·diag(signs)·H_nᵀ·scale, i.e. y[i] = scale·Σ_j H_n[i, j]·signs[j]·x[j], per row. */
function reference(x: Tensor<"f32">, Hn: Float64Array, signs: Float32Array | undefined, scale: number): Float64Array {
  const [rows, n] = x.shape as [number, number];
  const xs = Float64Array.from(x.data, (v, i) => v * (signs ? signs[i % n]! : 1) * scale);
  return refMatmul(xs, refTranspose(Hn, n, n), rows, n, n);
}

Deno.test("the Paley H₁₂ used below is a Hadamard matrix (H·Hᵀ = 12·I) and not symmetric", () => {
  const H = paley(11);
  const HHt = refMatmul(H, refTranspose(H, 12, 12), 12, 12, 12);
  assert.deepEqual(Array.from(HHt), Array.from(identity(12), (v) => 12 * v));
  assert.notDeepEqual(Array.from(H), Array.from(refTranspose(H, 12, 12)));
});

Deno.test("fwht() matches the dense Sylvester product for n = 2^k, k = 0..10", () => {
  for (let k = 0; k <= 10; k++) {
    const n = 2 ** k;
    const x = randF32([3, n], k);
    assertAllClose(fwht(x), reference(x, sylvester(n), undefined, 1 / Math.sqrt(n)), {
      atol: ATOL,
      rtol: RTOL,
      msg: `n=${n}: `,
    });
  }
});

Deno.test("fwht() matches H₁₂ ⊗ H_P for n = 12·2^k, with signs and a custom scale", () => {
  const H12 = paley(11);
  const Hm = new Tensor("f32", [12, 12], H12);
  const rng = new Rng(5);
  for (const k of [0, 1, 3, 4, 7]) {
    const P = 2 ** k;
    const n = 12 * P;
    const x = randF32([2, n], 100 + k);
    const signs = Float32Array.from({ length: n }, () => rng.sign());
    const Hn = kron(H12, 12, sylvester(P), P);
    assertAllClose(fwht(x, { hadamardM: Hm, signs }), reference(x, Hn, signs, 1 / Math.sqrt(n)), {
      atol: ATOL,
      rtol: RTOL,
      msg: `n=12·${P}: `,
    });
    assertAllClose(fwht(x, { hadamardM: Hm, scale: 1 }), reference(x, Hn, undefined, 1), { atol: 1e-4, rtol: RTOL });
  }
});

Deno.test("fwht() of the identity rows gives H_n/√n, which is orthogonal (H·Hᵀ = n·I)", () => {
  for (const [n, m] of [[64, 1], [96, 12], [512, 1]] as const) {
    const I = new Tensor("f32", [n, n], Float32Array.from(identity(n)));
    const opts = m > 1 ? { hadamardM: new Tensor("f32", [12, 12], paley(11)), scale: 1 } : { scale: 1 };
    const H = fwht(I, opts).data; // row i = H_n[:, i]ᵀ
    assert.ok(H.every((v) => v === 1 || v === -1), "±1 entries");
    assertAllClose(refMatmul(H, refTranspose(H, n, n), n, n, n), Float64Array.from(identity(n), (v) => n * v), {
      atol: 0,
      rtol: 0,
    });
  }
});

Deno.test("fwht() is an involution up to scale for Sylvester sizes and preserves norms", () => {
  const x = randF32([4, 256], 9);
  assertAllClose(fwht(fwht(x)), x, { atol: 1e-5, rtol: 0 });
  const y = fwht(x);
  for (let r = 0; r < 4; r++) {
    let a = 0;
    let b = 0;
    for (let i = 0; i < 256; i++) {
      a += x.data[r * 256 + i]! ** 2;
      b += y.data[r * 256 + i]! ** 2;
    }
    assert.ok(Math.abs(a - b) <= 1e-4 * a);
  }
});

Deno.test("fwht() rejects bad lengths, signs, factors and scales", async () => {
  await assertThrowsMessage(() => fwht(randF32([2, 12], 1)), TypeError, "length 12", "power of 2");
  const Hm = new Tensor("f32", [12, 12], paley(11));
  await assertThrowsMessage(() => fwht(randF32([2, 36], 1), { hadamardM: Hm }), TypeError, "12·2^k");
  await assertThrowsMessage(() => fwht(randF32([2, 8], 1), { signs: new Float32Array(4) }), TypeError, "length 4");
  await assertThrowsMessage(
    () => fwht(randF32([2, 8], 1), { signs: new Float32Array(8).fill(NaN) }),
    RangeError,
    "NaN",
  );
  const bad = new Tensor("f32", [2, 2], new Float32Array([1, 1, 1, 0]));
  await assertThrowsMessage(() => fwht(randF32([1, 4], 1), { hadamardM: bad }), RangeError, "element 3 is 0");
  await assertThrowsMessage(
    () => fwht(randF32([1, 4], 1), { hadamardM: new Tensor("f32", [2, 3]) }),
    TypeError,
    "[m, m]",
  );
  await assertThrowsMessage(() => fwht(randF32([1, 4], 1), { scale: Infinity }), RangeError, "scale");
  await assertThrowsMessage(() => fwht(randF32([1, 0], 1)), TypeError, "length 0");
});

blasTest("fwht() is identical to ts", async (blas) => {
  const x = randF32([3, 192], 1);
  const Hm = new Tensor("f32", [12, 12], paley(11));
  assert.deepEqual((await blas.fwht(x, { hadamardM: Hm })).data, fwht(x, { hadamardM: Hm }).data);
});

Deno.test("fwht() writes into out, or in place into x itself, with the same values", async () => {
  const x = randF32([3, 64], 31);
  const signs = Float32Array.from({ length: 64 }, (_, i) => (i % 3 === 0 ? -1 : 1));
  const want = fwht(x, { signs });
  const out = new Tensor("f32", [3, 64]);
  assert.equal(fwht(x, { signs, out }), out);
  assert.deepEqual(out.data, want.data);
  const y = new Tensor("f32", [3, 64], x.data.slice());
  assert.equal(fwht(y, { signs, out: y }), y);
  assert.deepEqual(y.data, want.data);
  await assertThrowsMessage(
    () => fwht(x, { out: new Tensor("f32", [3, 32]) }),
    TypeError,
    "fwht: Cannot write into 'out'",
  );
  const base = new Float32Array(193);
  const x2 = new Tensor("f32", [3, 64], base.subarray(0, 192));
  const shifted = new Tensor("f32", [3, 64], base.subarray(1, 193));
  await assertThrowsMessage(() => fwht(x2, { out: shifted }), TypeError, "partly overlaps x");
});
