// SPDX-License-Identifier: MIT
/**
 * Per-channel activation statistics of linear inputs over a calibration set, as Arrow
 * tables (display in notebooks, plot, save): absmax, mean, std, kurtosis per input channel;
 * per layer the max-to-median ratio (MMR = max channel absmax / median channel absmax, the
 * "massive activation" outlier measure), pooled kurtosis and a histogram of values.
 *
 * Moments are streamed in f64 (Σx, Σx², Σx³, Σx⁴ per channel); kurtosis is Pearson's
 * `E[(x−μ)⁴]/σ⁴` (3 for a Gaussian). The histogram needs the range first, so it takes a
 * second pass over the calibration set (skip with `histogramBins: 0`).
 *
 * @module
 */
import * as arrow from "apache-arrow";
import type { Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import type { ForwardHooks, LlamaModel } from "../model/llama.ts";
import { checkCalibration } from "./capture.ts";

/** Options of {@link activationStats}. */
export interface ActivationStatsOptions {
  /** Linears whose inputs to measure (default: every decoder linear). */
  names?: string[];
  /** Sequences per forward pass (default 8). */
  batchSize?: number;
  /** Histogram bins per layer over [−absmax, absmax] (default 64; 0 skips the second pass). */
  histogramBins?: number;
  /** Backend of the forward pass (default: the model's). */
  ops?: Ops;
  /** Hooks applied first (e.g. a rotation): their output is measured. */
  hooks?: ForwardHooks;
}

/** Result of {@link activationStats}: three Arrow tables. */
export interface ActivationStats {
  /** One row per (linear, input channel): name, channel, absmax, mean, std, kurtosis. */
  channels: arrow.Table;
  /** One row per linear: name, channels, tokens, absmax, mmr, kurtosis, std. */
  layers: arrow.Table;
  /** One row per (linear, bin): name, lo, hi, count (empty without histograms). */
  histograms: arrow.Table;
}

/** Streaming per-channel moments. */
class Moments {
  readonly s = [0, 0, 0, 0].map(() => new Float64Array(0));
  absmax: Float64Array;
  tokens = 0;
  constructor(readonly n: number) {
    for (let p = 0; p < 4; p++) this.s[p] = new Float64Array(n);
    this.absmax = new Float64Array(n);
  }
  add(X: Tensor<"f32">): void {
    const [t, n] = X.shape as [number, number];
    const [s1, s2, s3, s4] = this.s as [Float64Array, Float64Array, Float64Array, Float64Array];
    for (let r = 0; r < t; r++) {
      for (let c = 0; c < n; c++) {
        const v = X.data[r * n + c] as number, v2 = v * v;
        s1[c]! += v;
        s2[c]! += v2;
        s3[c]! += v2 * v;
        s4[c]! += v2 * v2;
        if (Math.abs(v) > (this.absmax[c] as number)) this.absmax[c] = Math.abs(v);
      }
    }
    this.tokens += t;
  }
}

/** Mean, std, kurtosis from raw sums over N samples. */
function fromSums(N: number, s1: number, s2: number, s3: number, s4: number): [number, number, number] {
  const m = s1 / N, e2 = s2 / N, e3 = s3 / N, e4 = s4 / N;
  const v = Math.max(0, e2 - m * m);
  const m4 = e4 - 4 * m * e3 + 6 * m * m * e2 - 3 * m ** 4;
  return [m, Math.sqrt(v), v > 0 ? Math.max(0, m4) / (v * v) : NaN];
}

function median(a: Float64Array): number {
  const s = a.slice().sort();
  const h = s.length >> 1;
  return s.length % 2 ? (s[h] as number) : ((s[h - 1] as number) + (s[h] as number)) / 2;
}

/** Runs `visit(name, X)` over every batch (shared inputs visited once per name). */
async function sweep(
  model: LlamaModel,
  ids: ArrayLike<number>,
  seqLen: number,
  wanted: Set<string>,
  options: ActivationStatsOptions,
  visit: (name: string, X: Tensor<"f32">) => Promise<void> | void,
): Promise<void> {
  const batch = options.batchSize ?? 8, sequences = ids.length / seqLen;
  const hooks: ForwardHooks = {
    ...options.hooks,
    linearInput: async (name, X) => {
      const replaced = (await options.hooks?.linearInput?.(name, X)) ?? undefined;
      if (wanted.has(name)) await visit(name, replaced ?? X);
      return replaced;
    },
  };
  for (let s0 = 0; s0 < sequences; s0 += batch) {
    const s1 = Math.min(sequences, s0 + batch);
    const b = Int32Array.from({ length: (s1 - s0) * seqLen }, (_, i) => ids[s0 * seqLen + i] as number);
    await model.forward(b, seqLen, { hooks, ...(options.ops ? { ops: options.ops } : {}) });
  }
}

/**
 * Activation statistics of the inputs of linear layers.
 *
 * @param model the model
 * @param ids calibration token ids `[B·seqLen]`
 * @param seqLen tokens per sequence
 * @param options `names`, `batchSize`, `histogramBins`, `ops`, `hooks`
 * @returns Arrow tables per channel, per layer and per histogram bin
 * @throws {RangeError} on an empty calibration set
 *
 * @example
 * ```ts ignore
 * const { layers } = await activationStats(model, calib, 256, { histogramBins: 0 });
 * displayTable(layers); // name, channels, tokens, absmax, mmr, kurtosis, std
 * ```
 */
export async function activationStats(
  model: LlamaModel,
  ids: ArrayLike<number>,
  seqLen: number,
  options: ActivationStatsOptions = {},
): Promise<ActivationStats> {
  const { names } = checkCalibration("activationStats", model, ids, seqLen, options.names);
  const wanted = new Set(names);
  const moments = new Map<string, Moments>();
  await sweep(model, ids, seqLen, wanted, options, (name, X) => {
    let m = moments.get(name);
    if (!m) moments.set(name, m = new Moments(X.shape[1] as number));
    m.add(X);
  });
  const bins = options.histogramBins ?? 64;
  const hist = new Map<string, Uint32Array>();
  if (bins > 0) {
    const ops = options.ops ?? model.ops;
    await sweep(model, ids, seqLen, wanted, options, async (name, X) => {
      let a = 0;
      for (const v of moments.get(name)!.absmax) a = Math.max(a, v);
      const h = await ops.histogram(X, bins, -(a || 1), a || 1);
      const acc = hist.get(name) ?? new Uint32Array(bins);
      for (let k = 0; k < bins; k++) acc[k]! += h.data[k] as number;
      hist.set(name, acc);
    });
  }
  const ch = {
    name: [] as string[],
    channel: [] as number[],
    absmax: [] as number[],
    mean: [] as number[],
    std: [] as number[],
    kurtosis: [] as number[],
  };
  const ly = {
    name: [] as string[],
    channels: [] as number[],
    tokens: [] as number[],
    absmax: [] as number[],
    mmr: [] as number[],
    kurtosis: [] as number[],
    std: [] as number[],
  };
  const hs = { name: [] as string[], lo: [] as number[], hi: [] as number[], count: [] as number[] };
  for (const name of names) {
    const m = moments.get(name)!;
    const [s1, s2, s3, s4] = m.s as [Float64Array, Float64Array, Float64Array, Float64Array];
    let t1 = 0, t2 = 0, t3 = 0, t4 = 0, amax = 0;
    for (let c = 0; c < m.n; c++) {
      const [mean, std, kurt] = fromSums(m.tokens, s1[c]!, s2[c]!, s3[c]!, s4[c]!);
      ch.name.push(name),
        ch.channel.push(c),
        ch.absmax.push(m.absmax[c]!),
        ch.mean.push(mean),
        ch.std.push(std),
        ch.kurtosis.push(kurt);
      t1 += s1[c]!, t2 += s2[c]!, t3 += s3[c]!, t4 += s4[c]!, amax = Math.max(amax, m.absmax[c]!);
    }
    const [, std, kurt] = fromSums(m.tokens * m.n, t1, t2, t3, t4);
    ly.name.push(name), ly.channels.push(m.n), ly.tokens.push(m.tokens), ly.absmax.push(amax);
    ly.mmr.push(amax / Math.max(median(m.absmax), 1e-30)), ly.kurtosis.push(kurt), ly.std.push(std);
    const h = hist.get(name);
    if (h) {
      const a = amax || 1, w = (2 * a) / bins;
      for (let k = 0; k < bins; k++) {
        hs.name.push(name), hs.lo.push(-a + k * w), hs.hi.push(-a + (k + 1) * w), hs.count.push(h[k]!);
      }
    }
  }
  return { channels: toTable(ch), layers: toTable(ly), histograms: toTable(hs) };
}

/** Columns of strings or numbers → Arrow table (Utf8 / Float64; integer columns Int32). */
function toTable(cols: Record<string, (string | number)[]>): arrow.Table {
  const vectors: Record<string, arrow.Vector> = {};
  for (const [k, v] of Object.entries(cols)) {
    if (typeof v[0] === "string" || v.length === 0 && k === "name") {
      vectors[k] = arrow.vectorFromArray(v as string[], new arrow.Utf8());
    } else if (["channel", "channels", "tokens", "count"].includes(k)) {
      vectors[k] = arrow.makeVector(Int32Array.from(v as number[]));
    } else {
      vectors[k] = arrow.makeVector(Float64Array.from(v as number[]));
    }
  }
  return new arrow.Table(vectors);
}
