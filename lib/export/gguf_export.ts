// SPDX-License-Identifier: MIT
/**
 * A Llama-family model as a GGUF file llama.cpp runs: architecture and tokenizer metadata
 * (gguf_llama.ts, gguf_tokenizer.ts), every tensor under its llama.cpp name with Q/K rows
 * permuted for llama.cpp's RoPE, and the decoder linears either
 *
 * - mapped exactly from quantlab's packed weights (`quantized`, e.g. `applyRecipe(...).quantized`;
 *   see gguf_map.ts) — llama.cpp then runs the very weights quantlab evaluated, or
 * - stored as F32/F16, or quantized by ggml's own reference quantizer when no packed weights are
 *   given (what `llama-quantize` would do to the float weights).
 *
 * Norms and biases are F32 (as convert_hf_to_gguf keeps 1-D tensors); the embedding and lm_head
 * are `otherType` (F16 by default, F32 for an F32 file). Rotated models export with the rotation
 * fused (it is in the weights); a model with online steps (QuaRot's R3/R4 Hadamards, activation
 * quantization) is refused, since llama.cpp would silently skip them.
 *
 * @module
 */
import type { LlamaModel } from "../model/llama.ts";
import { expectedShapes, linearNames } from "../model/config.ts";
import { onlineSteps } from "../rotate/hooked_model.ts";
import type { QuantizedTensor } from "../quant/quantized_tensor.ts";
import { ggmlRowBytes, type GgmlType } from "./ggml_blocks.ts";
import { quantizeGgmlRef } from "./ggml_ref.ts";
import { type GgufTensor, type GgufValue, type GgufWriteResult, writeGguf } from "./gguf_writer.ts";
import {
  ggufArchitecture,
  GgufExportError,
  ggufModelMetadata,
  ggufTensorName,
  llama3RopeFactors,
  type LLAMA_FTYPE,
  permuteRows,
  ropeRowPermutation,
} from "./gguf_llama.ts";
import { type GgufQuantType, packGgufBlocks } from "./gguf_map.ts";
import { type GgufTokenizer, ggufTokenizerMetadata } from "./gguf_tokenizer.ts";

/** Options of {@link writeGgufModel}. */
export interface GgufExportOptions {
  /** Type of the decoder linears (and `general.file_type`). */
  type: keyof typeof LLAMA_FTYPE;
  /** Packed linears by name (without `.weight`): every decoder linear, mapped exactly onto `type`. */
  quantized?: ReadonlyMap<string, QuantizedTensor>;
  /** Tokenizer metadata (`ggufTokenizerFromDir`, `byteGgufTokenizer`). */
  tokenizer: GgufTokenizer;
  /** Type of the embedding and lm_head (default F16; F32 for an F32 file). */
  otherType?: "F32" | "F16";
  /** `general.name`. */
  name?: string;
}

/** Result of {@link writeGgufModel}. */
export interface GgufExportResult extends GgufWriteResult {
  /** llama.cpp architecture written. */
  arch: string;
}

/** f16 bytes of `x`, refusing values that overflow f16. */
function f16Checked(name: string, x: Float32Array): Uint8Array {
  for (let i = 0; i < x.length; i++) {
    if (Math.abs(x[i] as number) > 65504) {
      throw new GgufExportError(
        `writeGgufModel: Cannot store "${name}" as F16: element ${i} = ${x[i]} overflows f16 (max 65504); use F32`,
      );
    }
  }
  return quantizeGgmlRef("F16", x);
}

