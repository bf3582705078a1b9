// SPDX-License-Identifier: MIT
/** gptqBlock (lib/ops/ts/gptq_block.ts); blas shares the code, checked identical. */
import assert from "node:assert/strict";
import { cholesky, choleskyInverse } from "../../lib/linalg/cholesky.ts";
import type { IntQuantParams } from "../../lib/ops/ops.ts";
import { gptqBlock } from "../../lib/ops/ts/gptq_block.ts";
import { fakeQuantize, quantizeCodes } from "../../lib/ops/ts/quantize.ts";
import { roundHalfEven } from "../../lib/tensor/numeric.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertThrowsMessage } from "../_assert.ts";
import { blasTest } from "../_backends.ts";
import { identity, randF32, refMatmul, refTranspose, spd } from "./_data.ts";

/** Per-row min-max parameters `[rows, 1]`. */
function rowParams(W: Tensor<"f32">, maxq: number): IntQuantParams {
  const [rows, cols] = W.shape as [number, number];
  const scale = new Tensor("f32", [rows, 1]);
  const zero = new Tensor("f32", [rows, 1]);
  for (let r = 0; r < rows; r++) {
    const v = Array.from(W.data.subarray(r * cols, (r + 1) * cols));
    const lo = Math.min(0, ...v);
    const hi = Math.max(0, ...v);
    scale.data[r] = (hi - lo) / maxq || 1;
    zero.data[r] = roundHalfEven(-lo / scale.data[r]!);
  }
  return { scale, zero, maxq };
}

/** Hinv = upper Cholesky factor of H⁻¹ as f32 (GPTQ's triple-Cholesky step). */
function hinvUpper(H: Tensor<"f64">): Tensor<"f32"> {
  const n = H.shape[0]!;
  const L = cholesky(choleskyInverse(cholesky(H))).data; // lower factor of H⁻¹
  return new Tensor("f32", [n, n], Float32Array.from(refTranspose(L, n, n)));
}

/**
 * Column-by-column transcription of gptq.py's inner loop (`for i in range(count)`), with the
 * rounding the spec states: err = fround((w − q) / d), W[:, k] = fround(W[:, k] − err·Hinv[j, k]).
 */
function reference(W: Tensor<"f32">, Hinv: Tensor<"f32">, p: IntQuantParams) {
  const [rows, B] = W.shape as [number, number];
  const W1 = Float32Array.from(W.data);
  const Q = new Float32Array(rows * B);
  const err = new Float32Array(rows * B);
  for (let j = 0; j < B; j++) {
    const col = new Tensor("f32", [rows, 1], Float32Array.from({ length: rows }, (_, r) => W1[r * B + j]!));
    const q = fakeQuantize(col, p).data;
    const d = Hinv.data[j * B + j]!;
    for (let r = 0; r < rows; r++) {
      Q[r * B + j] = q[r]!;
      err[r * B + j] = (W1[r * B + j]! - q[r]!) / d;
      for (let k = j + 1; k < B; k++) W1[r * B + k] = W1[r * B + k]! - err[r * B + j]! * Hinv.data[j * B + k]!;
    }
  }
  return { Q, err };
}

Deno.test("gptqBlock() equals a column-by-column transcription of GPTQ's inner loop", () => {
  for (const [rows, B] of [[1, 1], [1, 16], [7, 1], [9, 13], [40, 32]] as const) {
    const W = randF32([rows, B], rows * 10 + B);
    const Hinv = hinvUpper(spd(B, B, 0.05));
    const p = rowParams(W, 7);
    const out = gptqBlock(W, Hinv, p);
    const ref = reference(W, Hinv, p);
    assert.deepEqual(out.Q.data, ref.Q, `Q [${rows}, ${B}]`);
    assert.deepEqual(out.err.data, ref.err, `err [${rows}, ${B}]`);
    // codes are the integer form of Q (requantizing Q reproduces them)
    assert.deepEqual(out.codes.data, quantizeCodes(out.Q, p).data);
  }
});

Deno.test("gptqBlock() with Hinv = I is round-to-nearest and leaves W untouched", () => {
  const W = randF32([6, 8], 1);
  const before = Float32Array.from(W.data);
  const p = rowParams(W, 15);
  const I = new Tensor("f32", [8, 8], Float32Array.from(identity(8)));
  const out = gptqBlock(W, I, p);
  assert.deepEqual(out.Q.data, fakeQuantize(W, p).data);
  assert.deepEqual(out.codes.data, quantizeCodes(W, p).data);
  assert.deepEqual(W.data, before);
});

