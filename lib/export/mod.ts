// SPDX-License-Identifier: MIT
/**
 * Writers of formats other tools read. GGUF for llama.cpp: {@link writeGgufModel} maps quantlab's
 * packed int4/int8 weights exactly onto ggml's Q4_0, Q4_1 and Q8_0 blocks (or writes F16/F32),
 * with Llama-family architecture and tokenizer metadata.
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
export * from "./gguf_writer.ts";
export * from "./gguf_llama.ts";
export * from "./gguf_tokenizer.ts";
export * from "./gguf_map.ts";
export * from "./gguf_export.ts";
export * from "./gguf_read.ts";
