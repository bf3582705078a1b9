// SPDX-License-Identifier: MIT
/**
 * Activation quantization for WxAy experiments: per-token dynamic fake quantization of the
 * inputs of linear layers (each row of X `[tokens, in]` is one token, so a spec with
 * `groupSize: 0` is per-token; `groupSize > 0` is per-token groups; `perTensor` one range),
 * or static per-tensor clipping at calibrated thresholds (KL, percentile, running min-max),
 * applied through the model's `linearInput` hook. Also measures the quantization-kernel
 * fraction (CrossQuant: the share of nonzero activations that quantize to 0).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import { tsOps } from "../ops/ts/mod.ts";
import type { QuantSpec } from "./spec.ts";
import { fakeQuantizeWith, type FormatParams, formatParams, paramsFromRanges } from "./format_params.ts";

/**
 * The part of the model's forward hooks this module produces (structurally the same as
 * `ForwardHooks` in lib/model/llama.ts, restated so lib/quant does not depend on lib/model).
 */
export interface LinearInputHooks {
  /** Sees (and may replace) the input X f32 `[tokens, in]` of linear `name`. */
  linearInput?: (name: string, X: Tensor<"f32">) => Tensor<"f32"> | void | Promise<Tensor<"f32"> | void>;
  /** Sees the residual stream after each block. */
  blockOutput?: (layer: number, hidden: Tensor<"f32">) => void | Promise<void>;
}

/** Options of {@link quantizeActivations}. */
export interface ActivationQuantOptions {
  /** Backend (default `tsOps`). */
  ops?: Ops;
  /** Static symmetric threshold: clip |x| at this value with one per-tensor range (dynamic when absent). */
  threshold?: number;
}

/**
 * Fake-quantizes activations X `[tokens, in]` (per token when `spec.groupSize` is 0).
 *
 * @param X f32 `[tokens, in]`, finite
 * @param spec int/fp/codebook/mx format (`log2` needs non-negative inputs)
 * @param options `ops`, `threshold` for static clipping
 * @returns f32 `[tokens, in]`
 *
 * @example Per-token int8: each row keeps its own scale
 * ```ts
 * import { quantizeActivations } from "./activation.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const X = new Tensor("f32", [2, 2], new Float32Array([1, -0.5, 100, 3]));
 * const Y = await quantizeActivations(X, { format: "int", bits: 8, groupSize: 0, symmetric: true });
 * assert.ok(Math.abs(Y.data[1]! + 0.5) < 0.01);
 * ```
 */
export async function quantizeActivations(
  X: Tensor<"f32">,
  spec: QuantSpec,
  options: ActivationQuantOptions = {},
): Promise<Tensor<"f32">> {
  const ops = options.ops ?? tsOps;
  let params: FormatParams;
  if (options.threshold !== undefined) {
    const t = options.threshold;
    if (!(t > 0) || !Number.isFinite(t)) {
      throw new RangeError(`quantizeActivations: Cannot clip at threshold ${t}: expected a finite value > 0`);
    }
    if (spec.format === "mx") {
      throw new RangeError("quantizeActivations: Cannot use a static threshold with an MX format");
    }
    const lo = spec.format === "log2" ? 0 : -t;
    params = paramsFromRanges(spec, { R: 1, G: 1, lo: Float64Array.of(lo), hi: Float64Array.of(t) });
  } else {
    params = formatParams(X, spec);
  }
  return await fakeQuantizeWith(X, spec, params, ops);
}

/** Options of {@link activationQuantHooks}. */
export interface ActivationHookOptions {
  /** Backend (default `tsOps`). */
  ops?: Ops;
  /** Which linears to quantize (default: every decoder linear, i.e. names containing `.layers.`). */
  include?: (name: string) => boolean;
  /** Static thresholds per linear name (linears absent from the map stay dynamic). */
  thresholds?: ReadonlyMap<string, number>;
  /** Receives, per call, the linear name and its quantization-kernel fraction. */
  onKernelFraction?: (name: string, fraction: number) => void;
  /** Hooks applied first (e.g. an online rotation): their output is what gets quantized. */
  inner?: LinearInputHooks;
}

/**
 * Forward hooks that fake-quantize linear inputs (WxAy evaluation): pass as `{ hooks }` to
 * `model.forward`, or wrap a model for `evaluateLm`.
 *
 * @example
 * ```ts ignore
 * const hooks = activationQuantHooks({ format: "int", bits: 8, groupSize: 0, symmetric: true });
 * const logits = await model.forward(ids, 256, { hooks });
 * ```
 */
export function activationQuantHooks(spec: QuantSpec, options: ActivationHookOptions = {}): LinearInputHooks {
  const include = options.include ?? ((name: string) => name.includes(".layers."));
  return {
    ...options.inner,
    linearInput: async (name, X) => {
      const input = (await options.inner?.linearInput?.(name, X)) ?? X;
      if (!include(name)) return input === X ? undefined : input;
      const threshold = options.thresholds?.get(name);
      const Y = await quantizeActivations(input, spec, {
        ...(options.ops ? { ops: options.ops } : {}),
        ...(threshold !== undefined ? { threshold } : {}),
      });
      if (options.onKernelFraction) {
        let k = 0;
        for (let i = 0; i < Y.size; i++) if (Y.data[i] === 0 && input.data[i] !== 0) k++;
        options.onKernelFraction(name, k / Math.max(1, Y.size));
      }
      return Y;
    },
  };
}
