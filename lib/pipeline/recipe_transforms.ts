// SPDX-License-Identifier: MIT
/**
 * Transforms a recipe can name: each takes the full-precision model and returns an
 * equivalent model (same outputs in full precision) whose weights quantize better.
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import type { LlamaModel } from "../model/llama.ts";
import type { IntSpec } from "../quant/spec.ts";
import { quarotRotate } from "../rotate/quarot.ts";
import { awqModel } from "../rotate/awq_model.ts";
import type { TransformSpec } from "./recipe_types.ts";

/** What a transform may use besides the model. */
export interface TransformContext {
  /** Backend of the transform's products. */
  ops: Ops;
  /** The target format (activation-aware transforms tune for it). */
  spec: IntSpec;
  /** Calibration ids `[n·seqLen]` (activation-aware transforms need them). */
  calibration?: ArrayLike<number>;
  /** Tokens per calibration sequence. */
  seqLen?: number;
}

/** A model transform. */
export type ModelTransform = (model: LlamaModel, spec: TransformSpec, ctx: TransformContext) => Promise<LlamaModel>;

/** Transforms by name. Extend by adding entries (implementations live in lib/rotate and lib/quant). */
export const RECIPE_TRANSFORMS: Record<string, ModelTransform> = {
  /** QuaRot-style rotation for weight-only quantization: R1, R2 fused; online R4 before down_proj unless `online: false`; no R3. */
  hadamard: (model, t, ctx) =>
    quarotRotate(model, { seed: t.seed ?? 0, r3: false, r4: t.online !== false, ops: ctx.ops }),
  /** AWQ scale search and clip search for the target format (lib/rotate/awq_model.ts). */
  awq: async (model, _t, ctx) => {
    if (!ctx.calibration || !ctx.seqLen) {
      throw new RangeError(`awq transform: Cannot search scales without calibration data`);
    }
    return (await awqModel(model, ctx.calibration, { spec: ctx.spec, seqLen: ctx.seqLen, ops: ctx.ops })).model;
  },
};

/** Applies the transforms of a recipe in order. */
export async function applyTransforms(
  model: LlamaModel,
  transforms: readonly TransformSpec[],
  ctx: TransformContext,
): Promise<LlamaModel> {
  let m = model;
  for (const t of transforms) {
    const f = RECIPE_TRANSFORMS[t.kind];
    if (!f) {
      throw new RangeError(
        `applyTransforms: Cannot apply transform "${t.kind}": available are ${
          Object.keys(RECIPE_TRANSFORMS).join(", ") || "none yet"
        }`,
      );
    }
    m = await f(m, t, ctx);
  }
  return m;
}
