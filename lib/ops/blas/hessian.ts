// SPDX-License-Identifier: MIT
/**
 * `accumulateHessian` through syrk on the upper triangle, then mirrored:
 * - precision "f64" (default, as the ts backend): X is widened to f64 (exact) chunk by chunk into
 *   a reused scratch buffer and `cblas_dsyrk` accumulates straight into H;
 * - precision "f32": `cblas_ssyrk` reads X where it lies (no copy) into a reused f32 scratch
 *   `S = XᵀX`, then `H += alpha·S` in f64 — numpy's and PyTorch's arithmetic on f32 X, with H
 *   kept in f64 so that small contributions survive many calls.
 *
 * @module
 */
import type { Tensor } from "../../tensor/tensor.ts";
import type { HessianOptions } from "../ops.ts";
import { checkFinite } from "../ts/_check.ts";
import { checkHessianArgs, symmetrizeFromUpper } from "../ts/hessian.ts";
import { Workspace } from "../workspace.ts";
import { CBLAS } from "./_fortran.ts";
import type { BlasLibrary } from "./loader.ts";

/** Elements of X widened to f64 per dsyrk call (8 MiB of f64: stays in the last-level cache's neighbourhood). */
const CHUNK_ELEMENTS = 1 << 20;

/** Scratch shared by every call (the backend is synchronous, so calls never overlap). */
const scratch = new Workspace();

/**
 * In place `H += alpha · XᵀX` with dsyrk or ssyrk; same contract as the ts `accumulateHessian`.
 *
 * @param lib opened OpenBLAS
 * @param H f64 `[n, n]` symmetric (upper triangle read, full matrix written)
 * @param X f32 `[tokens, n]`, finite
 * @param alpha finite scale (default 1)
 * @param options `precision` "f64" (default) or "f32" (see the module doc)
 */
export function blasAccumulateHessian(
  lib: BlasLibrary,
  H: Tensor<"f64">,
  X: Tensor<"f32">,
  alpha = 1,
  options: HessianOptions = {},
): void {
  const fn = "accumulateHessian";
  const n = checkHessianArgs(fn, H, X, alpha);
  const precision = options.precision ?? "f64";
  if (precision !== "f32" && precision !== "f64") {
    throw new RangeError(`${fn}: Cannot accumulate in precision '${precision}': expected "f32" or "f64"`);
  }
  const tokens = X.shape[0] as number;
  if (n === 0 || tokens === 0) return;
  checkFinite(fn, "X", X); // before touching H, as the ts backend
  const x = X.data;
  const h = H.data;
  if (precision === "f32") {
    const S = scratch.f32("ssyrk", n * n); // upper triangle written by ssyrk (beta = 0)
    lib.symbols.cblas_ssyrk(CBLAS.RowMajor, CBLAS.Upper, CBLAS.Trans, n, tokens, 1, x, n, 0, S, n);
    for (let i = 0; i < n; i++) {
      const o = i * n;
      for (let j = i; j < n; j++) h[o + j] = (h[o + j] as number) + alpha * (S[o + j] as number);
    }
  } else {
    const chunkRows = Math.max(1, Math.min(tokens, Math.floor(CHUNK_ELEMENTS / n)));
    const xc = scratch.f64("dsyrk", chunkRows * n); // [chunkRows, n] f64 copy of a chunk of X
    for (let t0 = 0; t0 < tokens; t0 += chunkRows) {
      const t1 = Math.min(tokens, t0 + chunkRows);
      const len = (t1 - t0) * n;
      xc.set(x.subarray(t0 * n, t0 * n + len)); // f32 → f64, exact
      // Row-major C upper += alpha · AᵀA with A = chunk [t1 - t0, n].
      lib.symbols.cblas_dsyrk(CBLAS.RowMajor, CBLAS.Upper, CBLAS.Trans, n, t1 - t0, alpha, xc, n, 1, h, n);
    }
  }
  symmetrizeFromUpper(h, n);
}
