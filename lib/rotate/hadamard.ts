// SPDX-License-Identifier: MIT
/**
 * Hadamard matrices and randomized Hadamard rotations for sizes n = m·2^k.
 *
 * - Sylvester: `H_1 = [1]`, `H_{2P} = [[H_P, H_P], [H_P, −H_P]]`, i.e. `H_P[b, b'] = (−1)^popcount(b & b')`.
 * - Other sizes: `H_n = H_m ⊗ H_P` (QuaRot's `get_hadK` / `matmul_hadU`) with a stored factor
 *   H_m (`data/hadamard/`, see {@link hadamardFactor}); the smallest stored m with n/m a power of
 *   two is used (the dense m-mix is the costly part of the FWHT).
 * - Randomized Hadamard transform (QuIP#, arXiv:2402.04396; QuaRot, arXiv:2404.00456):
 *   `R = diag(s)·H_nᵀ/√n` with seeded random signs s ∈ {±1}ⁿ, so that `X·R` is exactly what the
 *   FWHT op computes (`ops.fwht(X, { signs: s, hadamardM: H_m })`); R is orthogonal.
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import { fwht } from "../ops/ts/fwht.ts";
import { Rng } from "../tensor/random.ts";
import { Tensor } from "../tensor/tensor.ts";
import { HADAMARD_FACTOR_ORDERS, hadamardFactor } from "./hadamard_factors.ts";
import { checkRotationInput, type Rotation } from "./rotation.ts";

function isPowerOfTwo(x: number): boolean {
  return Number.isInteger(x) && x >= 1 && (x & (x - 1)) === 0;
}

/**
 * How a size factors for the FWHT: n = m·P with P a power of two and m = 1 or a stored order.
 *
 * @param n transform size
 * @returns `{ m, P }`
 * @throws {RangeError} when no stored factor fits (the message lists the stored orders)
 *
 * @example
 * ```ts
 * import { hadamardSizeFactors } from "./hadamard.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(hadamardSizeFactors(768), { m: 12, P: 64 });
 * assert.deepEqual(hadamardSizeFactors(256), { m: 1, P: 256 });
 * ```
 */
export function hadamardSizeFactors(n: number): { m: number; P: number } {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(
      `hadamardSizeFactors: Cannot build a Hadamard matrix of size ${n}: n must be a positive integer`,
    );
  }
  if (isPowerOfTwo(n)) return { m: 1, P: n };
  for (const m of HADAMARD_FACTOR_ORDERS) {
    if (n % m === 0 && isPowerOfTwo(n / m)) return { m, P: n / m };
  }
  throw new RangeError(
    `hadamardSizeFactors: Cannot build a Hadamard matrix of size ${n}: n must be 2^k or m·2^k with m in ${
      HADAMARD_FACTOR_ORDERS.join(", ")
    }`,
  );
}

/** Sylvester Hadamard matrix H_P, f32 `[P, P]` of ±1, P a power of two. */
export function sylvester(P: number): Tensor<"f32"> {
  if (!isPowerOfTwo(P)) throw new RangeError(`sylvester: Cannot build H_${P}: the size must be a power of 2`);
  const H = new Float32Array(P * P); // [P, P]
  for (let i = 0; i < P; i++) {
    for (let j = 0; j < P; j++) {
      let x = i & j, parity = 0;
      while (x) {
        parity ^= 1;
        x &= x - 1;
      }
      H[i * P + j] = parity ? -1 : 1;
    }
  }
  return new Tensor("f32", [P, P], H);
}

/**
 * The Hadamard matrix H_n = H_m ⊗ H_P (unnormalized ±1), the matrix the FWHT op multiplies by.
 *
 * @param n size, 2^k or m·2^k with a stored m ({@link hadamardSizeFactors})
 * @returns f32 `[n, n]` of ±1 with `H·Hᵀ = n·I`
 *
 * @example
 * ```ts
 * import { hadamard } from "./hadamard.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(hadamard(2).data), [1, 1, 1, -1]);
 * ```
 */
export function hadamard(n: number): Tensor<"f32"> {
  const { m, P } = hadamardSizeFactors(n);
  const HP = sylvester(P);
  if (m === 1) return HP;
  const Hm = hadamardFactor(m).data, hp = HP.data;
  const H = new Float32Array(n * n); // [n, n], H[a·P + b, a'·P + b'] = Hm[a, a']·HP[b, b']
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < P; b++) {
      const row = (a * P + b) * n;
      for (let a2 = 0; a2 < m; a2++) {
        const h = Hm[a * m + a2] as number;
        for (let b2 = 0; b2 < P; b2++) H[row + a2 * P + b2] = h * (hp[b * P + b2] as number);
      }
    }
  }
  return new Tensor("f32", [n, n], H);
}

/** n seeded random signs ±1 (f32), the diagonal of a randomized Hadamard transform. */
export function randomSigns(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.sign());
}