Deno.test("gptqBlock() lowers the layer loss tr((W − Q)·H·(W − Q)ᵀ) below round-to-nearest", () => {
  const [rows, n, tokens] = [32, 32, 256];
  const X = randF32([tokens, n], 3);
  for (let t = 0; t < tokens; t++) {
    for (let i = 1; i < n; i++) X.data[t * n + i] = X.data[t * n + i]! + 0.8 * X.data[t * n + i - 1]!;
  }
  const H = new Tensor(
    "f64",
    [n, n],
    refMatmul(refTranspose(X.data, tokens, n), X.data, n, tokens, n).map((v) => (2 * v) / tokens),
  );
  for (let i = 0; i < n; i++) H.data[i * n + i] = H.data[i * n + i]! + 0.01;
  const W = randF32([rows, n], 4);
  const p = rowParams(W, 7);
  const loss = (Q: Float32Array) => {
    const D = Float64Array.from(W.data, (w, i) => w - Q[i]!);
    const DH = refMatmul(D, H.data, rows, n, n);
    return DH.reduce((s, v, i) => s + v * D[i]!, 0);
  };
  const gptq = loss(gptqBlock(W, hinvUpper(H), p).Q.data);
  const rtn = loss(fakeQuantize(W, p).data);
  assert.ok(gptq < 0.8 * rtn, `gptq ${gptq} vs rtn ${rtn}`);
});

Deno.test("gptqBlock() rejects mismatched Hinv, grouped params, bad diagonals and non-finite W", async () => {
  const W = randF32([4, 6], 1);
  const p = rowParams(W, 15);
  const I6 = new Tensor("f32", [6, 6], Float32Array.from(identity(6)));
  await assertThrowsMessage(
    () => gptqBlock(W, new Tensor("f32", [5, 5]), p),
    TypeError,
    "Hinv of shape [5, 5]",
    "[6, 6]",
  );
  const grouped: IntQuantParams = {
    scale: new Tensor("f32", [4, 2], new Float32Array(8).fill(0.1)),
    zero: new Tensor("f32", [4, 2]),
    maxq: 15,
  };
  await assertThrowsMessage(() => gptqBlock(W, I6, grouped), TypeError, "one group");
  const Z = new Tensor("f32", [6, 6], Float32Array.from(identity(6)));
  Z.data[2 * 6 + 2] = 0;
  await assertThrowsMessage(() => gptqBlock(W, Z, p), RangeError, "Hinv[2, 2] = 0");
  const bad = randF32([4, 6], 1);
  bad.data[7] = NaN;
  await assertThrowsMessage(() => gptqBlock(bad, I6, p), RangeError, "element [1, 1] is NaN");
});

blasTest("gptqBlock() is identical to ts", async (blas) => {
  const W = randF32([16, 12], 5);
  const Hinv = hinvUpper(spd(12, 2));
  const p = rowParams(W, 3);
  const a = await blas.gptqBlock(W, Hinv, p);
  const b = gptqBlock(W, Hinv, p);
  assert.deepEqual(a.Q.data, b.Q.data);
  assert.deepEqual(a.err.data, b.err.data);
  assert.deepEqual(a.codes.data, b.codes.data);
});

Deno.test("gptqBlock() writes into out (reused across calls) exactly what it returns otherwise", async () => {
  const W = randF32([9, 12], 41), H = spd(12, 42);
  const Hinv = hinvUpper(H);
  const p = rowParams(W, 7);
  const fresh = gptqBlock(W, Hinv, p);
  const out = { Q: new Tensor("f32", [9, 12]), err: new Tensor("f32", [9, 12]), codes: new Tensor("u8", [9, 12]) };
  out.err.data.fill(NaN); // stale contents of a reused buffer must not leak into the result
  for (let rep = 0; rep < 2; rep++) {
    const r = gptqBlock(W, Hinv, p, out);
    assert.equal(r, out);
    assert.deepEqual(r.Q.data, fresh.Q.data);
    assert.deepEqual(r.err.data, fresh.err.data);
    assert.deepEqual(r.codes.data, fresh.codes.data);
  }
  const bad = { ...out, codes: new Tensor("u8", [9, 11]) };
  await assertThrowsMessage(() => gptqBlock(W, Hinv, p, bad), TypeError, "gptqBlock: Cannot write into out");
  await assertThrowsMessage(() => gptqBlock(W, Hinv, p, { ...out, err: W }), TypeError, "overlaps W");
});
