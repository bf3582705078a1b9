// SPDX-License-Identifier: MIT
/**
 * `matmul` through `cblas_sgemm` (row-major CBLAS; transposes are flags, not copies).
 * Accumulation is whatever OpenBLAS does (f32 with FMA), so results differ from the ts
 * backend's f64-accumulated ones by f32 rounding only.
 *
 * @module
 */
import { Tensor } from "../../tensor/tensor.ts";
import type { MatmulOptions } from "../ops.ts";
import { matmulShape } from "../ts/_matmul_shape.ts";
import { CBLAS } from "./_fortran.ts";
import type { BlasLibrary } from "./loader.ts";

/**
 * C = op(A)·op(B) with `cblas_sgemm`; shapes and errors exactly as the ts `matmul`.
 *
 * @param lib opened OpenBLAS
 * @param A f32 `[M, K]` (`[K, M]` with transA) or `[batch, ., .]`
 * @param B f32 `[K, N]` (`[N, K]` with transB) or `[batch, ., .]` (2-D broadcasts)
 * @param options `transA`, `transB`
 * @returns f32 `[M, N]` or `[batch, M, N]`
 */
export function blasMatmul(
  lib: BlasLibrary,
  A: Tensor<"f32">,
  B: Tensor<"f32">,
  options: MatmulOptions = {},
): Tensor<"f32"> {
  const s = matmulShape(A, B, options);
  const { batch, M, K, N } = s;
  const C = new Float32Array(batch * M * N); // [batch, M, N]
  if (C.length === 0 || K === 0) return new Tensor("f32", s.outShape, C);
  const lda = s.transA ? M : K;
  const ldb = s.transB ? K : N;
  const ta = s.transA ? CBLAS.Trans : CBLAS.NoTrans;
  const tb = s.transB ? CBLAS.Trans : CBLAS.NoTrans;
  const a = A.data;
  const b = B.data;
  for (let p = 0; p < batch; p++) {
    // subarray views are passed by pointer (no copies)
    lib.symbols.cblas_sgemm(
      CBLAS.RowMajor,
      ta,
      tb,
      M,
      N,
      K,
      1,
      a.subarray(p * s.strideA, p * s.strideA + M * K),
      lda,
      b.subarray(p * s.strideB, p * s.strideB + K * N),
      ldb,
      0,
      C.subarray(p * M * N, (p + 1) * M * N),
      N,
    );
  }
  return new Tensor("f32", s.outShape, C);
}