/**
 * Writes a model as a GGUF file (see the module doc).
 *
 * @param path output `.gguf` file (appears only when complete)
 * @param model the model; for exact exports the quantized model whose weights were evaluated
 *   (`applyRecipe(...).model`)
 * @param options `type`, `quantized`, `tokenizer`, `otherType`, `name`
 * @returns file size and tensor placements
 * @throws {GgufExportError} for online steps, an architecture llama.cpp cannot run, a missing
 *   linear, or a weight that does not map exactly (naming the layer and why)
 *
 * @example
 * ```ts ignore
 * const r = await applyRecipe(model, getRecipe("GPTQ"), { format: "int4-g32-sym", calibration, seqLen: 256 });
 * await writeGgufModel("model-q4_0.gguf", r.model, { type: "Q4_0", quantized: r.quantized, tokenizer: byteGgufTokenizer() });
 * ```
 */
export async function writeGgufModel(
  path: string,
  model: LlamaModel,
  options: GgufExportOptions,
): Promise<GgufExportResult> {
  const fn = "writeGgufModel", c = model.config, { type, quantized, tokenizer } = options;
  const steps = onlineSteps(model);
  if (steps.length > 0) {
    throw new GgufExportError(
      `${fn}: Cannot export "${model.source}": it runs ${
        steps.join(" and ")
      } that llama.cpp cannot run; rotate without online steps (quarotRotate r3: false, r4: false; recipe transform { kind: "hadamard", online: false })`,
    );
  }
  if (tokenizer.vocabSize !== c.vocabSize) {
    throw new GgufExportError(
      `${fn}: Cannot use a tokenizer of ${tokenizer.vocabSize} ids with a model of vocab_size ${c.vocabSize}`,
    );
  }
  const metadata = new Map<string, GgufValue>([
    ...ggufModelMetadata(c, { fileType: type, ...(options.name && { name: options.name }) }),
    ...ggufTokenizerMetadata(tokenizer),
  ]);
  const { permuteQK } = ggufArchitecture(c);
  const linears = new Set<string>();
  for (let l = 0; l < c.numLayers; l++) for (const n of linearNames(l)) linears.add(n);
  if (quantized && type !== "F32" && type !== "F16") {
    for (const n of linears) {
      if (!quantized.has(n)) {
        throw new GgufExportError(`${fn}: Cannot export "${n}" as ${type}: it is missing from options.quantized`);
      }
    }
  }
  const otherType: GgmlType = options.otherType ?? (type === "F32" ? "F32" : "F16");
  const tensors: GgufTensor[] = [];
  const encode = (name: string, ggml: GgmlType, x: Float32Array) =>
    ggml === "F16" ? f16Checked(name, x) : quantizeGgmlRef(ggml, x);
  for (const [name, shape] of expectedShapes(c)) {
    const base = name.replace(/\.(weight|bias)$/, "");
    const isLinear = linears.has(base) && name.endsWith(".weight");
    const ggml: GgmlType = shape.length === 1 ? "F32" : isLinear ? type : otherType;
    const perm = permuteQK && /\.self_attn\.(q|k)_proj\.(weight|bias)$/.test(name)
      ? ropeRowPermutation(shape[0], name.includes(".q_proj.") ? c.numHeads : c.numKvHeads)
      : undefined;
    tensors.push({
      name: ggufTensorName(name),
      shape,
      type: ggml,
      data: () => {
        const W = model.weight(name);
        const q = isLinear ? quantized?.get(base) : undefined;
        const bytes = q && ggml !== "F32" && ggml !== "F16"
          ? packGgufBlocks(base, q, ggml as GgufQuantType, W)
          : encode(name, ggml, W.data);
        return perm ? permuteRows(bytes, ggmlRowBytes(ggml, shape.length === 1 ? 1 : shape[1]!), perm) : bytes;
      },
    });
    if (name === "model.embed_tokens.weight") {
      const factors = llama3RopeFactors(c);
      if (factors) {
        tensors.push({
          name: "rope_freqs.weight",
          shape: [factors.length],
          type: "F32",
          data: () => quantizeGgmlRef("F32", factors),
        });
      }
    }
  }
  const r = await writeGguf(path, metadata, tensors);
  return { ...r, arch: metadata.get("general.architecture")!.value as string };
}
