// SPDX-License-Identifier: MIT
/**
 * Round-to-nearest over a whole model with any format and observer: every decoder linear is
 * quantized independently (no calibration data needed except for the `mse-output` and `neuqi`
 * observers, which read per-layer Hessians). The result is a model the evaluator runs
 * (dequantized weights swapped in) plus the packed {@link QuantizedTensor} of every linear for
 * exact size accounting and export. Embeddings, norms and lm_head stay in full precision.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import type { LlamaModel } from "../model/llama.ts";
import { formatId, type QuantSpec } from "../quant/spec.ts";
import { quantize, type QuantizeOptions, type WeightObserver } from "../quant/quantize.ts";
import { sinqQuantize } from "../quant/sinq.ts";
import { type QuantizedTensor, storageBits } from "../quant/quantized_tensor.ts";
import { weightedError } from "../calib/metrics.ts";
import { type LayerErrorRow, quantizeModelWeights } from "./quantize_model.ts";

/** Options of {@link rtnModel}. */
export interface RtnModelOptions extends Omit<QuantizeOptions, "observer" | "H"> {
  /** Range setting, or `sinq` (Sinkhorn dual scaling then min-max; calibration-free). Default `minmax`. */
  observer?: WeightObserver | "sinq";
  /** Per-linear Hessians f64 `[in, in]` (from `collectHessians`): required by `mse-output`, used by `neuqi`, reported as weighted error. */
  hessians?: ReadonlyMap<string, Tensor<"f64">>;
  /** Called after each linear. */
  onProgress?: (done: number, total: number, name: string) => void;
}

/** Per-linear row of {@link rtnModel}. */
export interface RtnLayerRow extends LayerErrorRow {
  /** Stored bits per weight of this linear (`storageBits`: codes, scales, zeros, column scales). */
  bitsPerWeight: number;
  /** `Tr(ΔW H ΔWᵀ)` when Hessians were given. */
  weightedError?: number;
}

/** Result of {@link rtnModel}. */
export interface RtnModelResult {
  /** The model with dequantized linears (runs in `evaluateLm`). */
  model: LlamaModel;
  /** One row per linear. */
  layers: RtnLayerRow[];
  /** Packed form of every linear, by name (without `.weight`). */
  quantized: Map<string, QuantizedTensor>;
  /** Stored bits per weight over all quantized linears. */
  bitsPerWeight: number;
  /** Canonical format id. */
  formatId: string;
  /** Range setting used (`minmax`, `mse`, ..., or `sinq`). */
  observer: WeightObserver | "sinq";
  /** Wall seconds. */
  seconds: number;
}

/**
 * Quantizes every decoder linear of `model` with `spec` and the chosen observer.
 *
 * @param model the full-precision model
 * @param spec any format
 * @param options `observer`, `hessians`, `ops` and the observer options of `quantize`
 * @returns the quantized model, per-layer rows, packed tensors and bits per weight
 * @throws {RangeError} when `mse-output` lacks a Hessian, on invalid specs (bits, group size)
 *
 * @example
 * ```ts ignore
 * const r = await rtnModel(model, parseQuantSpec("int4-g128-asym"), { observer: "mse" });
 * const ev = await evaluateLm(r.model, test, { maxWindows: 32 });
 * console.log(r.bitsPerWeight, ev.perplexity);
 * ```
 */
export async function rtnModel(
  model: LlamaModel,
  spec: QuantSpec,
  options: RtnModelOptions = {},
): Promise<RtnModelResult> {
  const t0 = performance.now();
  const ops: Ops = options.ops ?? model.ops;
  const observer = options.observer ?? "minmax";
  const quantized = new Map<string, QuantizedTensor>();
  const { model: q, layers } = await quantizeModelWeights(model, async (name, W) => {
    const H = options.hessians?.get(name);
    if (observer === "mse-output" && !H) {
      throw new RangeError(
        `rtnModel: Cannot use observer "mse-output" for "${name}": no Hessian given (pass 'hessians' from collectHessians)`,
      );
    }
    if (observer === "sinq") {
      const r = await sinqQuantize(W, spec, { ops });
      quantized.set(name, r.quantized);
      return r.weight;
    }
    const r = await quantize(W, spec, { ...options, ops, observer, ...(H ? { H } : {}) });
    quantized.set(name, r.quantized);
    return r.weight;
  }, options.onProgress ? { onProgress: options.onProgress } : {});
  let bits = 0, count = 0;
  const rows: RtnLayerRow[] = layers.map((row) => {
    const qt = quantized.get(row.name)!;
    const b = storageBits(qt);
    bits += b;
    count += row.rows * row.cols;
    const out: RtnLayerRow = { ...row, bitsPerWeight: b / (row.rows * row.cols) };
    const H = options.hessians?.get(row.name);
    if (H) out.weightedError = weightedError(model.weight(`${row.name}.weight`), q.weight(`${row.name}.weight`), H);
    return out;
  });
  return {
    model: q,
    layers: rows,
    quantized,
    bitsPerWeight: bits / count,
    formatId: formatId(spec),
    observer,
    seconds: (performance.now() - t0) / 1000,
  };
}
