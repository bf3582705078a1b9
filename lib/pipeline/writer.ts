// SPDX-License-Identifier: MIT
/**
 * Writers that stream a quantized checkpoint one decoder layer at a time, in the Hugging Face
 * sharded layout: one safetensors shard per layer (`model-00001-of-0000N.safetensors`), a last
 * shard with the tensors outside the blocks (embeddings, final norm, lm_head), and
 * `model.safetensors.index.json`. Everything is written into `<dir>.partial` and renamed to
 * `<dir>` only when the run succeeded, so a crash never leaves a directory that looks complete.
 * `config.json` and the tokenizer files are copied from the source checkpoint.
 *
 * Layouts:
 * - `fake-quant`: the dequantized linear weights in f32 under their own names; every other
 *   tensor is copied in its stored dtype (bytes unchanged). `loadLlama` reads it back.
 * - `gptq`: the Hugging Face GPTQ format of `lib/export/hf_gptq.ts`: each linear as
 *   `qweight`/`qzeros`/`scales`/`g_idx` (checked to dequantize to the evaluated weight bit for
 *   bit), every other tensor in f16, `quantization_config` in `config.json` and
 *   `quantize_config.json` (truthful fields from `provenance`, see {@link recipeProvenance}).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { SafetensorsValue } from "../tensor/safetensors_write.ts";
import { writeSafetensors } from "../tensor/safetensors_write.ts";
import { INDEX_FILE } from "../tensor/safetensors_checkpoint.ts";
import type { QuantizedTensor } from "../quant/quantized_tensor.ts";
import type { LlamaCheckpoint } from "../model/load.ts";
import { encodeGptqLinear, isPermuted, writeGptqSideFiles } from "../export/hf_gptq.ts";
import { type GptqCheckpointFormat, type GptqProvenance, gptqQuantizationConfig } from "../export/hf_gptq_config.ts";
import { copySideFiles, exists, exportConfig, toF16Checked } from "../export/hf_files.ts";
import { DEFAULT_DAMP_RATIO } from "../reconstruct/_hinv.ts";
import type { Recipe } from "./recipe_types.ts";

export { TOKENIZER_FILES } from "../export/hf_files.ts";

/** What one finished decoder layer hands to a writer. */
export interface LayerOutput {
  /** Block index. */
  layer: number;
  /** Dequantized weights f32 `[out, in]` of the block's linears, by tensor name (`….q_proj.weight`). */
  weights: ReadonlyMap<string, Tensor<"f32">>;
  /** Packed form of the same linears, by linear name (without `.weight`). */
  quantized: ReadonlyMap<string, QuantizedTensor>;
}

/** Receives the quantized model layer by layer (see {@link createCheckpointWriter}). */
export interface LayerWriter {
  /** Short name for messages (`fake-quant`, `gptq`). */
  readonly name: string;
  /** Final directory. */
  readonly dir: string;
  /** Writes one finished block (its shard). */
  writeLayer(out: LayerOutput): Promise<void>;
  /** Writes the remaining tensors, config, tokenizer files and index, then renames into place. */
  finish(): Promise<void>;
  /** Removes the partial output. */
  abort(): Promise<void>;
}

/** Layout of {@link createCheckpointWriter}. */
export type CheckpointLayout = "fake-quant" | "gptq";

/** Options of {@link createCheckpointWriter}. */
export interface CheckpointWriterOptions {
  /** `fake-quant` (default) or `gptq`. */
  layout?: CheckpointLayout;
  /** Replace an existing `dir` when the run succeeds (default false: an existing `dir` is an error now). */
  overwrite?: boolean;
  /** `__metadata__` strings of every shard and the index (e.g. the recipe). */
  metadata?: Record<string, string>;
  /** `gptq` layout: how the codes were chosen, for `quantization_config` ({@link recipeProvenance}). */
  provenance?: GptqProvenance;
  /** `gptq` layout: `checkpoint_format` (`gptq` v1 by default, `gptq_v2` for zero points of 0). */
  checkpointFormat?: GptqCheckpointFormat;
}

/**
 * What a recipe says about how its codes were chosen, for a GPTQ export's `quantization_config`.
 *
 * @param recipe the recipe that quantized the model
 * @returns GPTQ's damping, act-order and static groups for GPTQ recipes; only the method otherwise
 */
export function recipeProvenance(recipe: Recipe): GptqProvenance {
  const rec = recipe.reconstruction;
  if (rec.kind !== "gptq") return { method: rec.kind, recipe: recipe.name };
  return {
    method: "gptq",
    recipe: recipe.name,
    dampPercent: rec.dampRatio ?? DEFAULT_DAMP_RATIO,
    actOrder: rec.actOrder ?? false,
    staticGroups: rec.staticGroups ?? false,
    trueSequential: true,
  };
}

