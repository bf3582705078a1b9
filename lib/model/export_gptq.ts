// SPDX-License-Identifier: MIT
/**
 * Exporting a quantized model as checkpoints other tools load, and reading them back:
 *
 * - {@link writeFakeQuantCheckpoint}: the full-precision layout (`config.json` +
 *   `model.safetensors`, every weight f32) with the dequantized weights — loadable by any
 *   Hugging Face–style tool and by `loadLlama`;
 * - {@link writeGptqCheckpoint}: the packed GPTQ layout (`qweight`/`qzeros`/`scales`/`g_idx`
 *   per linear, see `_gptq_layout.ts`) with `quantization_config` in `config.json`;
 * - {@link loadGptqCheckpoint}: reads the packed layout back into a model with dequantized
 *   weights plus the packed tensors.
 *
 * Both round-trip to identical dequantized weights when scales are f16-representable (the GPTQ
 * layout stores f16 scales; recipes quantize with f16 scales for that reason).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { writeSafetensors } from "../tensor/safetensors_write.ts";
import type { SafetensorsValue } from "../tensor/safetensors_write.ts";
import { openCheckpoint } from "../tensor/safetensors_checkpoint.ts";
import type { Ops } from "../ops/ops.ts";
import { dequantize, type IntQuantized } from "../quant/quantized_tensor.ts";
import { parseFormatId } from "../quant/spec.ts";
import { linearNames, type LlamaConfig, parseLlamaConfig } from "./config.ts";
import { LlamaModel } from "./llama.ts";
import { toHfConfig } from "./hf_config.ts";
import { decodeGptq, encodeGptq } from "./_gptq_layout.ts";

/**
 * Hugging Face `config.json` fields of a {@link LlamaConfig} ({@link toHfConfig}: the architecture
 * class, RoPE scaling, biases and sliding windows survive the round trip), stored as float32.
 */
export function hfConfig(c: LlamaConfig): Record<string, unknown> {
  return { ...toHfConfig(c), "torch_dtype": "float32" };
}

/** GPTQ `quantization_config` options recorded in `config.json`. */
export interface GptqExportOptions {
  /** Act-order (`desc_act`). Default: true when any linear has a non-trivial g_idx. */
  descAct?: boolean;
  /** `static_groups` (default false). */
  staticGroups?: boolean;
  /** `damp_percent` (default 0.01). */
  dampPercent?: number;
  /** `true_sequential` (default true). */
  trueSequential?: boolean;
  /** Extra `__metadata__` strings (e.g. the recipe) for the safetensors file. */
  metadata?: Record<string, string>;
}

/**
 * The `quantization_config` object of the GPTQ layout for linears quantized like `q` (the
 * streaming writer builds `config.json` with it one layer at a time).
 *
 * @param q any quantized linear of the model (format, bits, symmetry)
 * @param options `descAct` (default false), `staticGroups`, `dampPercent`, `trueSequential`
 * @returns the JSON object to store under `quantization_config`
 */
export function gptqQuantizationConfig(q: IntQuantized, options: GptqExportOptions = {}): Record<string, unknown> {
  const spec = parseFormatId(q.formatId);
  return {
    quant_method: "gptq",
    bits: q.codes.bits,
    group_size: spec.groupSize === 0 ? -1 : spec.groupSize,
    desc_act: options.descAct ?? false,
    sym: q.symmetric,
    static_groups: options.staticGroups ?? false,
    true_sequential: options.trueSequential ?? true,
    damp_percent: options.dampPercent ?? 0.01,
    checkpoint_format: "gptq",
    quantlab_format: q.formatId,
  };
}

/**
 * Writes a model with fake-quantized (dequantized) weights in the full-precision layout.
 *
 * @param dir output directory (created)
 * @param model the quantized model (e.g. `applyRecipe(...).model`)
 */
export async function writeFakeQuantCheckpoint(
  dir: string,
  model: LlamaModel,
  metadata: Record<string, string> = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(hfConfig(model.config), null, 2) + "\n");
  const record: Record<string, SafetensorsValue> = {};
  for (const [name, w] of model.weights) record[name] = w;
  await writeSafetensors(`${dir}/model.safetensors`, record, { format: "pt", ...metadata });
}

/**
 * Writes the packed GPTQ layout: linears from `quantized`, every other weight (embeddings,
 * norms, lm_head) from `model` in f32.
 *
 * @param dir output directory (created)
 * @param model provides the config and the unquantized weights
 * @param quantized packed integer weights by linear name (without `.weight`), every decoder linear
 * @throws {RangeError} when a linear is missing, formats differ, or a tensor does not fit the layout
 */
