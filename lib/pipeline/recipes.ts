// SPDX-License-Identifier: MIT
/**
 * Recipes applied to a model: `transforms → observer → reconstruction → format`. Recipes that
 * need Hessians run sequentially block by block on inputs from the already-quantized prefix
 * (`sequentialQuantize`, GPTQ's `true_sequential`); RTN recipes quantize each linear directly.
 * Progress is reported through a callback (the CLI draws a bar, notebooks a live display).
 *
 * The built-in recipes are the rows of the paper-style results table (`deno task table`).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import { formatId, type IntSpec, parseFormatId } from "../quant/spec.ts";
import { type QuantizedTensor, storageBits } from "../quant/quantized_tensor.ts";
import type { LlamaModel } from "../model/llama.ts";
import { linearNames } from "../model/config.ts";
import { sequentialQuantize } from "./sequential.ts";
import { mse, sqnr } from "../calib/metrics.ts";
import { type LayerOutcome, recipeLayerQuantizer } from "./recipe_layer.ts";
import { applyTransforms } from "./recipe_transforms.ts";
import { type Recipe, recipeNeedsCalibration } from "./recipe_types.ts";

export * from "./recipe_types.ts";
export { RECIPE_OBSERVERS } from "./recipe_observers.ts";
export { applyTransforms, type ModelTransform, RECIPE_TRANSFORMS, type TransformContext } from "./recipe_transforms.ts";
export { f16Scales, type LayerOutcome, paramsFromObserver, roundScalesF16 } from "./recipe_layer.ts";

/** The rows of the results table, in order. `FP` is the unquantized reference. */
export const BUILTIN_RECIPES: readonly Recipe[] = [
  { name: "RTN", reconstruction: { kind: "rtn" } },
  { name: "RTN+MSE clip", observer: { kind: "mse" }, reconstruction: { kind: "rtn" } },
  { name: "SINQ", reconstruction: { kind: "sinq" } },
  { name: "NeUQI", reconstruction: { kind: "neuqi" } },
  { name: "AWQ", transforms: [{ kind: "awq" }], reconstruction: { kind: "rtn" } },
  { name: "GPTQ", reconstruction: { kind: "gptq" } },
  { name: "GPTQ+act-order", reconstruction: { kind: "gptq", actOrder: true } },
  { name: "Hadamard+RTN", transforms: [{ kind: "hadamard", seed: 0 }], reconstruction: { kind: "rtn" } },
  { name: "Hadamard+GPTQ", transforms: [{ kind: "hadamard", seed: 0 }], reconstruction: { kind: "gptq" } },
  { name: "GPTQ+QEP", reconstruction: { kind: "gptq" }, qep: { alpha: 0.5 } },
  { name: "GPTQ+LoRC", reconstruction: { kind: "gptq" }, lorc: { rank: 8 } },
  { name: "AdaRound", reconstruction: { kind: "adaround", iterations: 200 } },
  { name: "learned clipping", reconstruction: { kind: "lwc", iterations: 100 } },
];

/**
 * A built-in recipe by name (case-insensitive), or a recipe parsed from JSON text.
 *
 * @throws {RangeError} for an unknown name (the message lists the built-ins)
 */
export function getRecipe(nameOrJson: string): Recipe {
  const text = nameOrJson.trim();
  if (text.startsWith("{")) return validateRecipe(JSON.parse(text));
  const r = BUILTIN_RECIPES.find((x) => x.name.toLowerCase() === text.toLowerCase());
  if (!r) {
    throw new RangeError(
      `getRecipe: Cannot find recipe "${nameOrJson}": built-ins are ${
        BUILTIN_RECIPES.map((x) => `"${x.name}"`).join(", ")
      }`,
    );
  }
  return r;
}

/**
 * A recipe named on a command line: a built-in name, or the path of a recipe JSON file (`*.json`).
 *
 * @param arg the name or path
 * @returns the recipe
 * @throws {RangeError} for an unknown name; `Deno.errors.NotFound` for a missing file; TypeError for a malformed recipe
 */
export function readRecipe(arg: string): Recipe {
  return getRecipe(arg.endsWith(".json") ? Deno.readTextFileSync(arg) : arg);
}

/** Checks the shape of a recipe read from JSON. */
export function validateRecipe(raw: unknown): Recipe {
  const r = raw as Recipe;
  const kinds = ["rtn", "gptq", "adaround", "lwc", "neuqi", "sinq"];
  if (typeof r !== "object" || r === null || typeof r.name !== "string") {
    throw new TypeError(`validateRecipe: Cannot read recipe: expected an object with a string "name"`);
  }
  if (!r.reconstruction || !kinds.includes(r.reconstruction.kind)) {
    throw new TypeError(
      `validateRecipe: Cannot read recipe "${r.name}": reconstruction.kind must be one of ${kinds.join(", ")}`,
    );
  }
  if (r.format !== undefined) parseFormatId(r.format);
  return r;
}

/** One progress event. */
export interface RecipeProgress {
  /** What is running: the transforms, the per-linear quantization, or finished. */
  stage: "transform" | "quantize" | "done";
  /** Linears quantized so far. */
  done: number;
  /** Linears in the model (7 per block). */
  total: number;
  /** Linear (or group) just finished. */
  name?: string;
}

