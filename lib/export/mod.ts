// SPDX-License-Identifier: MIT
/**
 * Writers of formats other tools read. GGUF for llama.cpp: {@link writeGgufModel} maps quantlab's
 * packed int4/int8 weights exactly onto ggml's Q4_0, Q4_1 and Q8_0 blocks (or writes F16/F32),
 * with Llama-family architecture and tokenizer metadata. The Hugging Face GPTQ format for
 * transformers, GPTQModel and vLLM: {@link writeGptqCheckpoint} (packed int2/3/4/8, f16,
 * sharded, truthful `quantization_config`), read back by {@link loadGptqCheckpoint};
 * {@link writeFakeQuantCheckpoint} for the dequantized f32 layout. ONNX: the transformers.js
 * KV-cache decoder, and quantized copies of any ONNX model ({@link exportFakeQuant},
 * {@link exportQdq}, {@link exportMatMulNBits}).
 *
 * @example Export a GPTQ result for llama.cpp
 * ```ts ignore
 * import { applyRecipe, BUNDLED_MODEL_DIR, getRecipe, loadLlama } from "../../mod.ts";
 * import { byteGgufTokenizer, writeGgufModel } from "./mod.ts";
 * const model = await loadLlama(BUNDLED_MODEL_DIR);
 * const r = await applyRecipe(model, getRecipe("GPTQ"), { format: "int4-g32-sym", calibration, seqLen: 256 });
 * await writeGgufModel("sotu-q4_0.gguf", r.model, { type: "Q4_0", quantized: r.quantized, tokenizer: byteGgufTokenizer() });
 * ```
 *
 * @module
 */
export * from "./ggml_blocks.ts";
export * from "./ggml_decode.ts";
export * from "./ggml_ref.ts";
export * from "./gguf_writer.ts";
export * from "./gguf_llama.ts";
export * from "./gguf_tokenizer.ts";
export * from "./gguf_map.ts";
export * from "./gguf_export.ts";
export * from "./gguf_read.ts";
export * from "./hf_files.ts";
export * from "./hf_fake_quant.ts";
export * from "./hf_gptq_config.ts";
export * from "./hf_gptq.ts";
export * from "./hf_gptq_read.ts";
export * from "./onnx_decoder.ts";
export type { OnnxExportReport } from "./_onnx_export_util.ts";
export { packNibbles } from "./_onnx_export_util.ts";
export * from "./onnx_qdq.ts";
export * from "./onnx_matmulnbits.ts";
export * from "./tokenizer_files.ts";
