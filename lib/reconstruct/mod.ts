// SPDX-License-Identifier: MIT
/**
 * Reconstruction: choose the quantized weight of one linear layer so that its outputs on
 * calibration inputs change least, using the layer Hessian `H = 2XᵀX/N`.
 *
 * - {@link gptq}: GPTQ / OBQ column sweep with lazy blocks, act-order, static groups,
 *   damping escalation and dead columns (Frantar et al. 2022, arXiv:2210.17323);
 * - {@link babaiNearestPlane}: Babai's nearest plane on the lattice of H, the oracle GPTQ
 *   equals when run back-to-front (Chen et al. 2025);
 * - {@link adaround}: learned up/down rounding (Nagel et al. 2020, arXiv:2004.10568);
 * - {@link learnedClip}: OmniQuant's learnable weight clipping (arXiv:2308.13137), layer-wise;
 * - {@link qepCorrect}: quantization error propagation, `W* = W + α·W·H_δ·(Ĥ + λI)⁻¹`;
 * - {@link lorc}: low-rank compensation of the error, rank r (ZeroQuant-V2, arXiv:2303.08302).
 *
 * Paper-to-code glossary:
 *
 * | paper | code | shape / meaning |
 * |---|---|---|
 * | W | `W` | weight `[rows = out, cols = in]`, f32 |
 * | X | `X` | calibration inputs `[N tokens, cols]` |
 * | H = 2XXᵀ (GPTQ) | `H` | `2XᵀX/N`, f64 `[cols, cols]` (`HessianAccumulator`) |
 * | λ, percdamp | `dampRatio` | damping relative to mean(diag H), default 0.01, escalated ×10 |
 * | H⁻¹ Cholesky (upper) | `Hinv` | upper U with UᵀU = (H + λI)⁻¹ |
 * | Q, quant(w) | `Q`, `weight` | dequantized weight |
 * | E, Err1 | `err` | scaled column error (w − q)/Hinv_jj |
 * | B (lazy batch) | `blockSize` | 128 |
 * | act-order, desc_act | `actOrder`, `perm` | columns by diag(H) descending |
 * | g_idx | `groupIndex` | column → group, i32 `[cols]` |
 * | static_groups | `staticGroups` | groups fitted before the sweep in original order |
 * | s, z, 2^b − 1 | `scale`, `zero`, `maxq` | `ŵ = s·(q − z)` |
 * | V, h(V), ζ, γ, β, λ (AdaRound) | `V`, `h`, `ADAROUND_ZETA`, `ADAROUND_GAMMA`, `betaStart`/`betaEnd`, `regWeight` | |
 * | γ, β (LWC) | `gamma`, `beta` | clipping factors of max / min |
 * | Ĥ, H_δ, α (QEP) | `Hhat`, `Hdelta`, `alpha` | |
 * | r, U_rΣ_r^½, Σ_r^½V_rᵀ (LoRC) | `rank`, `A`, `B` | |
 *
 * @example A tour: GPTQ beats RTN on the layer loss
 * ```ts
 * import { gptq } from "./mod.ts";
 * import { quantizeRtn } from "../quant/rtn.ts";
 * import { weightedError } from "../calib/metrics.ts";
 * import { HessianAccumulator } from "../calib/hessian.ts";
 * import { randnF32 } from "../tensor/create.ts";
 * import { tsOps } from "../ops/ts/mod.ts";
 * import assert from "node:assert/strict";
 *
 * const W = randnF32([16, 64], 0);                      // [out, in]
 * const acc = new HessianAccumulator(64);
 * await acc.addBatch(randnF32([256, 64], 1));           // X [tokens, in]
 * const H = acc.hessian;                                // 2XᵀX/N, f64 [64, 64]
 * const spec = { format: "int", bits: 3, groupSize: 32, symmetric: false } as const;
 * const g = await gptq(W, H, { spec, actOrder: true });
 * const rtn = await quantizeRtn(W, spec, { ops: tsOps });
 * assert.ok(weightedError(W, g.weight, H) < weightedError(W, rtn.weight, H));
 * ```
 *
 * @module
 */
export { gptq, type GptqOptions, type GptqResult } from "./gptq.ts";
export { babaiNearestPlane, type BabaiResult } from "./babai.ts";
export {
  adaround,
  ADAROUND_GAMMA,
  ADAROUND_ZETA,
  adaroundInit,
  type AdaRoundOptions,
  type AdaRoundResult,
  adaroundSoftWeight,
} from "./adaround.ts";
export { learnedClip, type LearnedClipOptions, type LearnedClipResult } from "./learned_clip.ts";
export { DEFAULT_QEP_ALPHA, qepCorrect, qepCrossHessian, type QepOptions } from "./qep.ts";
export { lorc, type LorcOptions, type LorcResult } from "./lorc.ts";
export { DEFAULT_DAMP_RATIO, DEFAULT_DAMP_TRIES } from "./_hinv.ts";
