// SPDX-License-Identifier: MIT
/**
 * `Tr(ΔW H ΔWᵀ)` through the backend's gemm: the same quantity as `weightedError` in
 * metrics.ts (the readable f64 specification), in panels so that a 1.1B-class down_proj
 * (2048 × 5632, H 5632²) costs one BLAS pass (~130 MFLOP per row) and a few MiB of scratch
 * instead of minutes of scalar loops and a second n² matrix.
 *
 * Per panel of `p` rows of the symmetric H (contiguous, widened f64 → f32):
 * `C = ΔW · H[c0:c0+p, :]ᵀ` (`[rows, p]`, one sgemm), then `Σ C ⊙ ΔW[:, c0:c0+p]` in f64.
 * The products are f32 (relative error ~1e-6 against the f64 specification, tested).
 *
 * @module
 */
import { formatShape, type Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";

/** Rows of H widened per panel: 256 × 5632 f32 is 5.8 MiB. */
const PANEL = 256;

/**
 * Weighted error `Tr(ΔW H ΔWᵀ)`, `ΔW = W − Q`, on `ops` (OpenBLAS sgemm on blas).
 *
 * @param W f32 `[rows, cols]` original weights
 * @param Q f32 `[rows, cols]` quantized weights
 * @param H f64 `[cols, cols]`, symmetric
 * @param ops backend of the products
 * @returns the scalar error
 * @throws {TypeError} on mismatched shapes
 *
 * @example Equal to the specification
 * ```ts
 * import { weightedErrorOps } from "./weighted_error.ts";
 * import { weightedError } from "./metrics.ts";
 * import { tsOps } from "../ops/ts/mod.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const W = new Tensor("f32", [1, 2], new Float32Array([1, 2]));
 * const Q = new Tensor("f32", [1, 2], new Float32Array([0, 0]));
 * const H = new Tensor("f64", [2, 2], new Float64Array([2, 1, 1, 2]));
 * assert.equal(await weightedErrorOps(W, Q, H, tsOps), weightedError(W, Q, H)); // 2 + 4 + 8 = 14
 * ```
 */
export async function weightedErrorOps(
  W: Tensor<"f32">,
  Q: Tensor<"f32">,
  H: Tensor<"f64">,
  ops: Ops,
): Promise<number> {
  const fn = "weightedErrorOps";
  if (W.rank !== 2 || formatShape(W.shape) !== formatShape(Q.shape)) {
    throw new TypeError(
      `${fn}: Cannot compare W of shape ${formatShape(W.shape)} with Q of shape ${
        formatShape(Q.shape)
      }: expected equal [rows, cols]`,
    );
  }
  const [rows, cols] = W.shape as [number, number];
  if (H.rank !== 2 || H.shape[0] !== cols || H.shape[1] !== cols) {
    throw new TypeError(
      `${fn}: Cannot weight W of shape ${formatShape(W.shape)} by H of shape ${
        formatShape(H.shape)
      }: expected [${cols}, ${cols}]`,
    );
  }
  const D = new Float32Array(rows * cols);
  for (let i = 0; i < D.length; i++) D[i] = (W.data[i] as number) - (Q.data[i] as number);
  const p = Math.min(PANEL, cols);
  const Hp = new Float32Array(p * cols);
  const C = new Float32Array(rows * p);
  let total = 0;
  for (let c0 = 0; c0 < cols; c0 += p) {
    const w = Math.min(p, cols - c0);
    for (let i = 0; i < w * cols; i++) Hp[i] = H.data[c0 * cols + i] as number;
    await ops.gemm(
      { data: C, offset: 0, rows, cols: w, stride: w },
      { data: D, offset: 0, rows, cols, stride: cols },
      { data: Hp, offset: 0, rows: w, cols, stride: cols },
      { transB: true },
    );
    for (let r = 0; r < rows; r++) {
      const o = r * cols + c0, oc = r * w;
      let s = 0;
      for (let j = 0; j < w; j++) s += (C[oc + j] as number) * (D[o + j] as number);
      total += s;
    }
  }
  return total;
}
