// SPDX-License-Identifier: MIT
/**
 * Babai's nearest-plane algorithm (Babai 1986) for the closest-vector problem on the lattice
 * of the layer Hessian — the test oracle for GPTQ ("The Geometry of LLM Quantization: GPTQ as
 * Babai's Nearest Plane Algorithm", Chen et al. 2025: GPTQ run back-to-front, from the last
 * column to the first, is mathematically identical to it).
 *
 * Each row w of W is a target; the loss `(w − q)ᵀ·H·(w − q) = ‖R·(w − q)‖²` with `H = Rᵀ·R`
 * (R upper triangular, the transposed lower Cholesky factor) is minimised coordinate by
 * coordinate from the last to the first, each coordinate snapped to the quantization grid:
 *
 *     y = R·w
 *     for i = n−1 … 0:  q_i = Q(y_i / R_ii);   y[0..i] −= R[0..i, i]·q_i
 *
 * where `y_i / R_ii = w_i + Σ_{j>i} (R_ij / R_ii)(w_j − q_j)` is the nearest-plane projection.
 * Everything is f64 except the quantizer, which rounds exactly like the ops backends
 * (`fround` input, `invScale = fround(1/scale)`, ties to even), so codes can be compared bit
 * for bit with GPTQ's. Nothing here is fast: it is the readable reference.
 *
 * Symbols: `W` `[rows, cols]`, `H` `[cols, cols]`, `R` upper factor, `y` residual target.
 *
 * @module
 */
import { assertFinite, dims2, formatShape, Tensor } from "../tensor/tensor.ts";
import { roundHalfEven } from "../tensor/numeric.ts";
import type { IntQuantParams } from "../ops/ops.ts";
import { cholesky } from "../linalg/cholesky.ts";

/** Result of {@link babaiNearestPlane}. */
export interface BabaiResult {
  /** Dequantized weight f32 `[rows, cols]`. */
  weight: Tensor<"f32">;
  /** Integer codes u8 `[rows, cols]`. */
  codes: Tensor<"u8">;
}

/**
 * Quantizes each row of W to the grid by Babai's nearest plane on the lattice of H.
 *
 * @param W f32 `[rows, cols]`, finite
 * @param H f64 `[cols, cols]` symmetric positive definite (no damping is added)
 * @param params fixed integer parameters `scale`/`zero` f32 `[rows, G]` (or `[1, G]`), groups of
 *   `cols / G` consecutive columns, and `maxq`
 * @returns dequantized weights and codes
 * @throws {NotPositiveDefiniteError} when H is not positive definite; {TypeError} on shapes
 *
 * @example With a diagonal H nearest plane is plain rounding
 * ```ts
 * import { babaiNearestPlane } from "./babai.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const W = new Tensor("f32", [1, 2], new Float32Array([0.3, 0.8]));
 * const H = new Tensor("f64", [2, 2], new Float64Array([2, 0, 0, 3]));
 * const p = (v: number) => new Tensor("f32", [1, 1], new Float32Array([v]));
 * const { codes } = babaiNearestPlane(W, H, { scale: p(0.5), zero: p(0), maxq: 3 });
 * assert.deepEqual(Array.from(codes.data), [1, 2]);
 * ```
 */
export function babaiNearestPlane(W: Tensor<"f32">, H: Tensor<"f64">, params: IntQuantParams): BabaiResult {
  const fn = "babaiNearestPlane";
  const [rows, n] = dims2(fn, "W", W);
  if (H.dtype !== "f64" || H.rank !== 2 || H.shape[0] !== n || H.shape[1] !== n) {
    throw new TypeError(
      `${fn}: Cannot use H of shape ${formatShape(H.shape)} with W of shape ${
        formatShape(W.shape)
      }: expected f64 [${n}, ${n}]`,
    );
  }
  const G = params.scale.shape[1] as number;
  const pr = params.scale.shape[0] as number;
  if (params.scale.rank !== 2 || n % G !== 0 || (pr !== rows && pr !== 1)) {
    throw new TypeError(
      `${fn}: Cannot use params of shape ${formatShape(params.scale.shape)} with W of shape ${
        formatShape(W.shape)
      }: expected [${rows}, G] or [1, G] with G dividing ${n}`,
    );
  }
  assertFinite(fn, "W", W);
  const gs = n / G;
  const maxq = params.maxq;
  const L = cholesky(H, { hint: "Babai needs a positive-definite H; add damping first" }).data; // R = Lᵀ
  const Q = new Float32Array(rows * n); // [rows, n]
  const codes = new Uint8Array(rows * n); // [rows, n]
  const y = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    // y = R·w, R[i, j] = L[j, i] for j >= i.
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = i; j < n; j++) s += (L[j * n + i] as number) * (W.data[r * n + j] as number);
      y[i] = s;
    }
    const p0 = (pr === 1 ? 0 : r) * G;
    for (let i = n - 1; i >= 0; i--) {
      const g = p0 + Math.floor(i / gs);
      const s = params.scale.data[g] as number;
      const z = params.zero.data[g] as number;
      const inv = Math.fround(1 / s);
      const t = Math.fround((y[i] as number) / (L[i * n + i] as number));
      let q = roundHalfEven(Math.fround(t * inv)) + z;
      q = q < 0 ? 0 : q > maxq ? maxq : q;
      const wq = Math.fround(s * (q - z));
      codes[r * n + i] = q;
      Q[r * n + i] = wq;
      // Column i of R is row i of L: R[j, i] = L[i, j], j <= i.
      for (let j = 0; j <= i; j++) y[j] = (y[j] as number) - (L[i * n + j] as number) * wq;
    }
  }
  return { weight: new Tensor("f32", [rows, n], Q), codes: new Tensor("u8", [rows, n], codes) };
}
