// SPDX-License-Identifier: MIT
/**
 * The Hugging Face GPTQ checkpoint that transformers (through GPTQModel), GPTQModel and vLLM load:
 *
 * - every decoder linear as `qweight`/`qzeros`/`scales`/`g_idx` (`_gptq_layout.ts`; f16 scales),
 *   holding exactly the weights quantlab evaluated: `scale·(q − zero)` in f32 equals the
 *   fake-quant weight bit for bit (checked before writing; LoRC factors, which the layout cannot
 *   hold, are refused);
 * - every other tensor (embeddings, norms, q/k norms, biases, lm_head) in f16 (`torch_dtype`
 *   float16, as GPTQ kernels run); a value beyond the f16 range is refused, naming the tensor;
 * - `config.json` copied from the source checkpoint with `quantization_config`, and the same object
 *   as `quantize_config.json` (hf_gptq_config.ts); tokenizer files and `generation_config.json`
 *   copied (hf_files.ts);
 * - size-bounded safetensors shards with `model.safetensors.index.json`, metadata `{"format":"pt"}`;
 *   written into `<dir>.partial` and renamed when complete.
 *
 * The streaming pipeline (`lib/pipeline/writer.ts`, layout `gptq`) writes the same layout one
 * decoder layer at a time with {@link encodeGptqLinear} and {@link writeGptqSideFiles}.
 *
 * @module
 */
import type { SafetensorsValue } from "../tensor/safetensors_write.ts";
import { dequantize, type IntQuantized, type QuantizedTensor } from "../quant/quantized_tensor.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { linearNames } from "../model/config.ts";
import type { LlamaModel } from "../model/llama.ts";
import { HookedLlamaModel } from "../rotate/hooked_model.ts";
import { encodeGptq, type GptqCheckpointFormat } from "./_gptq_layout.ts";
import { type GptqConfigOptions, gptqQuantizationConfig } from "./hf_gptq_config.ts";
import {
  atomicDir,
  copySideFiles,
  exportConfig,
  HfExportError,
  modelSourceDir,
  toF16Checked,
  writeShardedSafetensors,
} from "./hf_files.ts";

/** Name of the GPTQ config file AutoGPTQ, GPTQModel and vLLM read beside `config.json`. */
export const QUANTIZE_CONFIG_FILE = "quantize_config.json";

/** Options of {@link writeGptqCheckpoint}. */
export interface GptqExportOptions extends GptqConfigOptions {
  /** Checkpoint whose config and tokenizer files are copied (default: `model.source` when it holds a config.json). */
  sourceDir?: string;
  /** Bound on a shard's tensor bytes (default 5 GB, as `save_pretrained`). */
  maxShardSize?: number;
  /** Extra `__metadata__` strings of every shard (e.g. the recipe). */
  metadata?: Record<string, string>;
  /** Replace an existing `dir` (default: refuse). */
  overwrite?: boolean;
  /** Export a model with online forward steps (QuaRot R3/R4) anyway; runtimes will not run them. */
  allowOnline?: boolean;
}

/** Result of {@link writeGptqCheckpoint}. */
export interface GptqExportResult {
  /** Files written, relative to the directory. */
  files: string[];
  /** The `quantization_config` object written. */
  quantizationConfig: Record<string, unknown>;
}

/**
 * The four GPTQ tensors of one linear, after checking that they hold exactly `W`.
 *
 * @param base linear name without `.weight`
 * @param q its packed form (integer)
 * @param W the dequantized f32 weight `[out, in]` the model evaluates
 * @param checkpointFormat `gptq` (v1) or `gptq_v2`
 * @returns `[name, tensor]` entries: `base.qweight`, `base.qzeros`, `base.scales`, `base.g_idx`
 * @throws {HfExportError} when `q` is not an integer format or does not dequantize to `W` bit for bit;
 *   RangeError from `encodeGptq` for values the layout cannot hold
 */
export function encodeGptqLinear(
  base: string,
  q: QuantizedTensor | undefined,
  W: Tensor<"f32">,
  checkpointFormat: GptqCheckpointFormat = "gptq",
): [string, SafetensorsValue][] {
  const fn = "encodeGptqLinear";
  if (q === undefined || q.kind !== "int") {
    throw new HfExportError(
      `${fn}: Cannot store "${base}" in the GPTQ layout: ${
        q ? `its format "${q.formatId}" is not an integer format` : "it has no packed form"
      }`,
    );
  }
  const D = dequantize(q).data;
  for (let i = 0; i < D.length; i++) {
    if (!Object.is(D[i], W.data[i])) {
      throw new HfExportError(
        `${fn}: Cannot store "${base}": its packed codes dequantize to ${D[i]} at element ${i}, the model holds ${
          W.data[i]
        } (low-rank LoRC factors or a later weight edit that the GPTQ layout cannot hold)`,
      );
    }
  }
  const t = encodeGptq(base, q, checkpointFormat);
  return [[`${base}.qweight`, t.qweight], [`${base}.qzeros`, t.qzeros], [`${base}.scales`, t.scales], [
    `${base}.g_idx`,
    t.gIdx,
  ]];
}

