// SPDX-License-Identifier: MIT
/**
 * Reading a Hugging Face GPTQ checkpoint (`quant_method: "gptq"`, `checkpoint_format` `gptq` or
 * `gptq_v2`, single or sharded safetensors) back into quantlab: the decoder linears are decoded
 * from `qweight`/`qzeros`/`scales`/`g_idx` and dequantized in f32; every other tensor the
 * architecture consumes (embeddings, norms, q/k norms, biases, lm_head) is read in its stored
 * dtype and converted to f32. Tensors the architecture does not consume are an error, as in
 * `loadLlama`.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { formatShape } from "../tensor/tensor.ts";
import { astype } from "../tensor/manip.ts";
import { openCheckpoint } from "../tensor/safetensors_checkpoint.ts";
import type { Ops } from "../ops/ops.ts";
import { dequantize, type IntQuantized } from "../quant/quantized_tensor.ts";
import { expectedShapes, linearNames, parseLlamaConfig } from "../model/config.ts";
import { LlamaModel } from "../model/llama.ts";
import { CheckpointError, readConfigJson } from "../model/load.ts";
import { decodeGptq, type GptqCheckpointFormat, type GptqTensors } from "./_gptq_layout.ts";
import { QUANTIZE_CONFIG_FILE } from "./hf_gptq.ts";

/** Result of {@link loadGptqCheckpoint}. */
export interface GptqCheckpoint {
  /** Model with dequantized f32 weights. */
  model: LlamaModel;
  /** Packed weights by linear name. */
  quantized: Map<string, IntQuantized>;
  /** The `quantization_config` object as written. */
  quantizationConfig: Record<string, unknown>;
}

/** The GPTQ config: `quantization_config` in config.json, else `quantize_config.json`. */
async function gptqConfig(dir: string, raw: Record<string, unknown>): Promise<Record<string, unknown>> {
  const fn = "loadGptqCheckpoint";
  let qc = raw["quantization_config"] as Record<string, unknown> | undefined;
  if (qc === undefined) {
    try {
      qc = JSON.parse(await Deno.readTextFile(`${dir}/${QUANTIZE_CONFIG_FILE}`)) as Record<string, unknown>;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  if (!qc || (qc["quant_method"] ?? "gptq") !== "gptq") {
    throw new CheckpointError(
      `${fn}: Cannot read "${dir}": neither config.json's quantization_config nor ${QUANTIZE_CONFIG_FILE} has quant_method "gptq"`,
    );
  }
  const cf = qc["checkpoint_format"] ?? "gptq";
  if (cf !== "gptq" && cf !== "gptq_v2") {
    throw new CheckpointError(
      `${fn}: Cannot read checkpoint_format "${cf}": only "gptq" (v1) and "gptq_v2" are supported`,
    );
  }
  return qc;
}

/**
 * Reads a GPTQ checkpoint into a model.
 *
 * @param dir directory with `config.json` and safetensors (single or `model.safetensors.index.json`)
 * @param options `ops` backend of the returned model
 * @returns the model (dequantized f32 weights), the packed linears and the `quantization_config`
 * @throws {CheckpointError} when the config is not GPTQ, or a tensor is missing, mis-shaped or unconsumed
 */
export async function loadGptqCheckpoint(dir: string, options: { ops: Ops }): Promise<GptqCheckpoint> {
  const fn = "loadGptqCheckpoint";
  const raw = await readConfigJson(dir);
  const qc = await gptqConfig(dir, raw);
  const config = parseLlamaConfig(raw);
  const bits = qc["bits"] as number, sym = qc["sym"] === true, gs = qc["group_size"] as number;
  const block = qc["quantlab"] as Record<string, unknown> | undefined;
  const formatId = typeof block?.["format"] === "string" ? block["format"] : typeof qc["quantlab_format"] === "string" // written by quantlab before the quantlab block
    ? qc["quantlab_format"]
    : `int${bits}-${gs === -1 ? "ch" : `g${gs}`}-${sym ? "sym" : "asym"}`;
  const checkpointFormat = (qc["checkpoint_format"] ?? "gptq") as GptqCheckpointFormat;
  const linears = new Set<string>();
  for (let l = 0; l < config.numLayers; l++) for (const n of linearNames(l)) linears.add(n);
  using ckpt = await openCheckpoint(dir);
  const unread = new Set(ckpt.names);
  const take = async (name: string): Promise<Tensor> => {
    if (!unread.delete(name)) throw new CheckpointError(`${fn}: Cannot find tensor "${name}" in "${dir}"`);
    return await ckpt.read(name);
  };
  const weights = new Map<string, Tensor<"f32">>();
  const quantized = new Map<string, IntQuantized>();
  for (const [name, shape] of expectedShapes(config)) {
    const base = name.replace(/\.weight$/, "");
    let w: Tensor<"f32">;
    if (name.endsWith(".weight") && linears.has(base)) {
      const [qweight, qzeros, scales, gIdx] = [
        await take(`${base}.qweight`),
        await take(`${base}.qzeros`),
        await take(`${base}.scales`),
        await take(`${base}.g_idx`),
      ];
      const t = {
        qweight,
        qzeros,
        scales: scales.dtype === "f16" ? scales : astype(scales, "f16"),
        gIdx,
      } as GptqTensors;
      const q = decodeGptq(t, bits, { formatId, symmetric: sym, checkpointFormat });
      quantized.set(base, q);
      w = dequantize(q);
    } else {
      const t = await take(name);
      w = t.dtype === "f32" ? (t as Tensor<"f32">) : astype(t, "f32");
    }
    if (formatShape(w.shape) !== formatShape(shape)) {
      throw new CheckpointError(
        `${fn}: Cannot use "${name}" of shape ${formatShape(w.shape)}: the config implies ${formatShape(shape)}`,
      );
    }
    weights.set(name, w);
  }
  if (unread.size > 0) {
    const extra = [...unread];
    throw new CheckpointError(
      `${fn}: Cannot use tensor "${extra[0]}"${
        extra.length > 1 ? ` (and ${extra.length - 1} more)` : ""
      } in "${dir}": the ${config.modelType} architecture does not consume it`,
    );
  }
  return { model: new LlamaModel(config, weights, options.ops, dir), quantized, quantizationConfig: qc };
}
