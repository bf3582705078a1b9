// SPDX-License-Identifier: MIT
/**
 * `accumulateHessian` through `cblas_dsyrk`: each chunk of X is widened to f64 (exact) and
 * `H += alpha·XᵀX` runs on the upper triangle in f64, like the ts backend; the lower
 * triangle is then mirrored.
 *
 * @module
 */
import type { Tensor } from "../../tensor/tensor.ts";
import { checkFinite } from "../ts/_check.ts";
import { checkHessianArgs, symmetrizeFromUpper } from "../ts/hessian.ts";
import { CBLAS } from "./_fortran.ts";
import type { BlasLibrary } from "./loader.ts";

/** Elements of X widened to f64 per dsyrk call (32 MiB of f64). */
const CHUNK_ELEMENTS = 1 << 22;

/**
 * In place `H += alpha · XᵀX` with dsyrk; same contract as the ts `accumulateHessian`.
 *
 * @param lib opened OpenBLAS
 * @param H f64 `[n, n]` symmetric (upper triangle read, full matrix written)
 * @param X f32 `[tokens, n]`, finite
 * @param alpha finite scale (default 1)
 */
export function blasAccumulateHessian(lib: BlasLibrary, H: Tensor<"f64">, X: Tensor<"f32">, alpha = 1): void {
  const fn = "accumulateHessian";
  const n = checkHessianArgs(fn, H, X, alpha);
  const tokens = X.shape[0] as number;
  if (n === 0) return;
  checkFinite(fn, "X", X); // before touching H, as the ts backend
  const x = X.data;
  const chunkRows = Math.max(1, Math.min(tokens, Math.floor(CHUNK_ELEMENTS / n)));
  const xc = new Float64Array(chunkRows * n); // [chunkRows, n] f64 copy of a chunk of X
  for (let t0 = 0; t0 < tokens; t0 += chunkRows) {
    const t1 = Math.min(tokens, t0 + chunkRows);
    const len = (t1 - t0) * n;
    for (let i = 0; i < len; i++) xc[i] = x[t0 * n + i] as number;
    // Row-major C upper += alpha · AᵀA with A = chunk [t1 - t0, n].
    lib.symbols.cblas_dsyrk(CBLAS.RowMajor, CBLAS.Upper, CBLAS.Trans, n, t1 - t0, alpha, xc, n, 1, H.data, n);
  }
  symmetrizeFromUpper(H.data, n);
}
