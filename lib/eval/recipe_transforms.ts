// SPDX-License-Identifier: MIT
/**
 * Transforms a recipe can name: each takes the full-precision model and returns an
 * equivalent model (same outputs in full precision) whose weights quantize better.
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import type { LlamaModel } from "../model/llama.ts";
import type { TransformSpec } from "./recipe_types.ts";

/** What a transform may use besides the model. */
export interface TransformContext {
  ops: Ops;
  /** Calibration ids `[n·seqLen]` (activation-aware transforms need them). */
  calibration?: ArrayLike<number>;
  seqLen?: number;
}

/** A model transform. */
export type ModelTransform = (model: LlamaModel, spec: TransformSpec, ctx: TransformContext) => Promise<LlamaModel>;

/** Transforms by name. Extend by adding entries (implementations live in lib/rotate and lib/quant). */
export const RECIPE_TRANSFORMS: Record<string, ModelTransform> = {};

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
