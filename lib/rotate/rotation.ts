// SPDX-License-Identifier: MIT
/**
 * The {@link Rotation} interface: an orthogonal n×n matrix R that knows how to multiply rows
 * by itself and by its transpose on an {@link Ops} backend — through the FWHT for (randomized)
 * Hadamard matrices, through matmul for dense ones — and how to show itself densely.
 *
 * Conventions: rows are vectors, so "rotating" X `[rows, n]` means `X·R`; a weight
 * W `[out, in]` that reads a rotated input becomes `W·R` (QuaRot's `W ← W·R` on the input
 * side), a weight that writes into a rotated space becomes `Rᵀ·W = (Wᵀ·R)ᵀ`.
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import type { Tensor } from "../tensor/tensor.ts";

/** An orthogonal matrix R f32 `[n, n]` with fast row products. */
export interface Rotation {
  /** Size n. */
  readonly n: number;
  /** What R is, for results tables: e.g. `hadamard(256, seed 3)`, `orthogonal(256, seed 0)`. */
  readonly description: string;
  /** X·R for X f32 `[rows, n]` → f32 `[rows, n]`. */
  apply(X: Tensor<"f32">, ops: Ops): Promise<Tensor<"f32">>;
  /** X·Rᵀ for X f32 `[rows, n]` → f32 `[rows, n]` (the inverse rotation). */
  applyTranspose(X: Tensor<"f32">, ops: Ops): Promise<Tensor<"f32">>;
  /** The dense matrix R f32 `[n, n]`. */
  matrix(): Tensor<"f32">;
}

/** Throws a TypeError unless X is f32 `[rows, n]` for rotation size n. */
export function checkRotationInput(fn: string, X: Tensor, n: number): void {
  if (X.dtype !== "f32" || X.rank !== 2 || X.shape[1] !== n) {
    throw new TypeError(
      `${fn}: Cannot rotate X of dtype ${X.dtype} and shape [${X.shape.join(", ")}]: expected f32 [rows, ${n}]`,
    );
  }
}
