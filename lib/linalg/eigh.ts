// SPDX-License-Identifier: MIT
/**
 * Symmetric eigendecomposition `A = V·diag(λ)·Vᵀ` in f64 (as `numpy.linalg.eigh`):
 * Householder tridiagonalization followed by the implicit QL algorithm with Wilkinson
 * shifts. This is EISPACK's `tred2` / `tql2` as transcribed in the public-domain JAMA
 * library (`EigenvalueDecomposition.java`), with one change for speed: the working matrix
 * is stored transposed (`W = Vᵀ`), so every hot loop runs along a contiguous row.
 *
 * Cost ≈ 9n³ flops (n = 512: ~1 s in plain TypeScript); for large Hessians prefer the
 * LAPACK path of the blas backend.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { squareF64 } from "./_check.ts";

/** Result of {@link eigh}. */
export interface EighResult {
  /** f64 `[n]` eigenvalues in ascending order. */
  values: Float64Array;
  /** f64 `[n, n]` orthonormal eigenvectors: column j belongs to `values[j]` (numpy convention). */
  vectors: Tensor<"f64">;
}

/**
 * Eigenvalues and eigenvectors of a symmetric matrix.
 *
 * @param A f64 `[n, n]` symmetric (the full matrix is read; it should be symmetric)
 * @returns `{ values, vectors }`, values ascending, vectors f64 `[n, n]` by column
 *
 * @example Eigenvalues of a 2×2 matrix
 * ```ts
 * import { eigh } from "./eigh.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const { values } = eigh(new Tensor("f64", [2, 2], new Float64Array([2, 1, 1, 2])));
 * assert.ok(Math.abs(values[0]! - 1) < 1e-12 && Math.abs(values[1]! - 3) < 1e-12);
 * ```
 */
export function eigh(A: Tensor<"f64">): EighResult {
  const n = squareF64("eigh", "A", A);
  const W = Float64Array.from(A.data); // W[b*n + a] ≡ JAMA's V[a][b]; A symmetric so W = Aᵀ = A
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n > 0) {
    tred2(n, W, d, e);
    tql2(n, W, d, e);
  }
  const vectors = new Float64Array(n * n); // [n, n], column j = eigenvector j
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < n; k++) vectors[k * n + j] = W[j * n + k] as number;
  }
  return { values: d, vectors: new Tensor("f64", [n, n], vectors) };
}

/** Householder reduction to tridiagonal form (JAMA tred2, on the transposed storage). */
function tred2(n: number, W: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let j = 0; j < n; j++) d[j] = W[j * n + n - 1] as number;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k] as number);
    if (scale === 0) {
      e[i] = d[i - 1] as number;
      for (let j = 0; j < i; j++) {
        d[j] = W[j * n + i - 1] as number;
        W[j * n + i] = 0;
        W[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = (d[k] as number) / scale;
        h += (d[k] as number) ** 2;
      }
      let f = d[i - 1] as number;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        const rj = j * n;
        f = d[j] as number;
        W[i * n + j] = f;
        g = (e[j] as number) + (W[rj + j] as number) * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const v = W[rj + k] as number;
          g += v * (d[k] as number);
          e[k] = (e[k] as number) + v * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = (e[j] as number) / h;
        f += (e[j] as number) * (d[j] as number);
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = (e[j] as number) - hh * (d[j] as number);
      for (let j = 0; j < i; j++) {
        const rj = j * n;
        f = d[j] as number;
        g = e[j] as number;
        for (let k = j; k <= i - 1; k++) {
          W[rj + k] = (W[rj + k] as number) - (f * (e[k] as number) + g * (d[k] as number));
        }
        d[j] = W[rj + i - 1] as number;
        W[rj + i] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    const ri = i * n;
    const ri1 = (i + 1) * n;
    W[ri + n - 1] = W[ri + i] as number;
    W[ri + i] = 1;
    const h = d[i + 1] as number;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = (W[ri1 + k] as number) / h;
      for (let j = 0; j <= i; j++) {
        const rj = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += (W[ri1 + k] as number) * (W[rj + k] as number);
        for (let k = 0; k <= i; k++) W[rj + k] = (W[rj + k] as number) - g * (d[k] as number);
      }
    }
    for (let k = 0; k <= i; k++) W[ri1 + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = W[j * n + n - 1] as number;
    W[j * n + n - 1] = 0;
  }
  W[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL iterations on the tridiagonal (d, e), sorting the result (JAMA tql2). */
function tql2(n: number, W: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i] as number;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l] as number) + Math.abs(e[l] as number));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m] as number) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      do {
        let g = d[l] as number;
        let p = ((d[l + 1] as number) - g) / (2 * (e[l] as number));
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = (e[l] as number) / (p + r);
        d[l + 1] = (e[l] as number) * (p + r);
        const dl1 = d[l + 1] as number;
        let h = g - (d[l] as number);
        for (let i = l + 2; i < n; i++) d[i] = (d[i] as number) - h;
        f += h;
        p = d[m] as number;
        let c = 1;
        let c2 = 1;
        let c3 = 1;
        let s = 0;
        let s2 = 0;
        const el1 = e[l + 1] as number;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * (e[i] as number);
          h = c * p;
          r = Math.hypot(p, e[i] as number);
          e[i + 1] = s * r;
          s = (e[i] as number) / r;
          c = p / r;
          p = c * (d[i] as number) - s * g;
          d[i + 1] = h + s * (c * g + s * (d[i] as number));
          // Rotate eigenvector rows i and i+1 (columns of JAMA's V).
          const ri = i * n;
          const ri1 = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const hk = W[ri1 + k] as number;
            const vk = W[ri + k] as number;
            W[ri1 + k] = s * vk + c * hk;
            W[ri + k] = c * vk - s * hk;
          }
        }
        p = (-s * s2 * c3 * el1 * (e[l] as number)) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l] as number) > eps * tst1);
    }
    d[l] = (d[l] as number) + f;
    e[l] = 0;
  }
  // Selection sort ascending, swapping eigenvector rows along.
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let p = d[i] as number;
    for (let j = i + 1; j < n; j++) {
      if ((d[j] as number) < p) {
        k = j;
        p = d[j] as number;
      }
    }
    if (k !== i) {
      d[k] = d[i] as number;
      d[i] = p;
      const ri = i * n;
      const rk = k * n;
      for (let j = 0; j < n; j++) {
        const t = W[ri + j] as number;
        W[ri + j] = W[rk + j] as number;
        W[rk + j] = t;
      }
    }
  }
}
