// SPDX-License-Identifier: MIT
/** pack / unpack / dequantMatvec (lib/ops/ts/pack.ts, dequant_matvec.ts); blas shares the code. */
import assert from "node:assert/strict";
import type { IntQuantParams } from "../../lib/ops/ops.ts";
import { dequantMatvec } from "../../lib/ops/ts/dequant_matvec.ts";
import { pack, unpack, wordsPerRow } from "../../lib/ops/ts/pack.ts";
import { fakeQuantize, quantizeCodes } from "../../lib/ops/ts/quantize.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { blasTest } from "../_backends.ts";
import { randF32, refMatmul } from "./_data.ts";

/** dequantMatvec accumulates ŵ·x in f64 and rounds once, like the f64 reference below. */
const MATVEC_RTOL = 2e-7;
const MATVEC_ATOL = 1e-6;

function randomCodes(rows: number, cols: number, bits: number, seed: number): Tensor<"u8"> {
  const rng = new Rng(seed);
  return new Tensor("u8", [rows, cols], Uint8Array.from({ length: rows * cols }, () => rng.int(2 ** bits)));
}

Deno.test("pack()/unpack() round-trip bit-exactly for 2, 3, 4, 8 bits and ragged rows", () => {
  for (const bits of [2, 3, 4, 8]) {
    for (const [rows, cols] of [[1, 1], [3, 10], [5, 33], [2, 128], [4, 0], [0, 7]]) {
      const codes = randomCodes(rows!, cols!, bits, bits * 100 + cols!);
      const packed = pack(codes, bits);
      assert.deepEqual(packed.words.shape, [rows, wordsPerRow(cols!, bits)]);
      assert.equal(packed.cols, cols);
      assert.equal(packed.bits, bits);
      assert.deepEqual(unpack(packed).data, codes.data, `bits=${bits} [${rows}, ${cols}]`);
    }
  }
});

Deno.test("pack() layout: little end first, 3-bit packs 10 codes per word, rows padded with zeros", () => {
  const c = new Tensor("u8", [1, 11], Uint8Array.from({ length: 11 }, (_, i) => (i % 7) + 1));
  const words = pack(c, 3).words.data;
  let expected = 0;
  for (let i = 0; i < 10; i++) expected += ((i % 7) + 1) * 2 ** (3 * i);
  assert.deepEqual(Array.from(words), [expected, 4]);
  assert.deepEqual(Array.from(pack(new Tensor("u8", [2, 2], new Uint8Array([3, 1, 2, 0])), 2).words.data), [7, 2]);
  assert.deepEqual(Array.from(pack(new Tensor("u8", [1, 5], new Uint8Array([1, 2, 3, 255, 9])), 8).words.data), [
    0xff030201,
    9,
  ]);
  assert.deepEqual([2, 3, 4, 8].map((b) => wordsPerRow(128, b)), [8, 13, 16, 32]);
});

Deno.test("pack()/unpack() reject bad bits, out-of-range codes and inconsistent words", async () => {
  await assertThrowsMessage(() => pack(randomCodes(1, 4, 2, 1), 5), RangeError, "Cannot pack to 5 bits");
  await assertThrowsMessage(
    () => pack(new Tensor("u8", [1, 3], new Uint8Array([0, 16, 1])), 4),
    RangeError,
    "code 16 at [0, 1]",
  );
  await assertThrowsMessage(
    () => unpack({ words: new Tensor("u32", [2, 3]), bits: 4, cols: 9 }),
    TypeError,
    "expected 2 words per row",
  );
  await assertThrowsMessage(
    () => pack(new Tensor("f32", [1, 2]) as unknown as Tensor<"u8">, 4),
    TypeError,
    'dtype "f32"',
  );
});

function intParams(rows: number, G: number, maxq: number, seed: number): IntQuantParams {
  const rng = new Rng(seed);
  return {
    scale: new Tensor("f32", [rows, G], Float32Array.from({ length: rows * G }, () => 0.01 + rng.uniform() * 0.1)),
    zero: new Tensor("f32", [rows, G], Float32Array.from({ length: rows * G }, () => rng.int(maxq + 1))),
    maxq,
  };
}

