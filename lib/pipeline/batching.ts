// SPDX-License-Identifier: MIT
/**
 * How many sequences one decoder-block call may take so that its intermediate activations stay
 * within a memory budget. Per sequence of T tokens a Llama block allocates about
 * `4·H·T²` bytes of attention scores, `4·3·(H+2·KV)·hd·T` for the q/k/v heads and their gathered
 * copies, and `4·3·T·ffn` for gate, up and SwiGLU (f32): the batch is the budget divided by that.
 *
 * @module
 */
import type { LlamaConfig } from "../model/config.ts";

/** Default budget of one block call's intermediate activations: 256 MiB. */
export const DEFAULT_BLOCK_BUDGET_BYTES = 256 * 1024 * 1024;

/** Bytes of intermediate activations of one sequence of T tokens through one block (f32). */
export function blockActivationBytes(c: LlamaConfig, T: number): number {
  const attention = 4 * c.numHeads * T * T;
  const heads = 4 * 3 * (c.numHeads + 2 * c.numKvHeads) * c.headDim * T;
  const mlp = 4 * 3 * T * c.intermediateSize;
  return attention + heads + mlp;
}

/**
 * Sequences per block call (at least 1, at most 8) whose activations fit in `budgetBytes`.
 *
 * @param c model config
 * @param T tokens per sequence
 * @param budgetBytes budget (default {@link DEFAULT_BLOCK_BUDGET_BYTES})
 * @returns the batch size
 *
 * @example
 * ```ts
 * import { blockBatchSize } from "./batching.ts";
 * import { parseLlamaConfig } from "../model/config.ts";
 * import assert from "node:assert/strict";
 * const c = parseLlamaConfig({ model_type: "llama", vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336,
 *   num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8 });
 * assert.equal(blockBatchSize(c, 2048), 1); // 0.5 GiB of attention scores per sequence
 * ```
 */
export function blockBatchSize(c: LlamaConfig, T: number, budgetBytes = DEFAULT_BLOCK_BUDGET_BYTES): number {
  return Math.max(1, Math.min(8, Math.floor(budgetBytes / blockActivationBytes(c, T))));
}