/**
 * Writes `config.json` (with `quantization_config`), `quantize_config.json` and the copied side files.
 *
 * @param dir the export directory (exists)
 * @param config the `config.json` object without `quantization_config` (see `exportConfig`)
 * @param quantizationConfig from `gptqQuantizationConfig`
 * @param sourceDir checkpoint whose tokenizer files are copied, if any
 * @returns the files written
 */
export async function writeGptqSideFiles(
  dir: string,
  config: Record<string, unknown>,
  quantizationConfig: Record<string, unknown>,
  sourceDir?: string,
): Promise<string[]> {
  const json = (v: unknown) => JSON.stringify(v, null, 2) + "\n";
  await Deno.writeTextFile(`${dir}/config.json`, json({ ...config, "quantization_config": quantizationConfig }));
  await Deno.writeTextFile(`${dir}/${QUANTIZE_CONFIG_FILE}`, json(quantizationConfig));
  const copied = sourceDir === undefined ? [] : await copySideFiles(sourceDir, dir);
  return ["config.json", QUANTIZE_CONFIG_FILE, ...copied];
}

/**
 * Writes a quantized model in the Hugging Face GPTQ format (see the module doc).
 *
 * @param dir output directory (must not exist unless `overwrite`)
 * @param model the quantized model: dequantized linears, and the unquantized weights (any transform fused)
 * @param quantized packed integer weights by linear name (without `.weight`), every decoder linear
 * @param options `checkpointFormat`, `provenance`, `sourceDir`, `maxShardSize`, `metadata`, `overwrite`, `allowOnline`
 * @returns the files written and the `quantization_config`
 * @throws {HfExportError} for a missing linear, mixed formats, codes that do not reproduce the model's
 *   weight, an f16 overflow, a source config of another model, or online steps without `allowOnline`;
 *   RangeError for values the GPTQ layout cannot hold
 */
export async function writeGptqCheckpoint(
  dir: string,
  model: LlamaModel,
  quantized: ReadonlyMap<string, QuantizedTensor>,
  options: GptqExportOptions = {},
): Promise<GptqExportResult> {
  const fn = "writeGptqCheckpoint";
  if (model instanceof HookedLlamaModel && !options.allowOnline) {
    throw new HfExportError(
      `${fn}: Cannot export a model with online forward steps (rotations/activation hooks): runtimes would skip them; pass allowOnline to export anyway`,
    );
  }
  const format = options.checkpointFormat ?? "gptq";
  const linears = new Set<string>();
  for (let l = 0; l < model.config.numLayers; l++) for (const n of linearNames(l)) linears.add(n);
  let first: IntQuantized | undefined;
  let gIdxUsed = false;
  const entries: [string, SafetensorsValue][] = [];
  for (const [name, w] of model.weights) {
    const base = name.replace(/\.weight$/, "");
    if (!name.endsWith(".weight") || !linears.has(base)) {
      entries.push([name, toF16Checked(name, w)]);
      continue;
    }
    const q = quantized.get(base);
    const linear = encodeGptqLinear(base, q, w, format);
    const qi = q as IntQuantized;
    first ??= qi;
    if (qi.formatId !== first.formatId) {
      throw new HfExportError(
        `${fn}: Cannot export mixed formats: "${base}" is ${qi.formatId}, others ${first.formatId}`,
      );
    }
    if (isPermuted(linear[3]![1] as Tensor<"i32">, qi)) gIdxUsed = true;
    entries.push(...linear);
  }
  if (!first) throw new HfExportError(`${fn}: Cannot export without quantized linears`);
  const quantizationConfig = gptqQuantizationConfig(first, gIdxUsed, options);
  const sourceDir = modelSourceDir(model, options.sourceDir);
  const config = await exportConfig(model.config, "float16", sourceDir);
  const files = await atomicDir(dir, options.overwrite ?? false, async (tmp) => {
    const shards = await writeShardedSafetensors(tmp, entries, {
      ...(options.maxShardSize !== undefined && { maxShardSize: options.maxShardSize }),
      ...(options.metadata && { metadata: options.metadata }),
    });
    return [...shards, ...await writeGptqSideFiles(tmp, config, quantizationConfig, sourceDir)];
  });
  return { files, quantizationConfig };
}

/**
 * Whether a linear's `g_idx` differs from the trivial `i / (in / G)` (act-order without static groups).
 *
 * @param gIdx i32 `[in]` as stored
 * @param q the packed weight (group count)
 * @returns true when a loader must apply `g_idx`
 */
export function isPermuted(gIdx: Tensor<"i32">, q: IntQuantized): boolean {
  const inn = q.shape[1], G = q.scale.shape[1] as number;
  return !gIdx.data.every((g, i) => g === Math.floor(i / (inn / G)));
}
