// SPDX-License-Identifier: MIT
/**
 * The `ts` backend: every {@link Ops} method in plain TypeScript — the readable
 * specification the `blas` and `webgpu` backends are tested against. Runs anywhere
 * (Deno, browsers, notebooks); no native code.
 *
 * The synchronous functions behind it are exported too, so CPU code can call them without
 * `await`: {@link matmul}, {@link accumulateHessian}, {@link reduce}, {@link histogram},
 * {@link fakeQuantize}, {@link quantizeCodes}, {@link codebookQuantize}, {@link pack},
 * {@link unpack}, {@link dequantMatvec}, {@link fwht}, {@link gptqBlock}; the linear algebra
 * comes from `lib/linalg`.
 *
 * @example Use the backend through the interface
 * ```ts
 * import { tsOps } from "./mod.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const A = new Tensor("f32", [1, 2], new Float32Array([1, 2]));
 * const B = new Tensor("f32", [2, 1], new Float32Array([3, 4]));
 * assert.deepEqual(Array.from((await tsOps.matmul(A, B)).data), [11]);
 * ```
 *
 * @module
 */
import { cholesky, triangularInverse, triangularSolve } from "../../linalg/mod.ts";
import type { Ops } from "../ops.ts";
import type { Tensor } from "../../tensor/tensor.ts";
import { codebookQuantize } from "./codebook.ts";
import { dequantMatvec } from "./dequant_matvec.ts";
import { fwht } from "./fwht.ts";
import { gemm } from "./gemm.ts";
import { gptqBlock } from "./gptq_block.ts";
import { accumulateHessian } from "./hessian.ts";
import { matmul } from "./matmul.ts";
import { pack, unpack } from "./pack.ts";
import { fakeQuantize, quantizeCodes } from "./quantize.ts";
import { histogram, reduce } from "./reduce.ts";

export { codebookQuantize } from "./codebook.ts";
export { dequantMatvec } from "./dequant_matvec.ts";
export { fwht, type FwhtOptions } from "./fwht.ts";
export { gemm, gemmShape, view } from "./gemm.ts";
export { gptqBlock } from "./gptq_block.ts";
export { accumulateHessian } from "./hessian.ts";
export { matmul } from "./matmul.ts";
export { codesPerWord, pack, PACK_BITS, unpack, wordsPerRow } from "./pack.ts";
export { fakeQuantize, quantizeCodes } from "./quantize.ts";
export { histogram, reduce } from "./reduce.ts";

/**
 * Wraps a synchronous function as a Promise-returning one; a throw becomes a rejection
 * (so callers see the same behaviour as from an asynchronous GPU backend).
 */
export function lift<A extends unknown[], R>(f: (...args: A) => R): (...args: A) => Promise<R> {
  return (...args: A): Promise<R> => {
    try {
      return Promise.resolve(f(...args));
    } catch (e) {
      return Promise.reject(e);
    }
  };
}

/** The plain-TypeScript {@link Ops}; every method resolves immediately. */
export const tsOps: Ops = Object.freeze(
  {
    name: "ts",
    info: "plain TypeScript (lib/ops/ts), f64 accumulation",
    matmul: lift(matmul),
    gemm: lift(gemm),
    accumulateHessian: lift(accumulateHessian),
    reduce: lift(reduce),
    histogram: lift(histogram),
    fakeQuantize: lift(fakeQuantize),
    quantizeCodes: lift(quantizeCodes),
    codebookQuantize: lift(codebookQuantize),
    pack: lift(pack),
    unpack: lift(unpack),
    dequantMatvec: lift(dequantMatvec),
    fwht: lift(fwht),
    gptqBlock: lift(gptqBlock),
    cholesky: lift((A: Tensor<"f64">) => cholesky(A)),
    triangularInverse: lift(triangularInverse),
    triangularSolve: lift(triangularSolve),
  } satisfies Ops,
);
