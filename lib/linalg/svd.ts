// SPDX-License-Identifier: MIT
/**
 * Thin singular value decomposition `A = U·diag(S)·Vᵀ` in f64 by one-sided Jacobi
 * (Hestenes 1958; Demmel & Veselić 1992): columns of A are rotated pairwise until they are
 * mutually orthogonal; their norms are then the singular values. Slower than
 * bidiagonalization for big matrices but short, and accurate to high relative precision.
 * Meant for low-rank work on layer-sized matrices (a few hundred columns); `rank` truncates.
 *
 * Storage trick: the columns being rotated are kept as contiguous rows of Aᵀ.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { finiteData, matrixOf } from "./_check.ts";

/** Result of {@link svd}: A `[m, n]` ≈ U `[m, r]` · diag(S) · V `[n, r]`ᵀ. */
export interface SvdResult {
  /** f64 `[m, r]` left singular vectors (orthonormal columns; zero columns where S is 0). */
  U: Tensor<"f64">;
  /** f64 `[r]` singular values, descending. */
  S: Float64Array;
  /** f64 `[n, r]` right singular vectors (orthonormal columns). */
  V: Tensor<"f64">;
}

/** Options of {@link svd}. */
export interface SvdOptions {
  /** Keep only the `rank` largest singular triplets (default min(m, n)). */
  rank?: number;
  /** Maximum Jacobi sweeps (default 60; convergence is usually reached in 6–12). */
  maxSweeps?: number;
}

/**
 * Thin (optionally truncated) SVD.
 *
 * @param A f64 `[m, n]`, finite
 * @param options `rank` to truncate, `maxSweeps`
 * @returns `{ U, S, V }` with r = rank ?? min(m, n)
 *
 * @example Singular values of a diagonal matrix
 * ```ts
 * import { svd } from "./svd.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const { S } = svd(new Tensor("f64", [2, 2], new Float64Array([1, 0, 0, -3])));
 * assert.deepEqual(Array.from(S), [3, 1]);
 * ```
 */
export function svd(A: Tensor<"f64">, options: SvdOptions = {}): SvdResult {
  const [m, n] = matrixOf("svd", "A", A, "f64");
  finiteData("svd", "A", A);
  const k = Math.min(m, n);
  const rank = options.rank ?? k;
  if (!Number.isInteger(rank) || rank < 0 || rank > k) {
    throw new RangeError(`svd: Cannot keep rank ${rank} of A of shape [${m}, ${n}]: rank must be in 0..${k}`);
  }
  const maxSweeps = options.maxSweeps ?? 60;
  // Rotate the columns of the taller orientation: B = A if m >= n, else Aᵀ (then swap U and V).
  const tall = m >= n;
  const rows = tall ? m : n; // length of each column vector
  const cols = tall ? n : m; // number of column vectors (= k)
  const G = new Float64Array(cols * rows); // [cols, rows]: row c = column c of B
  const a = A.data;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      if (tall) G[j * rows + i] = a[i * n + j] as number;
      else G[i * rows + j] = a[i * n + j] as number;
    }
  }
  const Vt = new Float64Array(cols * cols); // [cols, cols]: row c = right singular vector c
  for (let c = 0; c < cols; c++) Vt[c * cols + c] = 1;

  const eps = 2 ** -52;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let rotated = false;
    for (let p = 0; p < cols - 1; p++) {
      const rp = p * rows;
      for (let q = p + 1; q < cols; q++) {
        const rq = q * rows;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < rows; i++) {
          const x = G[rp + i] as number;
          const y = G[rq + i] as number;
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= eps * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        // Rotation angle that zeroes the (p, q) entry of BᵀB (Rutishauser's formulas).
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotateRows(G, rp, rq, rows, c, s);
        rotateRows(Vt, p * cols, q * cols, cols, c, s);
      }
    }
    if (!rotated) break;
  }

  // Singular values are the column norms; sort descending.
  const sigma = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let i = 0; i < rows; i++) s += (G[c * rows + i] as number) ** 2;
    sigma[c] = Math.sqrt(s);
  }
  const order = Array.from({ length: cols }, (_, i) => i).sort((x, y) => (sigma[y] as number) - (sigma[x] as number));

  const S = new Float64Array(rank);
  const left = new Float64Array(rows * rank); // [rows, rank]
  const right = new Float64Array(cols * rank); // [cols, rank]
  for (let r = 0; r < rank; r++) {
    const c = order[r] as number;
    const sv = sigma[c] as number;
    S[r] = sv;
    const inv = sv > 0 ? 1 / sv : 0;
    for (let i = 0; i < rows; i++) left[i * rank + r] = (G[c * rows + i] as number) * inv;
    for (let i = 0; i < cols; i++) right[i * rank + r] = Vt[c * cols + i] as number;
  }
  const L = new Tensor("f64", [rows, rank], left);
  const R = new Tensor("f64", [cols, rank], right);
  return tall ? { U: L, S, V: R } : { U: R, S, V: L };
}

/** (x, y) ← (c·x − s·y, s·x + c·y) for rows at offsets `px`, `py` of length `len`. */
function rotateRows(M: Float64Array, px: number, py: number, len: number, c: number, s: number): void {
  for (let i = 0; i < len; i++) {
    const x = M[px + i] as number;
    const y = M[py + i] as number;
    M[px + i] = c * x - s * y;
    M[py + i] = s * x + c * y;
  }
}
