// SPDX-License-Identifier: MIT
/**
 * Householder QR factorization in f64: `A = Q·R` with Q having orthonormal columns and R
 * upper triangular (the reduced, "thin" form, as `numpy.linalg.qr(mode="reduced")`).
 *
 * Used for seeded random orthogonal matrices: QR of a Gaussian matrix, then each column of
 * Q multiplied by the sign of `R[j, j]` (Mezzadri 2007), which makes the result Haar
 * distributed; {@link qr} returns R so callers can apply that fix.
 *
 * Householder convention (LAPACK `dgeqrf`): `H = I − β·v·vᵀ`, `v = x − r·e₁`,
 * `r = −sign(x₀)·‖x‖` (the sign avoids cancellation), so `R[j, j] = r` may be negative; a
 * column with nothing below the diagonal is left alone (`H = I`), as `dlarfg` does.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { finiteData, matrixOf } from "./_check.ts";

/** Result of {@link qr}: A `[m, n]` = Q `[m, k]` · R `[k, n]`, k = min(m, n). */
export interface QrResult {
  /** f64 `[m, k]` with orthonormal columns. */
  Q: Tensor<"f64">;
  /** f64 `[k, n]` upper triangular. */
  R: Tensor<"f64">;
}

/**
 * Reduced QR factorization by Householder reflections.
 *
 * @param A f64 `[m, n]`, finite
 * @returns `{ Q, R }` with Q f64 `[m, k]`, R f64 `[k, n]`, k = min(m, n)
 *
 * @example Q·R reproduces A
 * ```ts
 * import { qr } from "./qr.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const { Q, R } = qr(new Tensor("f64", [2, 2], new Float64Array([3, 1, 4, 2])));
 * const a10 = Q.get(1, 0) * R.get(0, 0);
 * assert.ok(Math.abs(a10 - 4) < 1e-12);
 * ```
 */
export function qr(A: Tensor<"f64">): QrResult {
  const [m, n] = matrixOf("qr", "A", A, "f64");
  finiteData("qr", "A", A);
  const k = Math.min(m, n);
  const W = Float64Array.from(A.data); // [m, n], becomes R in its upper triangle
  const V = new Float64Array(m * k); // Householder vectors, column j stored in rows j..m-1
  const beta = new Float64Array(k);
  const w = new Float64Array(Math.max(n, k)); // vᵀ·W scratch row

  for (let j = 0; j < k; j++) {
    let tail2 = 0; // ‖x[1:]‖²
    for (let i = j + 1; i < m; i++) tail2 += (W[i * n + j] as number) ** 2;
    if (tail2 === 0) continue; // nothing below the diagonal: H = I, as LAPACK dlarfg (beta stays 0)
    const x0 = W[j * n + j] as number;
    const norm = Math.sqrt(x0 * x0 + tail2);
    const r = x0 >= 0 ? -norm : norm;
    // v = x − r·e₀; vᵀv = 2‖x‖(‖x‖ + |x₀|)
    V[j * k + j] = x0 - r;
    for (let i = j + 1; i < m; i++) V[i * k + j] = W[i * n + j] as number;
    const b = 1 / (norm * (norm + Math.abs(x0)));
    beta[j] = b;
    applyReflector(W, n, V, k, j, b, j, m, w);
  }

  const R = new Float64Array(k * n); // [k, n]
  for (let i = 0; i < k; i++) {
    for (let c = i; c < n; c++) R[i * n + c] = W[i * n + c] as number;
  }
  // Q = H₀·H₁·…·H_{k−1}·I[:, :k], accumulated backwards so each reflector touches rows ≥ j.
  const Q = new Float64Array(m * k); // [m, k]
  for (let i = 0; i < k; i++) Q[i * k + i] = 1;
  for (let j = k - 1; j >= 0; j--) {
    const b = beta[j] as number;
    if (b !== 0) applyReflector(Q, k, V, k, j, b, j, m, w);
  }
  return { Q: new Tensor("f64", [m, k], Q), R: new Tensor("f64", [k, n], R) };
}

/**
 * M[j:, c0:] -= β·v·(vᵀ·M[j:, c0:]) for the reflector stored in column `col` of V
 * (rows j..m-1); M is row-major with `cols` columns.
 */
function applyReflector(
  M: Float64Array,
  cols: number,
  V: Float64Array,
  k: number,
  col: number,
  b: number,
  c0: number,
  m: number,
  w: Float64Array,
): void {
  const j = col;
  w.fill(0, c0, cols);
  for (let i = j; i < m; i++) {
    const vi = V[i * k + col] as number;
    if (vi === 0) continue;
    const ri = i * cols;
    for (let c = c0; c < cols; c++) w[c] = (w[c] as number) + vi * (M[ri + c] as number);
  }
  for (let i = j; i < m; i++) {
    const f = b * (V[i * k + col] as number);
    if (f === 0) continue;
    const ri = i * cols;
    for (let c = c0; c < cols; c++) M[ri + c] = (M[ri + c] as number) - f * (w[c] as number);
  }
}