export async function writeGptqCheckpoint(
  dir: string,
  model: LlamaModel,
  quantized: ReadonlyMap<string, IntQuantized>,
  options: GptqExportOptions = {},
): Promise<void> {
  const fn = "writeGptqCheckpoint";
  const linears = new Set<string>();
  for (let l = 0; l < model.config.numLayers; l++) for (const n of linearNames(l)) linears.add(n);
  const first = quantized.values().next().value as IntQuantized | undefined;
  if (!first) throw new RangeError(`${fn}: Cannot export without quantized linears`);
  const record: Record<string, SafetensorsValue> = {};
  let descAct = false;
  for (const [name, w] of model.weights) {
    const base = name.replace(/\.weight$/, "");
    if (!linears.has(base)) {
      record[name] = w;
      continue;
    }
    const q = quantized.get(base);
    if (!q) throw new RangeError(`${fn}: Cannot export "${base}": it has no quantized weight`);
    if (q.formatId !== first.formatId) {
      throw new RangeError(`${fn}: Cannot export mixed formats: "${base}" is ${q.formatId}, others ${first.formatId}`);
    }
    const t = encodeGptq(base, q);
    if (q.groupIndex) descAct = true;
    record[`${base}.qweight`] = t.qweight;
    record[`${base}.qzeros`] = t.qzeros;
    record[`${base}.scales`] = t.scales;
    record[`${base}.g_idx`] = t.gIdx;
  }
  const config = {
    ...hfConfig(model.config),
    "quantization_config": gptqQuantizationConfig(first, { ...options, descAct: options.descAct ?? descAct }),
  };
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config, null, 2) + "\n");
  await writeSafetensors(`${dir}/model.safetensors`, record, { format: "pt", ...options.metadata });
}

/** Result of {@link loadGptqCheckpoint}. */
export interface GptqCheckpoint {
  /** Model with dequantized f32 weights. */
  model: LlamaModel;
  /** Packed weights by linear name. */
  quantized: Map<string, IntQuantized>;
  /** The `quantization_config` object as written. */
  quantizationConfig: Record<string, unknown>;
}

/**
 * Reads a packed GPTQ checkpoint (`checkpoint_format: "gptq"`) into a model.
 *
 * @param dir directory with `config.json` (with `quantization_config`) and safetensors
 * @param options `ops` backend of the returned model
 * @throws {RangeError} when the config is not GPTQ or a linear's tensors are missing
 */
export async function loadGptqCheckpoint(dir: string, options: { ops: Ops }): Promise<GptqCheckpoint> {
  const fn = "loadGptqCheckpoint";
  const raw = JSON.parse(await Deno.readTextFile(`${dir}/config.json`)) as Record<string, unknown>;
  const qc = raw.quantization_config as Record<string, unknown> | undefined;
  if (!qc || qc.quant_method !== "gptq") {
    throw new RangeError(
      `${fn}: Cannot read "${dir}": config.json has no quantization_config with quant_method "gptq"`,
    );
  }
  if (qc.checkpoint_format !== undefined && qc.checkpoint_format !== "gptq") {
    throw new RangeError(
      `${fn}: Cannot read checkpoint_format "${qc.checkpoint_format}": only "gptq" (v1) is supported`,
    );
  }
  const config = parseLlamaConfig(raw);
  const bits = qc.bits as number, sym = qc.sym === true;
  const gs = qc.group_size as number;
  const formatId = typeof qc.quantlab_format === "string"
    ? qc.quantlab_format
    : `int${bits}-${gs === -1 ? "ch" : `g${gs}`}-${sym ? "sym" : "asym"}`;
  const weights = new Map<string, Tensor<"f32">>();
  const quantized = new Map<string, IntQuantized>();
  using ckpt = await openCheckpoint(dir);
  const has = new Set(ckpt.names);
  for (const name of ckpt.names) {
    if (name.endsWith(".weight")) weights.set(name, (await ckpt.read(name)) as Tensor<"f32">);
  }
  for (let l = 0; l < config.numLayers; l++) {
    for (const base of linearNames(l)) {
      const need = ["qweight", "qzeros", "scales", "g_idx"].map((s) => `${base}.${s}`);
      const missing = need.find((n) => !has.has(n));
      if (missing) throw new RangeError(`${fn}: Cannot find tensor "${missing}" in "${dir}"`);
      const [qweight, qzeros, scales, gIdx] = await Promise.all(need.map((n) => ckpt.read(n)));
      const q = decodeGptq(
        {
          qweight: qweight as Tensor<"i32">,
          qzeros: qzeros as Tensor<"i32">,
          scales: scales as Tensor<"f16">,
          gIdx: gIdx as Tensor<"i32">,
        },
        bits,
        { formatId, symmetric: sym },
      );
      quantized.set(base, q);
      weights.set(`${base}.weight`, dequantize(q));
    }
  }
  return { model: new LlamaModel(config, weights, options.ops, dir), quantized, quantizationConfig: qc };
}