/**
 * Starts a streaming checkpoint writer for a model read from `source`.
 *
 * @param dir final output directory (must not exist unless `overwrite`)
 * @param source the checkpoint being quantized (config, shapes, tensors copied unchanged)
 * @param options `layout`, `overwrite`, `metadata`, `provenance`, `checkpointFormat`
 * @returns the writer; call `writeLayer` for layers 0..L−1 in order, then `finish` (or `abort`)
 * @throws {Deno.errors.AlreadyExists} when `dir` exists and `overwrite` is false
 */
export async function createCheckpointWriter(
  dir: string,
  source: LlamaCheckpoint,
  options: CheckpointWriterOptions = {},
): Promise<LayerWriter> {
  const fn = "createCheckpointWriter";
  const layout = options.layout ?? "fake-quant";
  const finalDir = dir.replace(/\/+$/, "");
  if (!options.overwrite && await exists(finalDir)) {
    throw new Deno.errors.AlreadyExists(
      `${fn}: Cannot write to "${finalDir}": it exists (remove it, choose another directory, or pass overwrite)`,
    );
  }
  const tmp = `${finalDir}.partial`;
  if (await exists(tmp)) await Deno.remove(tmp, { recursive: true }); // left by a crashed run
  await Deno.mkdir(tmp, { recursive: true });
  const L = source.config.numLayers;
  const shardName = (i: number) =>
    `model-${String(i + 1).padStart(5, "0")}-of-${String(L + 1).padStart(5, "0")}.safetensors`;
  const weightMap: Record<string, string> = {};
  const metadata = { format: "pt", ...options.metadata };
  let totalSize = 0;
  let next = 0;
  let firstInt: QuantizedTensor | undefined;
  let gIdxUsed = false;

  /** Copies `name` in its stored dtype (f16 in the `gptq` layout, as GPTQ runtimes expect). */
  const raw = async (name: string): Promise<SafetensorsValue> =>
    layout === "gptq" && (await source.files.info(name)).dtype !== "F16"
      ? toF16Checked(name, await source.read(name))
      : await source.files.readRaw(name);

  const writeShard = async (i: number, record: Record<string, SafetensorsValue>) => {
    const file = shardName(i);
    await writeSafetensors(`${tmp}/${file}`, record, metadata);
    for (const [name, v] of Object.entries(record)) {
      weightMap[name] = file;
      totalSize += v.data.byteLength;
    }
  };

  return {
    name: layout,
    dir: finalDir,
    async writeLayer(out) {
      if (out.layer !== next) {
        throw new RangeError(`LayerWriter.writeLayer: Cannot write layer ${out.layer}: layer ${next} is next`);
      }
      const prefix = `model.layers.${out.layer}.`;
      const record: Record<string, SafetensorsValue> = {};
      for (const name of source.shapes.keys()) {
        if (!name.startsWith(prefix)) continue;
        const W = out.weights.get(name);
        if (W === undefined) {
          record[name] = await raw(name);
          continue;
        }
        if (layout === "fake-quant") {
          record[name] = W;
          continue;
        }
        const base = name.replace(/\.weight$/, "");
        const q = out.quantized.get(base);
        const tensors = encodeGptqLinear(base, q, W, options.checkpointFormat);
        if (q?.kind !== "int") continue; // encodeGptqLinear threw
        if (firstInt && firstInt.formatId !== q.formatId) {
          throw new RangeError(
            `LayerWriter.writeLayer: Cannot export mixed formats: "${base}" is ${q.formatId}, others ${firstInt.formatId}`,
          );
        }
        firstInt ??= q;
        if (isPermuted(tensors[3]![1] as Tensor<"i32">, q)) gIdxUsed = true;
        for (const [n, t] of tensors) record[n] = t;
      }
      await writeShard(out.layer, record);
      next++;
    },
    async finish() {
      if (next !== L) {
        throw new RangeError(`LayerWriter.finish: Cannot finish "${finalDir}": ${next} of ${L} layers were written`);
      }
      const record: Record<string, SafetensorsValue> = {};
      for (const name of source.shapes.keys()) if (!name.startsWith("model.layers.")) record[name] = await raw(name);
      await writeShard(L, record);
      await Deno.writeTextFile(
        `${tmp}/${INDEX_FILE}`,
        JSON.stringify(
          { metadata: { "total_size": totalSize, ...options.metadata }, "weight_map": weightMap },
          null,
          2,
        ) +
          "\n",
      );
      if (layout === "gptq" && firstInt?.kind === "int") {
        const qc = gptqQuantizationConfig(firstInt, gIdxUsed, {
          ...(options.provenance && { provenance: options.provenance }),
          ...(options.checkpointFormat && { checkpointFormat: options.checkpointFormat }),
        });
        await writeGptqSideFiles(tmp, await exportConfig(source.config, "float16", source.dir), qc, source.dir);
      } else {
        await Deno.copyFile(`${source.dir}/config.json`, `${tmp}/config.json`);
        await copySideFiles(source.dir, tmp);
      }
      if (await exists(finalDir)) await Deno.remove(finalDir, { recursive: true });
      await Deno.rename(tmp, finalDir);
    },
    async abort() {
      if (await exists(tmp)) await Deno.remove(tmp, { recursive: true });
    },
  };
}
