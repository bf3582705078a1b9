// SPDX-License-Identifier: MIT
/**
 * Text generation for inspection in notebooks: greedy or seeded temperature sampling,
 * re-running the full context each step (small models; no KV cache).
 *
 * @module
 */
import { Rng } from "../tensor/random.ts";
import type { LlamaModel } from "./llama.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** New tokens to produce (default 64). */
  maxTokens?: number;
  /** 0 = greedy (default 0.8). */
  temperature?: number;
  /** Seed of the sampler (default 0). */
  seed?: number;
}

/**
 * Continues `prompt` with the model. The context is truncated to the model's last
 * `maxPositions` tokens.
 * @returns the prompt followed by the generated text
 */
export async function generate(
  model: LlamaModel,
  tokenizer: Tokenizer,
  prompt: string,
  options: GenerateOptions = {},
): Promise<string> {
  const { maxTokens = 64, temperature = 0.8, seed = 0 } = options;
  const rng = new Rng(seed);
  const ids = [...tokenizer.encode(prompt)];
  if (ids.length === 0) throw new RangeError("generate: Cannot continue an empty prompt: give at least one token");
  const V = model.config.vocabSize;
  for (let s = 0; s < maxTokens; s++) {
    const ctx = ids.slice(-model.config.maxPositions);
    const logits = await model.forward(ctx, ctx.length);
    const row = logits.data.subarray((ctx.length - 1) * V, ctx.length * V);
    ids.push(temperature <= 0 ? argmax(row) : sample(row, temperature, rng));
  }
  return tokenizer.decode(ids);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if ((row[j] as number) > (row[best] as number)) best = j;
  return best;
}

function sample(row: Float32Array, temperature: number, rng: Rng): number {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  const p = new Float64Array(row.length);
  let sum = 0;
  for (let j = 0; j < row.length; j++) sum += p[j] = Math.exp(((row[j] as number) - max) / temperature);
  let u = rng.uniform() * sum;
  for (let j = 0; j < p.length; j++) {
    u -= p[j] as number;
    if (u <= 0) return j;
  }
  return p.length - 1;
}
