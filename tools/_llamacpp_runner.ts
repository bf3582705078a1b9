// SPDX-License-Identifier: MIT
/**
 * Runs a GGUF file in llama.cpp through `node-llama-cpp` (its prebuilt CPU binaries, inside
 * Deno), offline: `gpu: false`, `build: "never"`, `skipDownload: true`, so it never downloads or
 * compiles anything and fails instead. Used by the export tests, the benchmark and notebooks to
 * compare llama.cpp's next-token log-probs and perplexity with quantlab's forward.
 *
 * Numerics of llama.cpp's CPU path (why the two differ at all): F16 weights multiply
 * f16-rounded activations, Q4_0/Q4_1/Q8_0 weights multiply activations quantized to 8 bits per
 * block of 32 (`vec_dot_type` Q8_0/Q8_1), and the KV cache holds f16 (its default; set here).
 *
 * @module
 */
import { getLlama, type Llama, type LlamaContext, type LlamaModel as NodeLlamaModel } from "node-llama-cpp";
import type { LlamaModel } from "../lib/model/llama.ts";

/** A loaded GGUF with one evaluation context. */
export interface LlamaCppSession {
  /** The node-llama-cpp model. */
  readonly model: NodeLlamaModel;
  /** The context (one sequence). */
  readonly context: LlamaContext;
  /** Releases the context, the model and the backend. */
  dispose(): Promise<void>;
}

let backend: Promise<Llama> | undefined;

/** The llama.cpp backend, CPU only, never built or downloaded. */
export function llamaCppBackend(): Promise<Llama> {
  backend ??= getLlama({
    gpu: false,
    build: "never",
    skipDownload: true,
    progressLogs: false,
    logLevel: "error" as never,
  });
  return backend;
}

/**
 * Loads a GGUF file into llama.cpp.
 *
 * @param path the `.gguf` file
 * @param options `contextSize` (tokens, default 256), `threads` (default 2)
 * @returns the session
 */
export async function openLlamaCpp(
  path: string,
  options: { contextSize?: number; threads?: number } = {},
): Promise<LlamaCppSession> {
  const llama = await llamaCppBackend();
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const contextSize = options.contextSize ?? 256;
  const context = await model.createContext({
    contextSize,
    batchSize: contextSize,
    sequences: 1,
    threads: options.threads ?? 2,
  });
  return {
    model,
    context,
    async dispose() {
      await context.dispose();
      await model.dispose();
    },
  };
}

/**
 * llama.cpp's log-probabilities of each next token of a window: `log p(ids[t+1] | ids[0..t])`
 * for t < T − 1, from the full next-token distribution (softmax of the logits, temperature 0).
 *
 * @param s the session
 * @param ids one window of token ids `[T]` (T ≤ context size)
 * @returns f64 `[T − 1]`
 */
export async function llamaCppTargetLogProbs(s: LlamaCppSession, ids: ArrayLike<number>): Promise<Float64Array> {
  const seq = s.context.getSequence();
  try {
    const items = Array.from(
      ids,
      (t, i) =>
        i < ids.length - 1 ? [t, { generateNext: { probabilities: true, options: { temperature: 0 } } }] as const : t,
    );
    const res = await seq.controlledEvaluate(items as never);
    const out = new Float64Array(ids.length - 1);
    for (let t = 0; t < ids.length - 1; t++) {
      const p = res[t]?.next.probabilities?.get(ids[t + 1] as never);
      if (p === undefined) throw new Error(`llamaCppTargetLogProbs: llama.cpp returned no probability at ${t}`);
      out[t] = Math.log(p);
    }
    return out;
  } finally {
    seq.dispose();
  }
}

/**
 * quantlab's log-probabilities of each next token of a window (f64 log-softmax of its logits).
 *
 * @param model the quantlab model
 * @param ids one window `[T]`
 * @returns f64 `[T − 1]`
 */
export async function quantlabTargetLogProbs(model: LlamaModel, ids: ArrayLike<number>): Promise<Float64Array> {
  const T = ids.length, V = model.config.vocabSize;
  const logits = (await model.forward(ids, T)).data;
  const out = new Float64Array(T - 1);
  for (let t = 0; t < T - 1; t++) {
    const row = logits.subarray(t * V, (t + 1) * V);
    let mx = -Infinity;
    for (const v of row) mx = Math.max(mx, v);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - mx);
    out[t] = (row[ids[t + 1] as number] as number) - mx - Math.log(sum);
  }
  return out;
}

/** Perplexity of concatenated log-probs: exp(−mean). */
export function perplexityOf(logProbs: readonly Float64Array[]): number {
  let sum = 0, n = 0;
  for (const lp of logProbs) for (const v of lp) (sum += v, n++);
  return Math.exp(-sum / n);
}

/**
 * llama.cpp throughput on one window: prompt processing (the window in one batch) and greedy
 * generation of `genTokens` tokens after it, each in tokens per second of wall time.
 *
 * @param s the session
 * @param prompt token ids of the prompt
 * @param genTokens tokens to generate
 * @returns `{ promptTokensPerSecond, generateTokensPerSecond }`
 */
export async function llamaCppThroughput(
  s: LlamaCppSession,
  prompt: readonly number[],
  genTokens: number,
): Promise<{ promptTokensPerSecond: number; generateTokensPerSecond: number }> {
  const seq = s.context.getSequence();
  try {
    const t0 = performance.now();
    await seq.evaluateWithoutGeneratingNewTokens([...prompt] as never);
    const t1 = performance.now();
    let n = 0;
    const last = prompt[prompt.length - 1] as number;
    for await (const _ of seq.evaluate([last] as never, { temperature: 0 })) if (++n >= genTokens) break;
    const t2 = performance.now();
    return {
      promptTokensPerSecond: prompt.length / ((t1 - t0) / 1000),
      generateTokensPerSecond: n / ((t2 - t1) / 1000),
    };
  } finally {
    seq.dispose();
  }
}
