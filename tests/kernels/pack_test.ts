// SPDX-License-Identifier: MIT
/** pack, unpack and dequantMatvec kernels against the CPU reference (lib/ops/ts). */
import assert from "node:assert/strict";
import { dequantMatvec as matvecGpu } from "../../kernels/dequant_matvec.ts";
import { pack as packGpu } from "../../kernels/pack.ts";
import { unpack as unpackGpu } from "../../kernels/unpack.ts";
import * as ref from "../../lib/ops/ts/mod.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";

/** y = Σ_c ŵ·x over ≤ 300 terms: f32 tree on the GPU vs f64 on the CPU. */
const MATVEC_ATOL = 1e-4;
const MATVEC_RTOL = 1e-5;

const BITS = [2, 3, 4, 8] as const;

function randomCodes(rows: number, cols: number, bits: number, seed: number): Tensor<"u8"> {
  const rng = new Rng(seed);
  return new Tensor("u8", [rows, cols], Uint8Array.from({ length: rows * cols }, () => rng.int(2 ** bits)));
}

gpuTest("pack() produces the CPU's words exactly and unpack() inverts it", async (ctx) => {
  for (const bits of BITS) {
    for (const [rows, cols] of [[5, 37], [1, 100], [33, 1], [3, 10], [4, 0]] as const) {
      const codes = randomCodes(rows, cols, bits, bits * 100 + cols);
      const packed = await packGpu(ctx, codes, bits);
      const want = ref.pack(codes, bits);
      assert.deepEqual(packed.words.shape, want.words.shape, `${bits} bits [${rows}, ${cols}]`);
      assert.deepEqual(Array.from(packed.words.data), Array.from(want.words.data), `${bits} bits [${rows}, ${cols}]`);
      assert.equal(packed.cols, cols);
      const back = await unpackGpu(ctx, want);
      assert.deepEqual(Array.from(back.data), Array.from(codes.data), `${bits} bits [${rows}, ${cols}] roundtrip`);
    }
  }
});

gpuTest("pack() puts code i of a word at bit i·bits (3-bit: 10 codes per word)", async (ctx) => {
  const codes = new Tensor("u8", [1, 11], Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 7]));
  const { words } = await packGpu(ctx, codes, 3);
  let expected = 0;
  for (let i = 0; i < 10; i++) expected += (codes.data[i] as number) * 2 ** (3 * i);
  assert.deepEqual(Array.from(words.data), [expected, 7]);
});

gpuTest("pack() and unpack() reject what the CPU rejects", async (ctx) => {
  await assertThrowsMessage(
    () => packGpu(ctx, randomCodes(2, 3, 4, 1), 4.5),
    RangeError,
    "bits must be one of 2, 3, 4, 8",
  );
  await assertThrowsMessage(() => packGpu(ctx, randomCodes(2, 3, 8, 1), 2), RangeError, "codes must be < 4");
  const packed = ref.pack(randomCodes(2, 9, 4, 1), 4);
  await assertThrowsMessage(() => unpackGpu(ctx, { ...packed, cols: 17 }), TypeError, "words per row");
});

gpuTest("dequantMatvec() matches the CPU for vectors and [cols, n] matrices", async (ctx) => {
  const rng = new Rng(3);
  for (const bits of BITS) {
    for (
      const [rows, cols, groups, R, n] of [[37, 96, 3, 37, 0], [5, 40, 1, 1, 3], [1, 64, 2, 1, 0], [
        70,
        10,
        1,
        70,
        1,
      ]] as const
    ) {
      const maxq = 2 ** bits - 1;
      const codes = randomCodes(rows, cols, bits, rows + cols + bits);
      const packed = ref.pack(codes, bits);
      const params = {
        scale: new Tensor(
          "f32",
          [R, groups],
          Float32Array.from({ length: R * groups }, () => 0.01 + rng.uniform() * 0.1),
        ),
        zero: new Tensor("f32", [R, groups], Float32Array.from({ length: R * groups }, () => rng.int(maxq + 1))),
        maxq,
      };
      const x = n === 0 ? randnF32([cols], cols) : randnF32([cols, n], cols + n);
      const y = await matvecGpu(ctx, packed, params, x);
      assertAllClose(y, ref.dequantMatvec(packed, params, x), {
        atol: MATVEC_ATOL,
        rtol: MATVEC_RTOL,
        msg: `${bits} bits [${rows}, ${cols}] n=${n}: `,
      });
    }
  }
});

gpuTest("dequantMatvec() rejects a mismatched x like the CPU backend", async (ctx) => {
  const packed = ref.pack(randomCodes(3, 8, 4, 1), 4);
  const params = {
    scale: new Tensor("f32", [3, 1], new Float32Array([1, 1, 1])),
    zero: new Tensor("f32", [3, 1], new Float32Array([8, 8, 8])),
    maxq: 15,
  };
  await assertThrowsMessage(
    () => matvecGpu(ctx, packed, params, randnF32([7], 1)),
    TypeError,
    "expected x of shape [8]",
  );
});