/** A (randomized) Hadamard rotation `R = diag(s)·H_nᵀ/√n`, applied through `ops.fwht`. */
export class HadamardRotation implements Rotation {
  readonly n: number;
  readonly description: string;
  /** f32 `[n]` signs s (all +1 for a plain Hadamard). */
  readonly signs: Float32Array;
  /** Stored factor H_m f32 `[m, m]` (undefined when n is a power of two). */
  readonly hadamardM: Tensor<"f32"> | undefined;
  private readonly hadamardMT: Tensor<"f32"> | undefined;
  private readonly plain: boolean;

  /**
   * Builds R = diag(s)·H_nᵀ/√n.
   *
   * @param n size, 2^k or m·2^k with a stored m
   * @param signs f32 `[n]` of ±1 (default: all +1)
   * @param description label for tables
   */
  constructor(n: number, signs?: Float32Array, description?: string) {
    const { m } = hadamardSizeFactors(n);
    if (signs !== undefined && (signs.length !== n || signs.some((v) => v !== 1 && v !== -1))) {
      throw new RangeError(`HadamardRotation: Cannot use signs of length ${signs.length}: expected ${n} values of ±1`);
    }
    this.n = n;
    this.plain = signs === undefined;
    this.signs = signs ?? new Float32Array(n).fill(1);
    this.description = description ?? `hadamard(${n})`;
    if (m > 1) {
      const Hm = hadamardFactor(m);
      const T = new Float32Array(m * m); // H_mᵀ
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) T[j * m + i] = Hm.data[i * m + j] as number;
      this.hadamardM = Hm;
      this.hadamardMT = new Tensor("f32", [m, m], T);
    }
  }

  /** X·R = X·diag(s)·H_nᵀ/√n for X f32 `[rows, n]`. */
  async apply(X: Tensor<"f32">, ops: Ops): Promise<Tensor<"f32">> {
    checkRotationInput("HadamardRotation.apply", X, this.n);
    return await ops.fwht(X, this.fwhtOptions(this.hadamardM, !this.plain));
  }

  /** X·Rᵀ = X·H_n·diag(s)/√n: the FWHT with H_mᵀ, then the signs on the columns. */
  async applyTranspose(X: Tensor<"f32">, ops: Ops): Promise<Tensor<"f32">> {
    checkRotationInput("HadamardRotation.applyTranspose", X, this.n);
    const Y = await ops.fwht(X, this.fwhtOptions(this.hadamardMT, false));
    if (this.plain) return Y;
    const n = this.n, s = this.signs, y = Y.data;
    for (let i = 0; i < y.length; i++) y[i] = (y[i] as number) * (s[i % n] as number);
    return Y;
  }

  /** Dense R f32 `[n, n]` (the FWHT of the identity's rows). */
  matrix(): Tensor<"f32"> {
    const I = new Tensor("f32", [this.n, this.n]);
    for (let i = 0; i < this.n; i++) I.data[i * this.n + i] = 1;
    return fwht(I, this.fwhtOptions(this.hadamardM, !this.plain));
  }

  /** FWHT options with the given factor, with or without the signs. */
  private fwhtOptions(
    Hm: Tensor<"f32"> | undefined,
    withSigns: boolean,
  ): { signs?: Float32Array; hadamardM?: Tensor<"f32"> } {
    const o: { signs?: Float32Array; hadamardM?: Tensor<"f32"> } = {};
    if (withSigns) o.signs = this.signs;
    if (Hm) o.hadamardM = Hm;
    return o;
  }
}

/**
 * A Hadamard rotation of size n: randomized (seeded signs) when `seed` is given, plain
 * `H_nᵀ/√n` otherwise.
 *
 * @example
 * ```ts
 * import { hadamardRotation } from "./hadamard.ts";
 * import { tsOps } from "../ops/ts/mod.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const R = hadamardRotation(12, { seed: 1 });
 * const X = new Tensor("f32", [1, 12], new Float32Array(12).fill(1));
 * const back = await R.applyTranspose(await R.apply(X, tsOps), tsOps);
 * assert.ok(back.data.every((v) => Math.abs(v - 1) < 1e-6));
 * ```
 */
export function hadamardRotation(n: number, options: { seed?: number } = {}): HadamardRotation {
  if (options.seed === undefined) return new HadamardRotation(n);
  return new HadamardRotation(n, randomSigns(n, options.seed), `hadamard(${n}, seed ${options.seed})`);
}

/**
 * Dense randomized Hadamard matrix `R = diag(s)·H_nᵀ/√n` with seeded signs.
 *
 * @param n size, 2^k or m·2^k with a stored m
 * @returns f32 `[n, n]`, orthogonal
 *
 * @example
 * ```ts
 * import { randomHadamard } from "./hadamard.ts";
 * import assert from "node:assert/strict";
 * const R = randomHadamard(4, { seed: 0 });
 * assert.ok(R.data.every((v) => Math.abs(Math.abs(v) - 0.5) < 1e-7));
 * ```
 */
export function randomHadamard(n: number, options: { seed: number }): Tensor<"f32"> {
  return hadamardRotation(n, options).matrix();
}
