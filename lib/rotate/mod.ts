// SPDX-License-Identifier: MIT
/**
 * Rotations and equivalent transforms fused into a model, with an invariance check.
 *
 * - Hadamard matrices for n = m·2^k ({@link hadamard}, stored factors in `data/hadamard/`),
 *   randomized Hadamard and random orthogonal rotations ({@link hadamardRotation},
 *   {@link orthogonalRotation}), applied through the FWHT op or matmul;
 * - QuaRot-style rotation of a Llama model ({@link quarotRotate}: norm folding, R1, R2, online
 *   R3/R4 as forward-pass steps of a {@link HookedLlamaModel});
 * - SmoothQuant ({@link smoothQuant}) and AWQ ({@link awqModel}) scale folding;
 * - {@link checkInvariance}: same logits after a transform, or an {@link InvarianceError} naming
 *   the first diverging layer.
 *
 * Glossary: W `[out, in]` (y = x·Wᵀ), hidden rows h `[tokens, d]`, R1 `[d, d]`, R2/R3
 * `[headDim, headDim]`, R4 `[ffn, ffn]`, γ an RMSNorm scale, s per-channel smoothing scales.
 *
 * @example Rotate a row vector and undo it
 * ```ts
 * import { hadamardRotation, orthogonalityError } from "./mod.ts";
 * import { tsOps } from "../ops/ts/mod.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const R = hadamardRotation(768, { seed: 0 }); // 768 = 12·64
 * assert.ok(orthogonalityError(R.matrix()) < 1e-5);
 * const x = new Tensor("f32", [1, 768], new Float32Array(768).fill(1));
 * const y = await R.applyTranspose(await R.apply(x, tsOps), tsOps);
 * assert.ok(Math.abs(y.data[5]! - 1) < 1e-5);
 * ```
 *
 * @module
 */
export * from "./rotation.ts";
export * from "./hadamard_factors.ts";
export * from "./hadamard.ts";
export * from "./orthogonal.ts";
export * from "./hooked_model.ts";
export * from "./fuse.ts";
export * from "./quarot.ts";
export * from "./smoothquant.ts";
export * from "./awq.ts";
export * from "./awq_model.ts";
export * from "./invariance.ts";