/** Options of {@link applyRecipe}. */
export interface ApplyRecipeOptions {
  /** Format id or spec; overrides `recipe.format` (one of the two is required). */
  format?: IntSpec | string;
  /** Calibration ids `[n·seqLen]`; required by recipes with Hessians or activation-aware transforms. */
  calibration?: ArrayLike<number>;
  /** Tokens per calibration sequence (default 256). */
  seqLen?: number;
  /** Backend (default the model's). */
  ops?: Ops;
  /** Sequences per block forward in the sequential pass (default 8). */
  batchSize?: number;
  /** Called when the transforms start, after each sequential group (or linear), and at the end. */
  onProgress?: (p: RecipeProgress) => void;
}

/** Per-linear row of {@link RecipeResult}. */
export interface RecipeLayerRow {
  /** Linear name without `.weight`. */
  name: string;
  /** Output features. */
  rows: number;
  /** Input features. */
  cols: number;
  /** Mean squared weight error against the transformed FP weight. */
  mse: number;
  /** Weight SQNR in dB. */
  sqnr: number;
  /** Stored bits per weight of this linear (`storageBits` of its packed weight, plus LoRC factors). */
  bitsPerWeight: number;
}

/** Result of {@link applyRecipe}. */
export interface RecipeResult {
  /** The recipe applied. */
  recipe: Recipe;
  /** Format id used. */
  format: string;
  /** The format as a spec. */
  spec: IntSpec;
  /** The quantized model (dequantized weights in the forward pass). */
  model: LlamaModel;
  /** The transformed full-precision model the weights were quantized from. */
  transformed: LlamaModel;
  /** Packed weights per linear name (without `.weight`). */
  quantized: Map<string, QuantizedTensor>;
  /** One row per linear, in quantization order. */
  layers: RecipeLayerRow[];
  /** Bits per weight over all decoder linears, scales/zeros/g_idx and LoRC factors included. */
  bitsPerWeight: number;
  /** Wall seconds (transforms, calibration and quantization). */
  seconds: number;
}

/**
 * Applies a recipe to every decoder linear of a model.
 *
 * @param model full-precision model
 * @param recipe the recipe (see {@link getRecipe})
 * @param options `format`, `calibration`, `seqLen`, `ops`, `batchSize`, `onProgress`
 * @returns the quantized model, packed weights, per-layer rows, bits per weight and time
 * @throws {RangeError} when calibration data is needed but missing, or a part is unknown
 */
export async function applyRecipe(
  model: LlamaModel,
  recipe: Recipe,
  options: ApplyRecipeOptions = {},
): Promise<RecipeResult> {
  const t0 = performance.now();
  const fmt = options.format ?? recipe.format;
  if (fmt === undefined) throw new RangeError(`applyRecipe: Cannot apply recipe "${recipe.name}": no format given`);
  const spec = typeof fmt === "string" ? parseFormatId(fmt) : fmt;
  const ops = options.ops ?? model.ops;
  const seqLen = options.seqLen ?? 256;
  const calib = options.calibration;
  if (recipeNeedsCalibration(recipe) && (!calib || calib.length === 0)) {
    throw new RangeError(
      `applyRecipe: Cannot apply recipe "${recipe.name}": it needs calibration data (options.calibration)`,
    );
  }
  const total = 7 * model.config.numLayers;
  options.onProgress?.({ stage: "transform", done: 0, total });
  const transformed = await applyTransforms(model, recipe.transforms ?? [], {
    ops,
    spec,
    ...(calib && { calibration: calib, seqLen }),
  });
  const quantizeLayer = recipeLayerQuantizer(recipe, spec, {
    ops,
    reference: transformed,
    ...(calib && { calibration: calib, seqLen }),
  });
  const outcomes = new Map<string, LayerOutcome>();
  let quantizedModel: LlamaModel;
  if (recipeNeedsCalibration(recipe)) {
    let done = 0;
    const r = await sequentialQuantize(transformed, calib as ArrayLike<number>, seqLen, quantizeLayer, {
      ops,
      ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
      onProgress: (_l, _g, group) => {
        done += group.length;
        options.onProgress?.({ stage: "quantize", done, total, name: group.join(", ") });
      },
    });
    for (const [name, o] of r.results) outcomes.set(name, o);
    quantizedModel = r.model;
  } else {
    const overrides = new Map<string, Tensor<"f32">>();
    let done = 0;
    for (let l = 0; l < model.config.numLayers; l++) {
      for (const name of linearNames(l)) {
        const o = await quantizeLayer(name, transformed.weight(`${name}.weight`), undefined);
        outcomes.set(name, o);
        overrides.set(`${name}.weight`, o.weight);
        options.onProgress?.({ stage: "quantize", done: ++done, total, name });
      }
    }
    quantizedModel = transformed.withWeights(overrides);
  }
  const layers: RecipeLayerRow[] = [];
  const quantized = new Map<string, QuantizedTensor>();
  let bits = 0, count = 0;
  for (const [name, o] of outcomes) {
    const W = transformed.weight(`${name}.weight`);
    const [rows, cols] = W.shape as [number, number];
    const b = storageBits(o.quantized) + o.extraBits;
    bits += b;
    count += rows * cols;
    quantized.set(name, o.quantized);
    layers.push({ name, rows, cols, mse: mse(W, o.weight), sqnr: sqnr(W, o.weight), bitsPerWeight: b / (rows * cols) });
  }
  options.onProgress?.({ stage: "done", done: total, total });
  return {
    recipe,
    format: formatId(spec),
    spec,
    model: quantizedModel,
    transformed,
    quantized,
    layers,
    bitsPerWeight: bits / count,
    seconds: (performance.now() - t0) / 1000,
  };
}
