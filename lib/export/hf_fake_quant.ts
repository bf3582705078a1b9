// SPDX-License-Identifier: MIT
/**
 * The full-precision Hugging Face layout of a quantized model: `config.json` plus
 * `model.safetensors` with every weight in f32 — the dequantized (fake-quant) linears and the
 * unquantized tensors exactly as quantlab evaluated them. Any Hugging Face–style tool and
 * `loadLlama` read it; the config and tokenizer files are copied from the source checkpoint
 * (hf_files.ts) so the directory stays a complete model.
 *
 * @module
 */
import type { SafetensorsValue } from "../tensor/safetensors_write.ts";
import { writeSafetensors } from "../tensor/safetensors_write.ts";
import type { LlamaModel } from "../model/llama.ts";
import { copySideFiles, exportConfig, modelSourceDir } from "./hf_files.ts";

/**
 * Writes a model with fake-quantized (dequantized) weights in the full-precision layout.
 *
 * @param dir output directory (created; files in it are replaced)
 * @param model the quantized model (e.g. `applyRecipe(...).model`)
 * @param metadata extra `__metadata__` strings of the safetensors file (e.g. the recipe)
 * @param options `sourceDir`: checkpoint whose config.json and tokenizer files are copied
 *   (default: `model.source` when it holds a config.json; else the config is built from `model.config`)
 * @throws {HfExportError} when the source config describes another model
 */
export async function writeFakeQuantCheckpoint(
  dir: string,
  model: LlamaModel,
  metadata: Record<string, string> = {},
  options: { sourceDir?: string } = {},
): Promise<void> {
  const sourceDir = modelSourceDir(model, options.sourceDir);
  const config = await exportConfig(model.config, "float32", sourceDir);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config, null, 2) + "\n");
  const record: Record<string, SafetensorsValue> = {};
  for (const [name, w] of model.weights) record[name] = w;
  await writeSafetensors(`${dir}/model.safetensors`, record, { ...metadata, format: "pt" });
  if (sourceDir !== undefined) await copySideFiles(sourceDir, dir);
}
