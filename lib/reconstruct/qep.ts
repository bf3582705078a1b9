// SPDX-License-Identifier: MIT
/**
 * Quantization error propagation (QEP; Arai & Ichikawa 2025, "Quantization Error Propagation:
 * Revisiting Layer-Wise Post-Training Quantization"; checked against the Google qwix contrib
 * port of FujitsuResearch/qep). Layer-wise PTQ fits `Ŵ·x̂ ≈ W·x̂` on the quantized model's
 * inputs x̂ and ignores that the full-precision model saw x. QEP instead targets
 * `‖W·X − Ŵ·X̂‖²`; its unconstrained minimiser is
 *
 *     W* = W + W·H_δ·Ĥ⁻¹,   Ĥ = X̂ᵀX̂,   H_δ = (X − X̂)ᵀX̂        (X, X̂: [tokens, in])
 *
 * and QEP moves W a fraction α of the way (the propagation strength; α = 0.5 by default,
 * smaller to avoid over-fitting the calibration set), with Ĥ damped by λ = dampRatio·mean(diag Ĥ):
 *
 *     W* = W + α·W·H_δ·(Ĥ + λI)⁻¹
 *
 * then quantizes W* with GPTQ or RTN against Ĥ. Ĥ and H_δ must share one normalisation (both
 * `2/N·…` here, like `HessianAccumulator`). The solve runs in f64 through a Cholesky
 * factorization (`ops.cholesky`, `ops.triangularSolve`).
 *
 * Symbols: `W` `[rows, cols]`, `X` FP inputs, `Xhat` quantized-model inputs, `Hhat` `[cols, cols]`,
 * `Hdelta` `[cols, cols]` (not symmetric), `alpha`, `lambda`.
 *
 * @module
 */
import { assertFinite, dims2, formatShape, Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import { tsOps } from "../ops/ts/mod.ts";

/** Default propagation strength α. */
export const DEFAULT_QEP_ALPHA = 0.5;

/** Options of {@link qepCorrect}. */
export interface QepOptions {
  /** Propagation strength α in [0, 1] (default 0.5). */
  alpha?: number;
  /** Damping λ relative to mean(diag Ĥ) (default 0.01). */
  dampRatio?: number;
  /** Backend of the factorization and solves (default `tsOps`). */
  ops?: Ops;
}

/**
 * The cross statistic `H_δ = 2/N·(X − X̂)ᵀ·X̂` of paired inputs (same tokens through the FP
 * and the quantized model), normalised like `HessianAccumulator`'s `2/N·X̂ᵀX̂`. One f32 GEMM
 * on `ops`; the result is returned in f64.
 *
 * @param X f32 `[tokens, in]` inputs in the full-precision model
 * @param Xhat f32 `[tokens, in]` inputs in the quantized model
 * @param ops backend of the GEMM (default `tsOps`)
 * @returns f64 `[in, in]`
 */
export async function qepCrossHessian(X: Tensor<"f32">, Xhat: Tensor<"f32">, ops: Ops = tsOps): Promise<Tensor<"f64">> {
  const fn = "qepCrossHessian";
  const [N, n] = dims2(fn, "X", X);
  const [N2, n2] = dims2(fn, "Xhat", Xhat);
  if (N !== N2 || n !== n2) {
    throw new TypeError(
      `${fn}: Cannot pair X of shape ${formatShape(X.shape)} with Xhat of shape ${formatShape(Xhat.shape)}`,
    );
  }
  const D = new Float32Array(N * n); // [N, n] X − X̂
  for (let i = 0; i < D.length; i++) D[i] = (X.data[i] as number) - (Xhat.data[i] as number);
  const P = await ops.matmul(new Tensor("f32", [N, n], D), Xhat, { transA: true }); // [n, n]
  const c = 2 / Math.max(N, 1);
  return new Tensor("f64", [n, n], Float64Array.from(P.data, (v) => v * c));
}

/**
 * QEP's weight correction `W* = W + α·W·H_δ·(Ĥ + λI)⁻¹`.
 *
 * @param W f32 `[rows, cols]`
 * @param stats `Hhat` f64 `[cols, cols]` (symmetric PSD) and `Hdelta` f64 `[cols, cols]`
 * @param options `alpha` (0.5), `dampRatio` (0.01), `ops`
 * @returns the corrected weight f32 `[rows, cols]`, to quantize against `Hhat`
 *
 * @example With no propagated error (X̂ = X) nothing changes
 * ```ts
 * import { qepCorrect } from "./qep.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const W = new Tensor("f32", [1, 2], new Float32Array([1, 2]));
 * const Hhat = new Tensor("f64", [2, 2], new Float64Array([2, 0, 0, 2]));
 * const Hdelta = new Tensor("f64", [2, 2]);
 * assert.deepEqual(Array.from((await qepCorrect(W, { Hhat, Hdelta })).data), [1, 2]);
 * ```
 */
export async function qepCorrect(
  W: Tensor<"f32">,
  stats: { Hhat: Tensor<"f64">; Hdelta: Tensor<"f64"> },
  options: QepOptions = {},
): Promise<Tensor<"f32">> {
  const fn = "qepCorrect";
  const [rows, cols] = dims2(fn, "W", W);
  for (const [name, t] of [["Hhat", stats.Hhat], ["Hdelta", stats.Hdelta]] as const) {
    if (t.dtype !== "f64" || t.rank !== 2 || t.shape[0] !== cols || t.shape[1] !== cols) {
      throw new TypeError(
        `${fn}: Cannot use ${name} of shape ${formatShape(t.shape)} with W of shape ${
          formatShape(W.shape)
        }: expected f64 [${cols}, ${cols}]`,
      );
    }
  }
  assertFinite(fn, "W", W);
  const alpha = options.alpha ?? DEFAULT_QEP_ALPHA;
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`${fn}: Cannot use alpha ${alpha}: expected [0, 1]`);
  const ops = options.ops ?? tsOps;
  const Hh = stats.Hhat.data, Hd = stats.Hdelta.data;
  const M = (await ops.matmul(W, new Tensor("f32", [cols, cols], Float32Array.from(Hd)))).data; // W·H_δ [rows, cols]
  const Mt = new Float64Array(cols * rows); // [cols, rows]
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) Mt[j * rows + r] = M[r * cols + j] as number;
  let mean = 0;
  for (let j = 0; j < cols; j++) mean += Hh[j * cols + j] as number;
  mean /= cols;
  const lambda = (options.dampRatio ?? 0.01) * (mean > 0 ? mean : 1);
  const A = new Float64Array(Hh); // Ĥ + λI
  for (let j = 0; j < cols; j++) A[j * cols + j] = (A[j * cols + j] as number) + lambda;
  const L = await ops.cholesky(new Tensor("f64", [cols, cols], A));
  // (Ĥ + λI)·Yᵀ = Mᵀ  ⇒  Yᵀ = L⁻ᵀ·L⁻¹·Mᵀ  (Ĥ symmetric, so Y = M·(Ĥ + λI)⁻¹).
  const Z = await ops.triangularSolve(L, new Tensor("f64", [cols, rows], Mt), { lower: true });
  const Yt = (await ops.triangularSolve(L, Z, { lower: true, transpose: true })).data;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      out[r * cols + j] = (W.data[r * cols + j] as number) + alpha * (Yt[j * rows + r] as number);
    }
  }
  return new Tensor("f32", [rows, cols], out);
}
