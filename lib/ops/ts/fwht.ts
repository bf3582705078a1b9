// SPDX-License-Identifier: MIT
/**
 * Fast Walsh–Hadamard transform along the rows of a 2-D f32 tensor, for sizes
 * `n = m·2^k` with `H_n = H_m ⊗ H_P` (P = 2^k, QuaRot's `matmul_hadU` factorization):
 *
 *     x'[i] = x[i] · signs[i] · scale
 *     y[a·P + b] = Σ_{a', b'} H_m[a, a'] · H_P[b, b'] · x'[a'·P + b']
 *
 * with the Sylvester matrix `H_P[b, b'] = (−1)^popcount(b & b')` (symmetric) and `H_m` a
 * ±1 matrix given by the caller (`hadamardM`, e.g. a stored Paley H₁₂; m = 1 when absent).
 * For a row vector this is `y = x·diag(signs)·H_nᵀ·scale`; it equals `x·diag(signs)·H_n·scale`
 * whenever H_m is symmetric (always true for m = 1). Default scale 1/√n makes the transform
 * orthonormal when H_m is a Hadamard matrix.
 *
 * Implementation: per row, one pass applies signs·scale, then in-place butterflies on each
 * contiguous P-block — the log2(P) mod 4 lowest stages on contiguous elements first, then
 * radix-16 passes (four Sylvester stages per pass over memory, a quarter of radix-2's
 * traffic), then, for m > 1, the small dense H_m mixes the m blocks. Intermediate sums
 * inside a pass are f64 (JS numbers); stores are f32.
 *
 * @module
 */
import { formatShape, Tensor } from "../../tensor/tensor.ts";
import { matrix } from "./_check.ts";

/** Options of {@link fwht}. */
export interface FwhtOptions {
  /** f32 `[n]` multipliers applied to x first (usually random ±1). */
  signs?: Float32Array;
  /** f32 `[m, m]` ±1 Hadamard factor H_m for n = m·2^k with m > 1. */
  hadamardM?: Tensor<"f32">;
  /** Output scale (default 1/√n). */
  scale?: number;
  /** f32 `[rows, n]` to write the result into (may be x itself: an in-place transform). */
  out?: Tensor<"f32">;
}

/**
 * Walsh–Hadamard transform of each row.
 *
 * @param x f32 `[rows, n]`, n = m·2^k (m = 1 without `hadamardM`)
 * @param options `signs` f32 `[n]`, `hadamardM` f32 `[m, m]` of ±1, `scale` (default 1/√n),
 *   `out` f32 `[rows, n]` to write into (x itself for in place)
 * @returns f32 `[rows, n]` (`out` when given)
 * @throws {TypeError} on shapes (n not m·2^k, signs length); {RangeError} on non-±1 H_m or bad scale
 *
 * @example Orthonormal transform of a 4-vector
 * ```ts
 * import { fwht } from "./fwht.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const y = fwht(new Tensor("f32", [1, 4], new Float32Array([1, 0, 0, 0])));
 * assert.deepEqual(Array.from(y.data), [0.5, 0.5, 0.5, 0.5]);
 * ```
 */
