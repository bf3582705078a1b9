// SPDX-License-Identifier: MIT
/**
 * The per-linear step of a recipe: observer → (QEP correction) → reconstruction → (LoRC), as a
 * `LayerQuantizer` for `sequentialQuantize`, or a plain weight quantizer when no Hessian is
 * needed. Each call returns the dequantized weight, its packed form, and any extra storage
 * (LoRC factors) for exact bits-per-weight accounting.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { f16BitsToF32, f32ToF16Bits } from "../tensor/numeric.ts";
import type { IntQuantParams, Ops } from "../ops/ops.ts";
import type { IntSpec } from "../quant/spec.ts";
import { formatId } from "../quant/spec.ts";
import { intQuantized, type QuantizedTensor } from "../quant/quantized_tensor.ts";
import type { LlamaModel } from "../model/llama.ts";
import { linearNames } from "../model/config.ts";
import { captureLinearInputs } from "../calib/capture.ts";
import type { SequentialContext } from "./sequential.ts";
import { gptq } from "../reconstruct/gptq.ts";
import { type GroupObserver, paramsFromObserver } from "../quant/group_params.ts";
import { adaround } from "../reconstruct/adaround.ts";
import { learnedClip } from "../reconstruct/learned_clip.ts";
import { qepCorrect, qepCrossHessian } from "../reconstruct/qep.ts";
import { lorc } from "../reconstruct/lorc.ts";
import { HESSIAN_RECONSTRUCTIONS, type Recipe } from "./recipe_types.ts";
import { neuqiParams, neuqiQuantize } from "../quant/neuqi.ts";
import { sinqQuantize } from "../quant/sinq.ts";
import { observerFor } from "./recipe_observers.ts";
import { Workspace } from "../ops/workspace.ts";

/** What one linear's quantization produced. */
export interface LayerOutcome {
  /** Dequantized (fake-quantized) weight f32 `[out, in]`. */
  weight: Tensor<"f32">;
  /** Packed codes and parameters. */
  quantized: QuantizedTensor;
  /** Storage beyond `quantized`, in bits (LoRC factors). */
  extraBits: number;
}

export { paramsFromObserver } from "../quant/group_params.ts";

/** Round-to-nearest with an observer; no Hessian. */
export async function rtnLayer(
  W: Tensor<"f32">,
  spec: IntSpec,
  observer: GroupObserver,
  ops: Ops,
): Promise<LayerOutcome> {
  return await rtnWithParams(W, spec, await paramsFromObserver(W, spec, observer), ops);
}

/** Round-to-nearest with given parameters `[rows, G]`. */
export async function rtnWithParams(
  W: Tensor<"f32">,
  spec: IntSpec,
  params: IntQuantParams,
  ops: Ops,
): Promise<LayerOutcome> {
  const [weight, codes] = await Promise.all([ops.fakeQuantize(W, params), ops.quantizeCodes(W, params)]);
  const quantized = intQuantized(formatId(spec), codes, spec.bits, { ...params, symmetric: spec.symmetric });
  return { weight, quantized, extraBits: 0 };
}

/** Rounds every scale to the nearest f16 value (kept > 0), as the f16 storage will hold it. */
export function roundScalesF16(p: IntQuantParams): IntQuantParams {
  const scale = Float32Array.from(p.scale.data, (s) => {
    const h = f16BitsToF32(f32ToF16Bits(s));
    return h > 0 ? h : 2 ** -24;
  });
  return { scale: new Tensor("f32", p.scale.shape, scale), zero: p.zero, maxq: p.maxq };
}

/** An observer whose scales are rounded to f16. */
export function f16Scales(observer: GroupObserver): GroupObserver {
  return async (W, spec) => roundScalesF16(await observer(W, spec));
}

