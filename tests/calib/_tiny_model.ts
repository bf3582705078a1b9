// SPDX-License-Identifier: MIT
/** A small random Llama model for fast unit tests (seeded; d=32, 2 layers, ffn 64, vocab 64). */
import { LlamaModel } from "../../lib/model/llama.ts";
import { expectedShapes, parseLlamaConfig } from "../../lib/model/config.ts";
import { randnF32 } from "../../lib/tensor/create.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import type { Ops } from "../../lib/ops/ops.ts";

/** Builds a seeded random model; norms are 1, linears N(0, 1/in). */
export function tinyModel(seed = 0, ops: Ops = tsOps, sizes: { d?: number; layers?: number; ffn?: number } = {}) {
  const config = parseLlamaConfig({
    model_type: "llama",
    vocab_size: 64,
    hidden_size: sizes.d ?? 32,
    intermediate_size: sizes.ffn ?? 64,
    num_hidden_layers: sizes.layers ?? 2,
    num_attention_heads: 4,
    max_position_embeddings: 64,
  });
  const weights = new Map<string, Tensor<"f32">>();
  let s = seed * 1000;
  for (const [name, shape] of expectedShapes(config)) {
    if (shape.length === 1) {
      weights.set(name, new Tensor("f32", shape, new Float32Array(shape[0]).fill(1)));
    } else {
      weights.set(name, randnF32(shape, s++, 1 / Math.sqrt(shape[1])));
    }
  }
  return new LlamaModel(config, weights, ops, `tiny-random-${seed}`);
}

/** Seeded token ids `[n·seqLen]` in the tiny vocab. */
export function tinyIds(n: number, seqLen: number, seed = 1): Int32Array {
  let x = seed * 2654435761 >>> 0;
  return Int32Array.from({ length: n * seqLen }, () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x % 64;
  });
}