/** Dense ŵ `[rows, cols]` of codes with params (the same formula as fakeQuantize's output). */
function dequantDense(codes: Tensor<"u8">, p: IntQuantParams): Float32Array {
  const [rows, cols] = codes.shape as [number, number];
  const [R, G] = p.scale.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = (R === 1 ? 0 : r) * G + Math.floor(c / (cols / G));
      out[r * cols + c] = p.scale.data[k]! * (codes.data[r * cols + c]! - p.zero.data[k]!);
    }
  }
  return out;
}

Deno.test("dequantMatvec() equals dequant(W)·x for vectors and matrices, all bit widths", () => {
  for (const bits of [2, 3, 4, 8]) {
    const [rows, cols] = [7, 40];
    const codes = randomCodes(rows, cols, bits, bits);
    const p = intParams(rows, 4, 2 ** bits - 1, bits + 1);
    const W = dequantDense(codes, p);
    const x = randF32([cols], bits + 2);
    const y = dequantMatvec(pack(codes, bits), p, x);
    assert.deepEqual(y.shape, [rows]);
    assertAllClose(y, refMatmul(W, x.data, rows, cols, 1), {
      atol: MATVEC_ATOL,
      rtol: MATVEC_RTOL,
      msg: `bits=${bits}: `,
    });
    const X = randF32([cols, 3], bits + 3);
    const Y = dequantMatvec(pack(codes, bits), p, X);
    assert.deepEqual(Y.shape, [rows, 3]);
    assertAllClose(Y, refMatmul(W, X.data, rows, cols, 3), { atol: MATVEC_ATOL, rtol: MATVEC_RTOL });
  }
});

Deno.test("dequantMatvec() matches fakeQuantize: the packed path reproduces ŵ exactly", () => {
  const w = randF32([3, 8], 5, 0.05);
  const p = intParams(3, 2, 15, 6);
  const What = fakeQuantize(w, p);
  const codes = quantizeCodes(w, p);
  const packed = pack(codes, 4);
  for (let c = 0; c < 8; c++) {
    const e = new Tensor("f32", [8], new Float32Array(8));
    e.data[c] = 1;
    const col = dequantMatvec(packed, p, e).data;
    for (let r = 0; r < 3; r++) assert.equal(col[r], What.data[r * 8 + c]);
  }
});

Deno.test("dequantMatvec() broadcasts [1, G] params and rejects mismatched x and params", async () => {
  const codes = randomCodes(4, 12, 4, 1);
  const p1 = intParams(1, 3, 15, 2);
  const pFull: IntQuantParams = {
    scale: new Tensor("f32", [4, 3], Float32Array.from({ length: 12 }, (_, i) => p1.scale.data[i % 3]!)),
    zero: new Tensor("f32", [4, 3], Float32Array.from({ length: 12 }, (_, i) => p1.zero.data[i % 3]!)),
    maxq: 15,
  };
  const x = randF32([12], 3);
  assert.deepEqual(dequantMatvec(pack(codes, 4), p1, x).data, dequantMatvec(pack(codes, 4), pFull, x).data);
  await assertThrowsMessage(
    () => dequantMatvec(pack(codes, 4), p1, randF32([11], 1)),
    TypeError,
    "x of shape [11]",
    "[12]",
  );
  await assertThrowsMessage(
    () => dequantMatvec(pack(codes, 4), intParams(1, 5, 15, 1), x),
    TypeError,
    "12 columns into 5 groups",
  );
});

blasTest("pack(), unpack() and dequantMatvec() are identical to ts", async (blas) => {
  const codes = randomCodes(6, 50, 3, 9);
  const packed = await blas.pack(codes, 3);
  assert.deepEqual(packed.words.data, pack(codes, 3).words.data);
  assert.deepEqual((await blas.unpack(packed)).data, codes.data);
  const p = intParams(6, 5, 7, 1);
  const x = randF32([50, 2], 4);
  assert.deepEqual((await blas.dequantMatvec(packed, p, x)).data, dequantMatvec(packed, p, x).data);
});
