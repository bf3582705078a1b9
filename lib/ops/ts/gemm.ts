// SPDX-License-Identifier: MIT
/**
 * `gemm`: in place `C = alpha·op(A)·op(B) + beta·C` on strided windows of row-major f32
 * matrices ({@link MatrixView}), the BLAS `sgemm` contract with leading dimensions. The ts
 * version is the specification: each output is an f64 dot product rounded to f32 once, after
 * `alpha·dot + beta·c` (the blas backend's sgemm rounds as OpenBLAS does).
 *
 * Blocked algorithms need it to update a panel of a matrix in place (GPTQ's
 * `W[:, end:] −= Err·Hinv[block, end:]`) where `matmul` would copy the panel out and back.
 *
 * @module
 */
import type { GemmOptions, MatrixView } from "../ops.ts";

/** Resolved dimensions of a gemm: `[M, K]·[K, N]` into `[M, N]`. */
export interface GemmShape {
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
}

/**
 * Validates the views and options of `gemm` (shared with the blas backend).
 *
 * @throws {TypeError} on a view outside its array or mismatched dimensions; {RangeError} on a
 *   non-finite alpha/beta
 */
export function gemmShape(C: MatrixView, A: MatrixView, B: MatrixView, options: GemmOptions = {}): GemmShape {
  const fn = "gemm";
  for (const [arg, v] of [["C", C], ["A", A], ["B", B]] as const) checkView(fn, arg, v);
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const [M, Ka] = transA ? [A.cols, A.rows] : [A.rows, A.cols];
  const [Kb, N] = transB ? [B.cols, B.rows] : [B.rows, B.cols];
  if (Ka !== Kb || C.rows !== M || C.cols !== N) {
    throw new TypeError(
      `${fn}: Cannot multiply A ${A.rows}×${A.cols}${transA ? " (transA)" : ""} by B ${B.rows}×${B.cols}${
        transB ? " (transB)" : ""
      } into C ${C.rows}×${C.cols}: expected [M, K]·[K, N] into [M, N]`,
    );
  }
  const alpha = options.alpha ?? 1;
  const beta = options.beta ?? 0;
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) {
    throw new RangeError(`${fn}: Cannot scale by alpha ${alpha}, beta ${beta}: both must be finite`);
  }
  return { M, K: Ka, N, transA, transB, alpha, beta };
}

function checkView(fn: string, arg: string, v: MatrixView): void {
  const ok = v.data instanceof Float32Array && Number.isInteger(v.offset) && v.offset >= 0 &&
    Number.isInteger(v.rows) && v.rows >= 0 && Number.isInteger(v.cols) && v.cols >= 0 &&
    Number.isInteger(v.stride) && v.stride >= Math.max(1, v.cols) &&
    (v.rows === 0 || v.cols === 0 || v.offset + (v.rows - 1) * v.stride + v.cols <= v.data.length);
  if (!ok) {
    throw new TypeError(
      `${fn}: Cannot use view '${arg}' (offset ${v.offset}, ${v.rows}×${v.cols}, stride ${v.stride}) of a ${
        v.data instanceof Float32Array ? `Float32Array(${v.data.length})` : typeof v.data
      }: expected an f32 window inside its array with stride >= cols`,
    );
  }
}

/**
 * In place `C = alpha·op(A)·op(B) + beta·C` (f64 dot products, one rounding per output).
 *
 * @param C f32 view `[M, N]`, updated in place; must not overlap A or B
 * @param A f32 view `[M, K]` (`[K, M]` with transA)
 * @param B f32 view `[K, N]` (`[N, K]` with transB)
 * @param options `transA`, `transB`, `alpha` (default 1), `beta` (default 0)
 * @throws {TypeError} on shapes; {RangeError} on non-finite alpha/beta
 *
 * @example Accumulate a rank-1 update into a column window of a 2×3 matrix
 * ```ts
 * import { gemm } from "./gemm.ts";
 * import assert from "node:assert/strict";
 * const c = new Float32Array([1, 1, 1, 1, 1, 1]); // [2, 3]
 * const a = new Float32Array([1, 2]), b = new Float32Array([10, 20]);
 * gemm({ data: c, offset: 1, rows: 2, cols: 2, stride: 3 }, { data: a, offset: 0, rows: 2, cols: 1, stride: 1 },
 *   { data: b, offset: 0, rows: 1, cols: 2, stride: 2 }, { alpha: -1, beta: 1 });
 * assert.deepEqual(Array.from(c), [1, -9, -19, 1, -19, -39]);
 * ```
 */
export function gemm(C: MatrixView, A: MatrixView, B: MatrixView, options: GemmOptions = {}): void {
  const { M, K, N, transA, transB, alpha, beta } = gemmShape(C, A, B, options);
  const a = A.data, b = B.data, c = C.data;
  // op(A)[i, k] at a[ai + i·asI + k·asK]; op(B)[k, j] at b[bi + k·bsK + j·bsJ]
  const asI = transA ? 1 : A.stride, asK = transA ? A.stride : 1;
  const bsK = transB ? 1 : B.stride, bsJ = transB ? B.stride : 1;
  const row = new Float64Array(N); // one row of the product, f64
  for (let i = 0; i < M; i++) {
    row.fill(0);
    for (let k = 0; k < K; k++) {
      const av = a[A.offset + i * asI + k * asK] as number;
      const bo = B.offset + k * bsK;
      for (let j = 0; j < N; j++) row[j] = (row[j] as number) + av * (b[bo + j * bsJ] as number);
    }
    const co = C.offset + i * C.stride;
    for (let j = 0; j < N; j++) {
      // beta = 0 ignores C's contents (NaN included), as BLAS
      c[co + j] = alpha * (row[j] as number) + (beta === 0 ? 0 : beta * (c[co + j] as number));
    }
  }
}

/** The whole of a row-major `[rows, cols]` array as a view, or columns `c0..c1` of it. */
export function view(data: Float32Array, rows: number, cols: number, c0 = 0, c1 = cols): MatrixView {
  return { data, offset: c0, rows, cols: c1 - c0, stride: cols };
}
