// SPDX-License-Identifier: MIT
/**
 * The declarative recipe: `transforms → observer → reconstruction → format`, plus the optional
 * QEP correction before and LoRC compensation after the reconstruction. Plain JSON, so a recipe
 * can live in a file (`deno task quantize --recipe my_recipe.json`).
 *
 * @module
 */

/** An equivalent transform applied to the full-precision model before quantization. */
export interface TransformSpec {
  /** `hadamard` (QuaRot-style rotation; `online: false` skips the online R4), `awq` (see `RECIPE_TRANSFORMS`). */
  kind: string;
  /** Seed of randomized transforms. */
  seed?: number;
  /** Transform-specific options, passed through. */
  [option: string]: unknown;
}

/** Range setting (scale/zero per group). */
export interface ObserverSpec {
  /** `minmax` (default), `mse` (see `RECIPE_OBSERVERS`). */
  kind: string;
  /** Observer-specific options, passed through. */
  [option: string]: unknown;
}

/** How the integer codes are chosen. */
export type ReconstructionSpec =
  | { kind: "rtn" }
  | { kind: "gptq"; actOrder?: boolean; staticGroups?: boolean; blockSize?: number; dampRatio?: number }
  | { kind: "adaround"; iterations?: number; learningRate?: number; regWeight?: number }
  | { kind: "lwc"; iterations?: number; learningRate?: number }
  | { kind: "neuqi"; scaleSteps?: number }
  | { kind: "sinq"; iterations?: number };

/** Reconstruction kinds that need the layer Hessian. */
export const HESSIAN_RECONSTRUCTIONS: readonly string[] = ["gptq", "adaround", "lwc", "neuqi"];
/** Transforms that need calibration data. */
export const CALIBRATED_TRANSFORMS: readonly string[] = ["awq"];

/** A quantization recipe. */
export interface Recipe {
  /** Row name in results tables, e.g. `GPTQ+act-order`. */
  name: string;
  /** One line for humans. */
  description?: string;
  /** Applied in order to the FP model. */
  transforms?: TransformSpec[];
  /** Default min-max. */
  observer?: ObserverSpec;
  /** How the codes are chosen (RTN, GPTQ, AdaRound, learned clipping, NeUQI, SINQ). */
  reconstruction: ReconstructionSpec;
  /** Quantization error propagation before the reconstruction (strength α, damping). */
  qep?: { alpha?: number; dampRatio?: number };
  /** Low-rank compensation after the reconstruction. */
  lorc?: { rank: number; factorBits?: 8 | 16 };
  /** Default format id (`int4-g128-asym`); a table column or CLI flag overrides it. */
  format?: string;
}

/** Whether a recipe needs calibration data (a Hessian per linear). */
export function recipeNeedsCalibration(recipe: Recipe): boolean {
  return HESSIAN_RECONSTRUCTIONS.includes(recipe.reconstruction.kind) || recipe.qep !== undefined ||
    (recipe.transforms ?? []).some((t) => CALIBRATED_TRANSFORMS.includes(t.kind));
}
