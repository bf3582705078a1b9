// SPDX-License-Identifier: MIT
/**
 * Shape resolution of `matmul` (private; shared by the ts and blas backends so both accept
 * and reject exactly the same inputs).
 *
 * @module
 */
import { formatShape, type Tensor } from "../../tensor/tensor.ts";
import type { MatmulOptions } from "../ops.ts";
import { checkDType } from "./_check.ts";

/** A resolved (batched) product `C[b] = op(A[b])·op(B[b])`, `[M, K]·[K, N]`. */
export interface MatmulShape {
  /** Number of products (1 for 2-D inputs). */
  batch: number;
  M: number;
  K: number;
  N: number;
  /** Element stride between consecutive A (or B) matrices: 0 when broadcast. */
  strideA: number;
  strideB: number;
  transA: boolean;
  transB: boolean;
  /** `[M, N]` or `[batch, M, N]`. */
  outShape: number[];
}

/**
 * Validates A, B and options of `matmul`. Ranks: 2-D·2-D, 3-D·3-D (equal batch), or a 3-D
 * operand with a 2-D one, which is broadcast over the batch.
 */
export function matmulShape(A: Tensor, B: Tensor, options: MatmulOptions = {}): MatmulShape {
  const fn = "matmul";
  checkDType(fn, "A", A, "f32");
  checkDType(fn, "B", B, "f32");
  for (const [arg, t] of [["A", A], ["B", B]] as const) {
    if (t.rank !== 2 && t.rank !== 3) {
      throw new TypeError(`${fn}: Cannot use '${arg}' of shape ${formatShape(t.shape)}: expected a 2-D or 3-D tensor`);
    }
  }
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const a = A.shape.slice(-2) as [number, number];
  const b = B.shape.slice(-2) as [number, number];
  const [M, Ka] = transA ? [a[1], a[0]] : a;
  const [Kb, N] = transB ? [b[1], b[0]] : b;
  const what = () =>
    `A of shape ${formatShape(A.shape)}${transA ? " (transA)" : ""} by B of shape ${formatShape(B.shape)}${
      transB ? " (transB)" : ""
    }`;
  if (Ka !== Kb) throw new TypeError(`${fn}: Cannot multiply ${what()}: inner dimensions differ (${Ka} != ${Kb})`);
  const batchA = A.rank === 3 ? (A.shape[0] as number) : -1;
  const batchB = B.rank === 3 ? (B.shape[0] as number) : -1;
  if (batchA >= 0 && batchB >= 0 && batchA !== batchB) {
    throw new TypeError(`${fn}: Cannot multiply ${what()}: batch sizes differ (${batchA} != ${batchB})`);
  }
  const batched = batchA >= 0 || batchB >= 0;
  const batch = batched ? Math.max(batchA, batchB) : 1;
  return {
    batch,
    M,
    K: Ka,
    N,
    strideA: batchA >= 0 ? M * Ka : 0,
    strideB: batchB >= 0 ? Ka * N : 0,
    transA,
    transB,
    outShape: batched ? [batch, M, N] : [M, N],
  };
}

/** `alpha`, `beta` and the output of a matmul: `options.out` checked against the shape, or a new array. */
export interface MatmulOutput {
  C: Float32Array;
  alpha: number;
  beta: number;
}

/**
 * Resolves `out`, `alpha` and `beta` of `matmul` (shared by the ts and blas backends).
 *
 * @throws {TypeError} when `out` has the wrong dtype or shape or overlaps A or B, or when beta ≠ 0
 *   without `out`; {RangeError} on a non-finite alpha/beta
 */
export function matmulOutput(A: Tensor, B: Tensor, s: MatmulShape, options: MatmulOptions = {}): MatmulOutput {
  const fn = "matmul";
  const alpha = options.alpha ?? 1;
  const beta = options.beta ?? 0;
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) {
    throw new RangeError(`${fn}: Cannot scale by alpha ${alpha}, beta ${beta}: both must be finite`);
  }
  const out = options.out;
  if (out === undefined) {
    if (beta !== 0) {
      throw new TypeError(`${fn}: Cannot accumulate with beta ${beta} without 'out': pass the tensor to add to`);
    }
    return { C: new Float32Array(s.outShape.reduce((p, d) => p * d, 1)), alpha, beta };
  }
  checkDType(fn, "out", out, "f32");
  if (out.shape.length !== s.outShape.length || out.shape.some((d, i) => d !== s.outShape[i])) {
    throw new TypeError(
      `${fn}: Cannot write into 'out' of shape ${formatShape(out.shape)}: the product has shape ${
        formatShape(s.outShape)
      }`,
    );
  }
  for (const [arg, t] of [["A", A], ["B", B]] as const) {
    if (overlaps(out.data as Float32Array, t.data as Float32Array)) {
      throw new TypeError(`${fn}: Cannot write into 'out': it overlaps '${arg}' (use a separate buffer)`);
    }
  }
  return { C: out.data as Float32Array, alpha, beta };
}

function overlaps(x: ArrayBufferView, y: ArrayBufferView): boolean {
  if (x.buffer !== y.buffer) return false;
  return x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;
}
