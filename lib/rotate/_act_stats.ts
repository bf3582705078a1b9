// SPDX-License-Identifier: MIT
/**
 * Private helper: per-channel statistics of linear-layer inputs over calibration text, captured
 * with the `linearInput` hook — absmax (SmoothQuant), mean |x| (AWQ) and optionally the second
 * moment XᵀX (AWQ's output-error objective). A minimal stand-in until lib/calib's activation
 * statistics land; the lead may replace it there.
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { LlamaModel } from "../model/llama.ts";

/** Statistics of one linear's input X `[tokens, n]`. */
export interface LinearInputStats {
  /** f32 `[n]`: max |X[:, j]|. */
  absmax: Float32Array;
  /** f64 `[n]`: mean |X[:, j]|. */
  meanAbs: Float64Array;
  /** f64 `[n, n]`: Σ XᵀX over all tokens (when requested). */
  xtx?: Tensor<"f64">;
  /** Tokens seen. */
  tokens: number;
}

/** Options of {@link collectLinearInputStats}. */
export interface CollectOptions {
  /** Linear names (without `.weight`) to record. */
  names: readonly string[];
  /** Also accumulate XᵀX (default false). */
  xtx?: boolean;
  /** Sequences per forward call (default 8). */
  batchSize?: number;
  /** Backend for XᵀX (default: the model's). */
  ops?: Ops;
}

/**
 * Runs `ids` (sequences of `seqLen`) through `model` and records input statistics of `names`.
 *
 * @param ids token ids `[n·seqLen]`
 * @returns statistics per linear name
 */
export async function collectLinearInputStats(
  model: LlamaModel,
  ids: ArrayLike<number>,
  seqLen: number,
  options: CollectOptions,
): Promise<Map<string, LinearInputStats>> {
  const ops = options.ops ?? model.ops, wanted = new Set(options.names);
  const stats = new Map<string, LinearInputStats>();
  const sumAbs = new Map<string, Float64Array>();
  const record = async (name: string, X: Tensor<"f32">) => {
    if (!wanted.has(name)) return;
    const [rows, n] = X.shape as [number, number];
    let s = stats.get(name);
    if (!s) {
      s = { absmax: new Float32Array(n), meanAbs: new Float64Array(n), tokens: 0 };
      if (options.xtx) s.xtx = new Tensor("f64", [n, n]);
      stats.set(name, s);
      sumAbs.set(name, new Float64Array(n));
    }
    const acc = sumAbs.get(name) as Float64Array, mx = s.absmax, x = X.data;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) {
        const v = Math.abs(x[r * n + j] as number);
        acc[j] = (acc[j] as number) + v;
        if (v > (mx[j] as number)) mx[j] = v;
      }
    }
    s.tokens += rows;
    if (s.xtx) await ops.accumulateHessian(s.xtx, X, 1);
  };
  const nSeq = Math.floor(ids.length / seqLen), batch = Math.max(1, options.batchSize ?? 8);
  for (let s0 = 0; s0 < nSeq; s0 += batch) {
    const nb = Math.min(batch, nSeq - s0);
    const chunk = Int32Array.from({ length: nb * seqLen }, (_, i) => ids[s0 * seqLen + i] as number);
    await model.forward(chunk, seqLen, { hooks: { linearInput: record } });
  }
  for (const [name, s] of stats) {
    const acc = sumAbs.get(name) as Float64Array;
    for (let j = 0; j < acc.length; j++) s.meanAbs[j] = (acc[j] as number) / s.tokens;
  }
  return stats;
}
