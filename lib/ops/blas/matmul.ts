// SPDX-License-Identifier: MIT
/**
 * `matmul` and `gemm` through `cblas_sgemm` (row-major CBLAS; transposes are flags, strided
 * windows are leading dimensions, `out`/`alpha`/`beta` are sgemm's C, alpha and beta — nothing
 * is copied). Accumulation is whatever OpenBLAS does (f32 with FMA), so results differ from the
 * ts backend's f64-accumulated ones by f32 rounding only.
 *
 * @module
 */
import { Tensor } from "../../tensor/tensor.ts";
import type { GemmOptions, MatmulOptions, MatrixView } from "../ops.ts";
import { gemmShape } from "../ts/gemm.ts";
import { matmulOutput, matmulShape } from "../ts/_matmul_shape.ts";
import { CBLAS } from "./_fortran.ts";
import type { BlasLibrary } from "./loader.ts";

/**
 * C = alpha·op(A)·op(B) + beta·C with `cblas_sgemm`; shapes, options and errors exactly as the ts `matmul`.
 *
 * @param lib opened OpenBLAS
 * @param A f32 `[M, K]` (`[K, M]` with transA) or `[batch, ., .]`
 * @param B f32 `[K, N]` (`[N, K]` with transB) or `[batch, ., .]` (2-D broadcasts)
 * @param options `transA`, `transB`, `out`, `alpha`, `beta`
 * @returns f32 `[M, N]` or `[batch, M, N]` (`out` when given)
 */
export function blasMatmul(
  lib: BlasLibrary,
  A: Tensor<"f32">,
  B: Tensor<"f32">,
  options: MatmulOptions = {},
): Tensor<"f32"> {
  const s = matmulShape(A, B, options);
  const { batch, M, K, N } = s;
  const { C, alpha, beta } = matmulOutput(A, B, s, options); // [batch, M, N]
  const result = options.out ?? new Tensor("f32", s.outShape, C);
  if (C.length === 0) return result;
  if (K === 0) {
    for (let i = 0; i < C.length; i++) C[i] = beta === 0 ? 0 : beta * (C[i] as number);
    return result;
  }
  const lda = s.transA ? M : K;
  const ldb = s.transB ? K : N;
  const ta = s.transA ? CBLAS.Trans : CBLAS.NoTrans;
  const tb = s.transB ? CBLAS.Trans : CBLAS.NoTrans;
  const a = A.data;
  const b = B.data;
  const sgemm = lib.symbols.cblas_sgemm;
  if (batch === 1) {
    sgemm(CBLAS.RowMajor, ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, C, N);
    return result;
  }
  for (let p = 0; p < batch; p++) {
    // subarray views are passed by pointer (no copies)
    const ap = a.subarray(p * s.strideA, p * s.strideA + M * K);
    const bp = b.subarray(p * s.strideB, p * s.strideB + K * N);
    sgemm(CBLAS.RowMajor, ta, tb, M, N, K, alpha, ap, lda, bp, ldb, beta, C.subarray(p * M * N, (p + 1) * M * N), N);
  }
  return result;
}

/**
 * In place `C = alpha·op(A)·op(B) + beta·C` on strided windows with one `cblas_sgemm` call
 * (the window offsets become pointer offsets, the strides leading dimensions).
 *
 * @param lib opened OpenBLAS
 * @param C f32 view `[M, N]`
 * @param A f32 view `[M, K]` (`[K, M]` with transA)
 * @param B f32 view `[K, N]` (`[N, K]` with transB)
 * @param options `transA`, `transB`, `alpha`, `beta`
 */
export function blasGemm(
  lib: BlasLibrary,
  C: MatrixView,
  A: MatrixView,
  B: MatrixView,
  options: GemmOptions = {},
): void {
  const { M, K, N, transA, transB, alpha, beta } = gemmShape(C, A, B, options);
  if (M === 0 || N === 0) return;
  const c = C.data.subarray(C.offset);
  if (K === 0) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) c[i * C.stride + j] = beta === 0 ? 0 : beta * (c[i * C.stride + j] as number);
    }
    return;
  }
  lib.symbols.cblas_sgemm(
    CBLAS.RowMajor,
    transA ? CBLAS.Trans : CBLAS.NoTrans,
    transB ? CBLAS.Trans : CBLAS.NoTrans,
    M,
    N,
    K,
    alpha,
    A.data.subarray(A.offset),
    A.stride,
    B.data.subarray(B.offset),
    B.stride,
    beta,
    c,
    C.stride,
  );
}
