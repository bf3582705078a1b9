// SPDX-License-Identifier: MIT
/**
 * Seeded Haar-random orthogonal matrices and dense rotations.
 *
 * `randomOrthogonal`: QR of a seeded standard Gaussian matrix G = Q·R (f64 Householder,
 * `lib/linalg/qr`), then each column of Q times sign(R[j, j]) (Mezzadri 2007, "How to generate
 * random matrices from the classical compact groups"), which makes Q Haar-distributed; this is
 * QuIP's / SpinQuant's random orthogonal initialisation (SpinQuant arXiv:2405.16406 §3).
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import { qr } from "../linalg/qr.ts";
import { Rng } from "../tensor/random.ts";
import { Tensor } from "../tensor/tensor.ts";
import { checkRotationInput, type Rotation } from "./rotation.ts";

/**
 * A seeded Haar-random orthogonal matrix.
 *
 * @param n size
 * @param options `seed` of the Gaussian draw
 * @returns f32 `[n, n]` with `Q·Qᵀ = I` (to f32 rounding)
 *
 * @example
 * ```ts
 * import { randomOrthogonal } from "./orthogonal.ts";
 * import assert from "node:assert/strict";
 * const Q = randomOrthogonal(3, { seed: 7 });
 * let norm = 0;
 * for (let j = 0; j < 3; j++) norm += Q.get(0, j) ** 2;
 * assert.ok(Math.abs(norm - 1) < 1e-6);
 * ```
 */
export function randomOrthogonal(n: number, options: { seed: number }): Tensor<"f32"> {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(
      `randomOrthogonal: Cannot draw an orthogonal matrix of size ${n}: n must be a positive integer`,
    );
  }
  const rng = new Rng(options.seed);
  const G = new Tensor("f64", [n, n], Float64Array.from({ length: n * n }, () => rng.normal())); // [n, n]
  const { Q, R } = qr(G);
  const out = new Float32Array(n * n); // [n, n]
  for (let j = 0; j < n; j++) {
    const sign = (R.data[j * n + j] as number) < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) out[i * n + j] = (Q.data[i * n + j] as number) * sign;
  }
  return new Tensor("f32", [n, n], out);
}

/** A rotation given by a dense orthogonal matrix R f32 `[n, n]`, applied with matmul. */
export class MatrixRotation implements Rotation {
  readonly n: number;
  readonly description: string;
  private readonly R: Tensor<"f32">;

  /**
   * Wraps a dense matrix.
   *
   * @param R f32 `[n, n]`, orthogonal (not checked here: {@link orthogonalityError} measures it)
   * @param description label for tables
   */
  constructor(R: Tensor<"f32">, description = "orthogonal") {
    if (R.rank !== 2 || R.shape[0] !== R.shape[1]) {
      throw new TypeError(`MatrixRotation: Cannot use R of shape [${R.shape.join(", ")}]: expected a square [n, n]`);
    }
    this.R = R;
    this.n = R.shape[0] as number;
    this.description = description;
  }

  /** X·R for X f32 `[rows, n]`. */
  async apply(X: Tensor<"f32">, ops: Ops): Promise<Tensor<"f32">> {
    checkRotationInput("MatrixRotation.apply", X, this.n);
    return await ops.matmul(X, this.R);
  }

  /** X·Rᵀ for X f32 `[rows, n]`. */
  async applyTranspose(X: Tensor<"f32">, ops: Ops): Promise<Tensor<"f32">> {
    checkRotationInput("MatrixRotation.applyTranspose", X, this.n);
    return await ops.matmul(X, this.R, { transB: true });
  }

  /** The matrix R f32 `[n, n]` (shared, treat as read-only). */
  matrix(): Tensor<"f32"> {
    return this.R;
  }
}

/**
 * A seeded random orthogonal rotation (dense, applied with matmul).
 *
 * @example
 * ```ts
 * import { orthogonalRotation } from "./orthogonal.ts";
 * import assert from "node:assert/strict";
 * assert.equal(orthogonalRotation(8, { seed: 1 }).n, 8);
 * ```
 */
export function orthogonalRotation(n: number, options: { seed: number }): MatrixRotation {
  return new MatrixRotation(randomOrthogonal(n, options), `orthogonal(${n}, seed ${options.seed})`);
}

/**
 * max |R·Rᵀ − I| in f64 — how far a matrix is from orthogonal.
 *
 * @param R f32 or f64 `[n, n]`
 *
 * @example
 * ```ts
 * import { orthogonalityError, randomOrthogonal } from "./orthogonal.ts";
 * import assert from "node:assert/strict";
 * assert.ok(orthogonalityError(randomOrthogonal(16, { seed: 2 })) < 1e-6);
 * ```
 */
export function orthogonalityError(R: Tensor<"f32"> | Tensor<"f64">): number {
  const n = R.shape[0] as number, r = R.data;
  if (R.rank !== 2 || R.shape[1] !== n) {
    throw new TypeError(`orthogonalityError: Cannot use R of shape [${R.shape.join(", ")}]: expected [n, n]`);
  }
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let dot = 0;
      for (let k = 0; k < n; k++) dot += (r[i * n + k] as number) * (r[j * n + k] as number);
      worst = Math.max(worst, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  return worst;
}