export function fwht(x: Tensor<"f32">, options: FwhtOptions = {}): Tensor<"f32"> {
  const fn = "fwht";
  const [rows, n] = matrix(fn, "x", x, "f32");
  const { m, P, logP, hm } = fwhtFactors(fn, n, options.hadamardM);
  const signs = options.signs;
  if (signs !== undefined) {
    if (!(signs instanceof Float32Array) || signs.length !== n) {
      throw new TypeError(
        `${fn}: Cannot use 'signs' of length ${signs.length} with x of shape ${formatShape(x.shape)}: expected ${n}`,
      );
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(signs[i] as number)) {
        throw new RangeError(`${fn}: Cannot use 'signs': element ${i} is ${signs[i]} (NaN/Inf not allowed)`);
      }
    }
  }
  const scale = options.scale ?? 1 / Math.sqrt(n);
  if (!Number.isFinite(scale)) throw new RangeError(`${fn}: Cannot scale by ${scale}: scale must be finite`);

  const mult = new Float64Array(n); // signs[i] · scale
  for (let i = 0; i < n; i++) mult[i] = (signs === undefined ? 1 : (signs[i] as number)) * scale;
  const src = x.data;
  const out = options.out;
  if (out !== undefined && (out.dtype !== "f32" || out.rank !== 2 || out.shape[0] !== rows || out.shape[1] !== n)) {
    throw new TypeError(
      `${fn}: Cannot write into 'out' of dtype ${out.dtype} and shape ${
        formatShape(out.shape)
      }: expected f32 [${rows}, ${n}]`,
    );
  }
  if (out !== undefined && out.data !== src && out.data.buffer === src.buffer) {
    const a = out.data, b = src;
    if (a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength) {
      throw new TypeError(
        `${fn}: Cannot write into 'out': it partly overlaps x (pass x itself for an in-place transform)`,
      );
    }
  }
  // Rows are transformed one at a time in the output's memory (each row, 16 KiB at n = 4096,
  // stays in L1 across all passes), so `out` needs no scratch of its own.
  const y = out === undefined ? new Float32Array(rows * n) : (out.data as Float32Array); // [rows, n]
  const tmp = m > 1 ? new Float32Array(n) : null; // one row, for the H_m mix
  const acc = m > 1 ? new Float64Array(P) : null;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    for (let i = 0; i < n; i++) y[o + i] = (src[o + i] as number) * (mult[i] as number);
    for (let a = 0; a < m; a++) fwhtBlock(y, o + a * P, P, logP);
    if (tmp !== null && acc !== null && hm !== null) {
      tmp.set(y.subarray(o, o + n));
      // y[a·P + b] = Σ_a' H_m[a, a'] · t[a'·P + b]
      for (let a = 0; a < m; a++) {
        acc.fill(0);
        for (let a2 = 0; a2 < m; a2++) {
          const h = hm[a * m + a2] as number;
          const t0 = a2 * P;
          if (h > 0) { for (let b = 0; b < P; b++) acc[b] = (acc[b] as number) + (tmp[t0 + b] as number); }
          else for (let b = 0; b < P; b++) acc[b] = (acc[b] as number) - (tmp[t0 + b] as number);
        }
        y.set(acc, o + a * P);
      }
    }
  }
  return out ?? new Tensor("f32", [rows, n], y);
}

/** Splits n = m·P (P = 2^logP) and validates H_m; shared with other backends. */
export function fwhtFactors(
  fn: string,
  n: number,
  hadamardM: Tensor<"f32"> | undefined,
): { m: number; P: number; logP: number; hm: Float32Array | null } {
  let m = 1;
  let hm: Float32Array | null = null;
  if (hadamardM !== undefined) {
    const [m1, m2] = matrix(fn, "hadamardM", hadamardM, "f32");
    if (m1 !== m2 || m1 < 1) {
      throw new TypeError(`${fn}: Cannot use 'hadamardM' of shape ${formatShape(hadamardM.shape)}: expected [m, m]`);
    }
    m = m1;
    hm = hadamardM.data;
    for (let i = 0; i < hm.length; i++) {
      if (hm[i] !== 1 && hm[i] !== -1) {
        throw new RangeError(
          `${fn}: Cannot use 'hadamardM' of shape ${formatShape(hadamardM.shape)}: element ${i} is ${
            hm[i]
          }, expected ±1`,
        );
      }
    }
  }
  const P = n / m;
  const logP = Math.log2(P);
  if (n < 1 || !Number.isInteger(P) || !Number.isInteger(logP)) {
    throw new TypeError(
      `${fn}: Cannot transform rows of length ${n}: n must be ${m > 1 ? `${m}·2^k` : "a power of 2"} (m = ${m})`,
    );
  }
  return { m, P, logP, hm };
}

/** In-place Sylvester transform H_P of y[o .. o+P), P = 2^logP. */
export function fwhtBlock(y: Float32Array, o: number, P: number, logP: number): void {
  const end = o + P;
  // The log2(P) mod 4 lowest stages run first on contiguous elements; the rest in radix-16
  // passes (four stages per pass over memory, values held in registers).
  const rem = logP % 4;
  if (rem === 1) {
    for (let i = o; i < end; i += 2) {
      const a = y[i] as number;
      const b = y[i + 1] as number;
      y[i] = a + b;
      y[i + 1] = a - b;
    }
  } else if (rem === 2) {
    for (let i = o; i < end; i += 4) {
      const x0 = y[i] as number;
      const x1 = y[i + 1] as number;
      const x2 = y[i + 2] as number;
      const x3 = y[i + 3] as number;
      const a0 = x0 + x1;
      const a1 = x0 - x1;
      const a2 = x2 + x3;
      const a3 = x2 - x3;
      y[i] = a0 + a2;
      y[i + 1] = a1 + a3;
      y[i + 2] = a0 - a2;
      y[i + 3] = a1 - a3;
    }
  } else if (rem === 3) {
    for (let i = o; i < end; i += 8) {
      const x0 = y[i] as number;
      const x1 = y[i + 1] as number;
      const x2 = y[i + 2] as number;
      const x3 = y[i + 3] as number;
      const x4 = y[i + 4] as number;
      const x5 = y[i + 5] as number;
      const x6 = y[i + 6] as number;
      const x7 = y[i + 7] as number;
      const a0 = x0 + x1;
      const a1 = x0 - x1;
      const a2 = x2 + x3;
      const a3 = x2 - x3;
      const a4 = x4 + x5;
      const a5 = x4 - x5;
      const a6 = x6 + x7;
      const a7 = x6 - x7;
      const b0 = a0 + a2;
      const b1 = a1 + a3;
      const b2 = a0 - a2;
      const b3 = a1 - a3;
      const b4 = a4 + a6;
      const b5 = a5 + a7;
      const b6 = a4 - a6;
      const b7 = a5 - a7;
      y[i] = b0 + b4;
      y[i + 1] = b1 + b5;
      y[i + 2] = b2 + b6;
      y[i + 3] = b3 + b7;
      y[i + 4] = b0 - b4;
      y[i + 5] = b1 - b5;
      y[i + 6] = b2 - b6;
      y[i + 7] = b3 - b7;
    }
  }
  for (let h = 1 << rem; h < P; h *= 16) radix16Pass(y, o, end, h);
}

