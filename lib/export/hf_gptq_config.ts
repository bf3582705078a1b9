// SPDX-License-Identifier: MIT
/**
 * The `quantization_config` (in `config.json`) and `quantize_config.json` of a GPTQ-format export,
 * with fields that say what was done:
 *
 * - storage fields every loader reads (vLLM `GPTQConfig`/`GPTQMarlinConfig`, transformers
 *   `GPTQConfig`, GPTQModel `QuantizeConfig`): `quant_method: "gptq"` (the storage format, also
 *   for codes not chosen by GPTQ), `checkpoint_format`, `bits`, `group_size` (−1 per channel),
 *   `desc_act` (true whenever `g_idx` is not `i / group_size`: vLLM ignores `g_idx` otherwise),
 *   `sym`, `lm_head: false`;
 * - GPTQ process fields only when the codes came from GPTQ: `damp_percent` (the configured
 *   relative damping; quantlab escalates it ×10 only when a Cholesky factorization fails),
 *   `true_sequential` (quantlab always quantizes a block's linears in forward-order groups),
 *   `static_groups`. An RTN (or AdaRound, learned-clipping) export has `desc_act: false` and none
 *   of them;
 * - a `quantlab` block (loaders ignore unknown keys): the method, the recipe and quantlab's
 *   format id.
 *
 * @module
 */
import type { IntQuantized } from "../quant/quantized_tensor.ts";
import { parseFormatId } from "../quant/spec.ts";
import type { GptqCheckpointFormat } from "./_gptq_layout.ts";
import { HfExportError } from "./hf_files.ts";

export type { GptqCheckpointFormat } from "./_gptq_layout.ts";

/** How the exported codes were chosen (becomes the truthful part of `quantization_config`). */
export interface GptqProvenance {
  /** `gptq` for GPTQ; anything else (`rtn`, `adaround`, `lwc`) records no GPTQ process fields. */
  method: string;
  /** GPTQ: relative damping it was configured with (GPTQ's `percdamp`). */
  dampPercent?: number;
  /** GPTQ: act-order (columns by decreasing Hessian diagonal). */
  actOrder?: boolean;
  /** GPTQ: groups fixed before the sweep (`static_groups`). */
  staticGroups?: boolean;
  /** GPTQ: linears of a block quantized in forward-order groups (default true, as quantlab does). */
  trueSequential?: boolean;
  /** Recipe name (e.g. `GPTQ+act-order`). */
  recipe?: string;
}

/** Options of {@link gptqQuantizationConfig}. */
export interface GptqConfigOptions {
  /** `gptq` (v1, default; every runtime) or `gptq_v2` (GPTQModel; stores zero points as they are). */
  checkpointFormat?: GptqCheckpointFormat;
  /** How the codes were chosen; without it only storage fields are written. */
  provenance?: GptqProvenance;
}

/**
 * The `quantization_config` object for linears quantized like `q`.
 *
 * @param q any quantized linear of the model (format, bits, symmetry)
 * @param gIdxUsed whether some linear's `g_idx` is not the trivial `i / group_size` (act-order groups)
 * @param options `checkpointFormat`, `provenance`
 * @returns the JSON object stored under `quantization_config` and as `quantize_config.json`
 * @throws {HfExportError} when the provenance contradicts the stored `g_idx`
 *
 * @example RTN: storage fields, no GPTQ claims
 * ```ts
 * import { gptqQuantizationConfig } from "./hf_gptq_config.ts";
 * import { intQuantized } from "../quant/quantized_tensor.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const q = intQuantized("int4-g128-sym", new Tensor("u8", [8, 128]), 4, {
 *   scale: new Tensor("f32", [8, 1]), zero: new Tensor("f32", [8, 1]), symmetric: true });
 * const c = gptqQuantizationConfig(q, false, { provenance: { method: "rtn", recipe: "RTN" } });
 * assert.equal(c.desc_act, false);
 * assert.equal(c.sym, true);
 * assert.equal("damp_percent" in c, false);
 * ```
 */
export function gptqQuantizationConfig(
  q: IntQuantized,
  gIdxUsed: boolean,
  options: GptqConfigOptions = {},
): Record<string, unknown> {
  const spec = parseFormatId(q.formatId);
  const p = options.provenance;
  const isGptq = p?.method === "gptq";
  if (gIdxUsed && p !== undefined && !(isGptq && p.actOrder === true)) {
    throw new HfExportError(
      `gptqQuantizationConfig: Cannot describe ${q.formatId} codes made by "${p.method}"${
        isGptq ? " without act-order" : ""
      }: their g_idx is permuted, which only act-order GPTQ produces`,
    );
  }
  const config: Record<string, unknown> = {
    "quant_method": "gptq",
    "checkpoint_format": options.checkpointFormat ?? "gptq",
    bits: q.codes.bits,
    "group_size": spec.groupSize === 0 ? -1 : spec.groupSize,
    "desc_act": gIdxUsed || (isGptq && p.actOrder === true),
    sym: q.symmetric,
    "lm_head": false,
  };
  if (isGptq) {
    if (p.dampPercent !== undefined) config["damp_percent"] = p.dampPercent;
    config["true_sequential"] = p.trueSequential ?? true;
    config["static_groups"] = p.staticGroups ?? false;
  }
  config["quantlab"] = {
    format: q.formatId,
    ...(p && { method: p.method }),
    ...(p?.recipe !== undefined && { recipe: p.recipe }),
  };
  return config;
}