/** Builds the weight quantizer of a recipe (the Hessian may be absent for RTN recipes). */
export function recipeLayerQuantizer(
  recipe: Recipe,
  spec: IntSpec,
  env: { ops: Ops; reference?: LlamaModel; calibration?: ArrayLike<number>; seqLen?: number },
): (name: string, W: Tensor<"f32">, H: Tensor<"f64"> | undefined, ctx?: SequentialContext) => Promise<LayerOutcome> {
  const { ops } = env;
  // Scales are stored as f16 (bits-per-weight accounting, GPTQ export): quantize with exactly those.
  const observer = f16Scales(observerFor(recipe.observer));
  const rec = recipe.reconstruction;
  const qepCache: QepCache = { fpLayer: -1, fp: new Map(), hdelta: new Map() };
  // GPTQ's n² scratch (Hinv, W copy) reused from layer to layer: fresh 100+ MB arrays per layer
  // cost page faults and linger until V8 collects them. Layers are quantized one after another.
  const workspace = new Workspace();
  return async (name, W0, H, ctx) => {
    const needH = HESSIAN_RECONSTRUCTIONS.includes(rec.kind) || recipe.qep !== undefined;
    if (needH && H === undefined) {
      throw new RangeError(
        `recipe "${recipe.name}": Cannot quantize "${name}" without a Hessian: calibration data is required`,
      );
    }
    let W = W0;
    if (recipe.qep && H && ctx) {
      const Hdelta = await crossHessian(name, ctx, env, qepCache);
      W = await qepCorrect(W0, { Hhat: H, Hdelta }, { ops, ...recipe.qep });
    }
    let out: LayerOutcome;
    if (rec.kind === "rtn") {
      out = await rtnLayer(W, spec, observer, ops);
    } else if (rec.kind === "gptq") {
      const { kind: _, ...o } = rec;
      const r = await gptq(W, H as Tensor<"f64">, { spec, ops, observer, workspace, ...o });
      out = { weight: r.weight, quantized: r.quantized, extraBits: 0 };
    } else if (rec.kind === "adaround") {
      const { kind: _, ...o } = rec;
      const params = await paramsFromObserver(W, spec, observer);
      const r = await adaround(W, H as Tensor<"f64">, { spec, ops, params, ...o });
      out = { weight: r.weight, quantized: r.quantized, extraBits: 0 };
    } else if (rec.kind === "neuqi") {
      const p = neuqiParams(W, spec, {
        H: H as Tensor<"f64">,
        ...(rec.scaleSteps !== undefined && { scaleSteps: rec.scaleSteps }),
      });
      const params = roundScalesF16(p);
      const { weight, codes } = neuqiQuantize(W, params);
      const quantized = intQuantized(formatId(spec), codes, spec.bits, { ...params, symmetric: false });
      out = { weight, quantized, extraBits: 0 };
    } else if (rec.kind === "sinq") {
      const cols = W.shape[1] as number;
      const r = await sinqQuantize(W, { ...spec, groupSize: spec.groupSize || cols }, {
        ops,
        ...(rec.iterations !== undefined && { iterations: rec.iterations }),
      });
      out = { weight: r.weight, quantized: r.quantized, extraBits: 0 };
    } else {
      const { kind: _, ...o } = rec;
      const r = await learnedClip(W, H as Tensor<"f64">, { spec, ops, ...o });
      out = await rtnWithParams(W, spec, roundScalesF16(r.params), ops);
    }
    if (recipe.lorc) {
      const c = await lorc(W0, out.weight, { ops, ...recipe.lorc });
      const [rows, cols] = W0.shape as [number, number];
      out = { ...out, weight: c.weight, extraBits: c.extraBitsPerWeight * rows * cols };
    }
    return out;
  };
}

/**
 * QEP's `H_δ` for linear `name`: inputs of the same calibration tokens through the
 * full-precision reference and through the model quantized so far (`ctx.model`). Linears of
 * one sequential group share their inputs, so one pair of captures serves the whole group.
 */
async function crossHessian(
  name: string,
  ctx: SequentialContext,
  env: { ops: Ops; reference?: LlamaModel; calibration?: ArrayLike<number>; seqLen?: number },
  cache: QepCache,
): Promise<Tensor<"f64">> {
  const key = `${ctx.layer}:${ctx.groupIndex}`;
  let byName = cache.hdelta.get(key);
  if (!byName) {
    cache.hdelta.clear(); // earlier groups are done: keep memory bounded
    const names = [...ctx.group];
    if (ctx.linearInputs) {
      // Streaming driver: block inputs are kept per layer, no whole-model forward is possible.
      if (cache.fpLayer !== ctx.layer) {
        cache.fp = await ctx.linearInputs(linearNames(ctx.layer), "reference");
        cache.fpLayer = ctx.layer;
      }
      const Xhat = await ctx.linearInputs(names, "quantized");
      byName = new Map();
      for (const n of names) byName.set(n, await qepCrossHessian(cache.fp.get(n)!, Xhat.get(n)!, env.ops));
      cache.hdelta.set(key, byName);
      return byName.get(name)!;
    }
    const { calibration, seqLen } = env;
    if (!calibration || !seqLen) {
      throw new RangeError(`QEP: Cannot capture inputs of "${name}" without calibration data`);
    }
    if (cache.fpLayer !== ctx.layer) {
      // The FP model never changes: capture all seven inputs of the block in one forward pass.
      if (!env.reference) throw new RangeError(`QEP: Cannot capture inputs of "${name}" without the reference model`);
      cache.fp = await captureLinearInputs(env.reference, calibration, seqLen, {
        names: linearNames(ctx.layer),
        ops: env.ops,
      });
      cache.fpLayer = ctx.layer;
    }
    const Xhat = await captureLinearInputs(ctx.model, calibration, seqLen, { names, ops: env.ops });
    byName = new Map();
    for (const n of names) byName.set(n, await qepCrossHessian(cache.fp.get(n)!, Xhat.get(n)!, env.ops));
    cache.hdelta.set(key, byName);
  }
  return byName.get(name)!;
}

/** QEP's per-recipe cache: FP inputs of the current block, H_δ of the current group. */
interface QepCache {
  fpLayer: number;
  fp: Map<string, Tensor<"f32">>;
  hdelta: Map<string, Map<string, Tensor<"f64">>>;
}