/** Four Sylvester stages (strides h, 2h, 4h, 8h) on groups (i, i+h, …, i+15h). */
function radix16Pass(y: Float32Array, o: number, end: number, h: number): void {
  const step = 16 * h;
  for (let base = o; base < end; base += step) {
    const stop = base + h;
    for (let i = base; i < stop; i++) {
      const i1 = i + h;
      const i2 = i1 + h;
      const i3 = i2 + h;
      const i4 = i3 + h;
      const i5 = i4 + h;
      const i6 = i5 + h;
      const i7 = i6 + h;
      const i8 = i7 + h;
      const i9 = i8 + h;
      const i10 = i9 + h;
      const i11 = i10 + h;
      const i12 = i11 + h;
      const i13 = i12 + h;
      const i14 = i13 + h;
      const i15 = i14 + h;
      const x0 = y[i] as number;
      const x1 = y[i1] as number;
      const x2 = y[i2] as number;
      const x3 = y[i3] as number;
      const x4 = y[i4] as number;
      const x5 = y[i5] as number;
      const x6 = y[i6] as number;
      const x7 = y[i7] as number;
      const x8 = y[i8] as number;
      const x9 = y[i9] as number;
      const x10 = y[i10] as number;
      const x11 = y[i11] as number;
      const x12 = y[i12] as number;
      const x13 = y[i13] as number;
      const x14 = y[i14] as number;
      const x15 = y[i15] as number;
      // stride h
      const a0 = x0 + x1;
      const a1 = x0 - x1;
      const a2 = x2 + x3;
      const a3 = x2 - x3;
      const a4 = x4 + x5;
      const a5 = x4 - x5;
      const a6 = x6 + x7;
      const a7 = x6 - x7;
      const a8 = x8 + x9;
      const a9 = x8 - x9;
      const a10 = x10 + x11;
      const a11 = x10 - x11;
      const a12 = x12 + x13;
      const a13 = x12 - x13;
      const a14 = x14 + x15;
      const a15 = x14 - x15;
      // stride 2h
      const b0 = a0 + a2;
      const b2 = a0 - a2;
      const b1 = a1 + a3;
      const b3 = a1 - a3;
      const b4 = a4 + a6;
      const b6 = a4 - a6;
      const b5 = a5 + a7;
      const b7 = a5 - a7;
      const b8 = a8 + a10;
      const b10 = a8 - a10;
      const b9 = a9 + a11;
      const b11 = a9 - a11;
      const b12 = a12 + a14;
      const b14 = a12 - a14;
      const b13 = a13 + a15;
      const b15 = a13 - a15;
      // stride 4h
      const c0 = b0 + b4;
      const c4 = b0 - b4;
      const c1 = b1 + b5;
      const c5 = b1 - b5;
      const c2 = b2 + b6;
      const c6 = b2 - b6;
      const c3 = b3 + b7;
      const c7 = b3 - b7;
      const c8 = b8 + b12;
      const c12 = b8 - b12;
      const c9 = b9 + b13;
      const c13 = b9 - b13;
      const c10 = b10 + b14;
      const c14 = b10 - b14;
      const c11 = b11 + b15;
      const c15 = b11 - b15;
      // stride 8h
      y[i] = c0 + c8;
      y[i8] = c0 - c8;
      y[i1] = c1 + c9;
      y[i9] = c1 - c9;
      y[i2] = c2 + c10;
      y[i10] = c2 - c10;
      y[i3] = c3 + c11;
      y[i11] = c3 - c11;
      y[i4] = c4 + c12;
      y[i12] = c4 - c12;
      y[i5] = c5 + c13;
      y[i13] = c5 - c13;
      y[i6] = c6 + c14;
      y[i14] = c6 - c14;
      y[i7] = c7 + c15;
      y[i15] = c7 - c15;
    }
  }
}
