// SPDX-License-Identifier: MIT
/**
 * Low-rank compensation (LoRC; ZeroQuant-V2, Yao et al. 2023, arXiv:2303.08302, §5): after
 * quantizing W to Ŵ, approximate the error `E = W − Ŵ` by its best rank-r approximation
 * (Eckart–Young: the truncated SVD) and add it back as two thin factors:
 *
 *     E = U·Σ·Vᵀ,   A = U_r·Σ_r^{½}  [rows, r],   B = Σ_r^{½}·V_rᵀ  [r, cols],   Ŵ' = Ŵ + A·B
 *
 * so ‖E − A·B‖²_F = Σ_{i>r} σ_i². The factors cost r·(rows + cols) numbers (f16 by default);
 * ZeroQuant-V2 also quantizes them to INT8 (`factorBits: 8`, symmetric per row of A and of B).
 * The SVD runs in f64: LAPACK `dgesdd` when `ops` offers `svd` (the blas backend), else the
 * one-sided Jacobi SVD of lib/linalg.
 *
 * Symbols: `W`, `What` (Ŵ) `[rows, cols]`, `E` error, `r` rank, `A`, `B` factors, `S` singular values.
 *
 * @module
 */
import { dims2, formatShape, Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import { svd, type SvdOptions, type SvdResult } from "../linalg/svd.ts";
import { roundHalfEven } from "../tensor/numeric.ts";

/** Options of {@link lorc}. */
export interface LorcOptions {
  /** Rank r of the compensation (default 8). */
  rank?: number;
  /** Storage of the factors: 16 (f16, default) or 8 (INT8 symmetric per row, fake-quantized). */
  factorBits?: 8 | 16;
  /** Backend; its `svd` (blas: LAPACK) is used when present. */
  ops?: Ops;
}

/** Result of {@link lorc}. */
export interface LorcResult {
  /** Ŵ + A·B, f32 `[rows, cols]`. */
  weight: Tensor<"f32">;
  /** f32 `[rows, r]`. */
  A: Tensor<"f32">;
  /** f32 `[r, cols]`. */
  B: Tensor<"f32">;
  /** The r largest singular values of E, descending. */
  singularValues: Float64Array;
  /** ‖W − Ŵ‖²_F before compensation. */
  errorBefore: number;
  /** ‖W − (Ŵ + A·B)‖²_F after compensation (Σ_{i>r} σ_i² with f16 factors). */
  errorAfter: number;
  /** Extra bits per weight the factors cost: r·(rows + cols)·factorBits / (rows·cols). */
  extraBitsPerWeight: number;
}

/**
 * Adds a rank-r correction of the quantization error to Ŵ.
 *
 * @param W f32 `[rows, cols]` original weight
 * @param What f32 `[rows, cols]` quantized (dequantized) weight
 * @param options `rank` (8), `factorBits` (16), `ops`
 * @returns the compensated weight, the factors and the error before/after
 *
 * @example A rank-1 error is removed exactly with r = 1
 * ```ts
 * import { lorc } from "./lorc.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const W = new Tensor("f32", [2, 2], new Float32Array([1, 2, 2, 4]));
 * const r = await lorc(W, new Tensor("f32", [2, 2]), { rank: 1 });
 * assert.ok(r.errorAfter < 1e-10);
 * ```
 */
export async function lorc(W: Tensor<"f32">, What: Tensor<"f32">, options: LorcOptions = {}): Promise<LorcResult> {
  const fn = "lorc";
  const [rows, cols] = dims2(fn, "W", W);
  if (What.rank !== 2 || What.shape[0] !== rows || What.shape[1] !== cols) {
    throw new TypeError(
      `${fn}: Cannot compensate W of shape ${formatShape(W.shape)} with What of shape ${formatShape(What.shape)}`,
    );
  }
  const rank = options.rank ?? 8;
  if (!Number.isInteger(rank) || rank < 0 || rank > Math.min(rows, cols)) {
    throw new RangeError(
      `${fn}: Cannot use rank ${rank} for a weight of shape [${rows}, ${cols}]: expected 0..${Math.min(rows, cols)}`,
    );
  }
  const bits = options.factorBits ?? 16;
  const E = new Float64Array(rows * cols); // [rows, cols]
  let errorBefore = 0;
  for (let i = 0; i < E.length; i++) {
    const e = (W.data[i] as number) - (What.data[i] as number);
    E[i] = e;
    errorBefore += e * e;
  }
  const et = new Tensor("f64", [rows, cols], E);
  const withSvd = options.ops as (Ops & { svd?: (A: Tensor<"f64">, o?: SvdOptions) => Promise<SvdResult> }) | undefined;
  const { U, S, V } = withSvd?.svd ? await withSvd.svd(et, { rank }) : svd(et, { rank });
  const A = new Float32Array(rows * rank), B = new Float32Array(rank * cols);
  for (let k = 0; k < rank; k++) {
    const sq = Math.sqrt(S[k] as number);
    for (let r = 0; r < rows; r++) A[r * rank + k] = (U.data[r * rank + k] as number) * sq;
    for (let j = 0; j < cols; j++) B[k * cols + j] = (V.data[j * rank + k] as number) * sq;
  }
  if (bits === 8) {
    fakeQuantizeRowsInt8(A, rows, rank);
    fakeQuantizeRowsInt8(B, rank, cols);
  }
  const out = new Float32Array(rows * cols);
  let errorAfter = 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let k = 0; k < rank; k++) s += (A[r * rank + k] as number) * (B[k * cols + j] as number);
      const i = r * cols + j;
      out[i] = (What.data[i] as number) + s;
      const e = (E[i] as number) - s;
      errorAfter += e * e;
    }
  }
  return {
    weight: new Tensor("f32", [rows, cols], out),
    A: new Tensor("f32", [rows, rank], A),
    B: new Tensor("f32", [rank, cols], B),
    singularValues: Float64Array.from(S.subarray(0, rank)),
    errorBefore,
    errorAfter,
    extraBitsPerWeight: (rank * (rows + cols) * bits) / (rows * cols),
  };
}

/** INT8 symmetric fake quantization per row (scale = absmax/127), in place. */
function fakeQuantizeRowsInt8(x: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let j = 0; j < cols; j++) m = Math.max(m, Math.abs(x[r * cols + j] as number));
    if (m === 0) continue;
    const s = Math.fround(m / 127);
    for (let j = 0; j < cols; j++) x[r * cols + j] = s * roundHalfEven((x[r * cols + j] as number) / s);
  }
}
