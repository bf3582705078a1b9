// SPDX-License-Identifier: MIT
/**
 * Llama-family models (`llama`, `mistral`, `qwen2`, `qwen3`): config parsing, loading local
 * Hugging Face–style checkpoints (lazy safetensors reads), the forward pass on an `ops` backend
 * with PTQ hooks (biases, q/k norms, scaled RoPE, sliding windows), tokenizers.
 *
 * @example A tour
 * ```ts ignore
 * import { BUNDLED_MODEL_DIR, ByteTokenizer, loadLlama } from "./mod.ts";
 * import { getCpuOps } from "../ops/backend.ts";
 *
 * const model = await loadLlama(BUNDLED_MODEL_DIR, { ops: getCpuOps() });
 * const ids = new ByteTokenizer().encode("The state of the Union is");
 * const logits = await model.forward(ids, ids.length);        // f32 [T, 256]
 * const seen: string[] = [];
 * await model.forward(ids, ids.length, { hooks: { linearInput: (name) => void seen.push(name) } });
 * ```
 *
 * @module
 */
export * from "./config.ts";
export * from "./architectures.ts";
export * from "./rope.ts";
export * from "./hf_config.ts";
export * from "./llama.ts";
export * from "./load.ts";
export * from "./tokenizer.ts";
export * from "./generate.ts";
