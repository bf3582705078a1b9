// SPDX-License-Identifier: MIT
/** fwht kernels (local, global stages, H_m factor) against the CPU reference (lib/ops/ts). */
import assert from "node:assert/strict";
import { fwht as fwhtGpu } from "../../kernels/fwht.ts";
import * as ref from "../../lib/ops/ts/mod.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";

/** Orthonormal transforms of N(0, 1) rows: outputs are O(1), f32 butterflies in another order. */
const FWHT_ATOL = 2e-5;
const FWHT_RTOL = 1e-5;

/** A random ±1 matrix: not symmetric, so a transposed H_m would be caught. */
function randomPm1(m: number, seed: number): Tensor<"f32"> {
  const rng = new Rng(seed);
  return new Tensor("f32", [m, m], Float32Array.from({ length: m * m }, () => rng.sign()));
}

function randomSigns(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.sign());
}

gpuTest("fwht() matches the CPU for powers of two in one workgroup pass", async (ctx) => {
  for (const [rows, n] of [[3, 1], [2, 2], [5, 64], [1, 4096], [2, 8192]] as const) {
    const x = randnF32([rows, n], n);
    assertAllClose(await fwhtGpu(ctx, x), ref.fwht(x), { atol: FWHT_ATOL, rtol: FWHT_RTOL, msg: `n=${n}: ` });
    const o = { signs: randomSigns(n, n + 1), scale: 0.5 };
    assertAllClose(await fwhtGpu(ctx, x, o), ref.fwht(x, o), {
      atol: FWHT_ATOL,
      rtol: FWHT_RTOL,
      msg: `n=${n} signs: `,
    });
  }
});

gpuTest("fwht() matches the CPU up to n = 32768 with global-memory stages", async (ctx) => {
  for (const n of [16384, 32768]) {
    const x = randnF32([2, n], n);
    const o = { signs: randomSigns(n, 7) };
    assertAllClose(await fwhtGpu(ctx, x, o), ref.fwht(x, o), { atol: FWHT_ATOL, rtol: FWHT_RTOL, msg: `n=${n}: ` });
  }
});

gpuTest("fwht() applies the H_m ⊗ H_2^k factor like the CPU, fused and in a separate pass", async (ctx) => {
  // [m, p]: fused in workgroup memory; several segments per workgroup + kron pass;
  // one segment per workgroup + kron pass; global stages + kron pass.
  for (const [rows, m, p] of [[3, 12, 16], [2, 12, 1024], [1, 3, 4096], [1, 5, 16384], [4, 20, 1]] as const) {
    const n = m * p;
    const x = randnF32([rows, n], n);
    const o = { hadamardM: randomPm1(m, m), signs: randomSigns(n, 3) };
    assertAllClose(await fwhtGpu(ctx, x, o), ref.fwht(x, o), {
      atol: FWHT_ATOL,
      rtol: FWHT_RTOL,
      msg: `m=${m} p=${p}: `,
    });
  }
});

gpuTest("fwht() is y[a·p + b] = scale·Σ Hm[a, a']·H_p[b, b']·x[a'·p + b'] (dense check)", async (ctx) => {
  const m = 3;
  const p = 4;
  const n = m * p;
  const x = randnF32([1, n], 1);
  const hm = randomPm1(m, 2);
  const y = await fwhtGpu(ctx, x, { hadamardM: hm, scale: 1 });
  const popcount = (v: number) => v.toString(2).split("").filter((c) => c === "1").length;
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < p; b++) {
      let s = 0;
      for (let a2 = 0; a2 < m; a2++) {
        for (let b2 = 0; b2 < p; b2++) {
          s += (hm.data[a * m + a2] as number) * (-1) ** popcount(b & b2) * (x.data[a2 * p + b2] as number);
        }
      }
      assert.ok(Math.abs((y.data[a * p + b] as number) - s) < 1e-5, `y[${a * p + b}]`);
    }
  }
});

gpuTest("fwht() rejects sizes and factors like the CPU backend", async (ctx) => {
  await assertThrowsMessage(() => fwhtGpu(ctx, randnF32([2, 12], 1)), TypeError, "power of 2");
  await assertThrowsMessage(
    () => fwhtGpu(ctx, randnF32([2, 24], 1), { hadamardM: randomPm1(5, 1) }),
    TypeError,
    "5·2^k",
  );
  await assertThrowsMessage(
    () => fwhtGpu(ctx, randnF32([2, 8], 1), { signs: new Float32Array(4) }),
    TypeError,
    "signs",
  );
  const notPm1 = new Tensor("f32", [2, 2], new Float32Array([1, 1, 1, 0.5]));
  await assertThrowsMessage(() => fwhtGpu(ctx, randnF32([1, 8], 1), { hadamardM: notPm1 }), RangeError, "±1");
});
