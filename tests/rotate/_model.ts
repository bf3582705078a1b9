// SPDX-License-Identifier: MIT
/**
 * A small random Llama model built in memory for rotation tests: non-trivial RMSNorm scales
 * (so folding matters) and a few outlier residual channels (so SmoothQuant/AWQ have work).
 *
 * @module
 */
import { parseLlamaConfig } from "../../lib/model/config.ts";
import { LlamaModel } from "../../lib/model/llama.ts";
import { expectedShapes } from "../../lib/model/config.ts";
import type { Ops } from "../../lib/ops/ops.ts";
import { Rng } from "../../lib/tensor/random.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";

/** Shape options of {@link randomLlama}. */
export interface RandomLlamaOptions {
  seed?: number;
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  /** FFN width; must be a Hadamard size (2^k or m·2^k) for R4. */
  ffn?: number;
  vocab?: number;
  tie?: boolean;
}

/** A random LlamaModel (f32) on `ops`. */
export function randomLlama(ops: Ops, o: RandomLlamaOptions = {}): LlamaModel {
  const hidden = o.hidden ?? 64, heads = o.heads ?? 4;
  const config = parseLlamaConfig({
    model_type: "llama",
    vocab_size: o.vocab ?? 48,
    hidden_size: hidden,
    intermediate_size: o.ffn ?? 96, // 96 = 12·8: exercises a stored Hadamard factor in R4
    num_hidden_layers: o.layers ?? 2,
    num_attention_heads: heads,
    num_key_value_heads: o.kvHeads ?? heads,
    max_position_embeddings: 64,
    tie_word_embeddings: o.tie ?? false,
  });
  const rng = new Rng(o.seed ?? 1);
  const outliers = new Set([3, 17]);
  const weights = new Map<string, Tensor<"f32">>();
  for (const [name, shape] of expectedShapes(config)) {
    const t = new Tensor("f32", shape);
    const n = shape.length === 2 ? (shape[1] as number) : 1;
    for (let i = 0; i < t.size; i++) {
      if (shape.length === 1) t.data[i] = 1 + 0.3 * rng.normal(); // norm scale γ
      else t.data[i] = rng.normal() / Math.sqrt(n);
    }
    if (name === "model.embed_tokens.weight") {
      for (let r = 0; r < (shape[0] as number); r++) for (const j of outliers) t.data[r * hidden + j]! *= 20;
    }
    weights.set(name, t);
  }
  return new LlamaModel(config, weights, ops, "random-llama");
}

/** Seeded token ids `[n]` in [0, vocab). */
export function randomIds(n: number, vocab: number, seed = 7): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(vocab));
}
