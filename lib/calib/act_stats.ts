// SPDX-License-Identifier: MIT
/**
 * Per-channel activation statistics of linear inputs over a calibration set, as Arrow
 * tables (display in notebooks, plot, save): absmax, mean, std, kurtosis per input channel;
 * per layer the max-to-median ratio (MMR = max channel absmax / median channel absmax, the
 * "massive activation" outlier measure), pooled kurtosis and a histogram of values.
 *
 * A report over the activation capture (`capture.ts`) with the absmax and moments accumulators:
 * moments are streamed in f64 (Σx, Σx², Σx³, Σx⁴ per channel); kurtosis is Pearson's
 * `E[(x−μ)⁴]/σ⁴` (3 for a Gaussian). The histogram needs the range first, so it takes a
 * second capture over the calibration set (skip with `histogramBins: 0`).
 *
 * @module
 */
import * as arrow from "apache-arrow";
import type { Ops } from "../ops/ops.ts";
import type { ForwardHooks, LlamaModel } from "../model/llama.ts";
import { captureActivations, checkCalibration } from "./capture.ts";
import { absmaxAccumulator } from "./accumulators/absmax.ts";
import { momentsAccumulator, momentsFromSums } from "./accumulators/moments.ts";
import { histogramAccumulator } from "./accumulators/histogram.ts";

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

function median(a: Float64Array): number {
  const s = a.slice().sort();
  const h = s.length >> 1;
  return s.length % 2 ? (s[h] as number) : ((s[h - 1] as number) + (s[h] as number)) / 2;
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
  const bins = options.histogramBins ?? 64;
  const common = { names, batchSize: options.batchSize, ops: options.ops, hooks: options.hooks };
  const stats = await captureActivations(model, ids, seqLen, {
    ...common,
    accumulators: { absmax: absmaxAccumulator(), moments: momentsAccumulator() },
  });
  const layerAbsmax = new Map([...stats].map(([name, s]) => [name, s.absmax.reduce((a, v) => Math.max(a, v), 0)]));
  // The histogram range is the layer's absmax, known only after the first pass.
  const hist = bins > 0
    ? await captureActivations(model, ids, seqLen, {
      ...common,
      accumulators: {
        histogram: histogramAccumulator({
          bins,
          range: ({ name }) => {
            const a = layerAbsmax.get(name) || 1;
            return [-a, a];
          },
        }),
      },
    })
    : undefined;
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
    const st = stats.get(name)!, absmax = Float64Array.from(st.absmax), n = absmax.length;
    const { mean, std: chStd, kurtosis, sums: [s1, s2, s3, s4] } = st.moments;
    let t1 = 0, t2 = 0, t3 = 0, t4 = 0, amax = 0;
    for (let c = 0; c < n; c++) {
      ch.name.push(name),
        ch.channel.push(c),
        ch.absmax.push(absmax[c]!),
        ch.mean.push(mean[c]!),
        ch.std.push(chStd[c]!),
        ch.kurtosis.push(kurtosis[c]!);
      t1 += s1[c]!, t2 += s2[c]!, t3 += s3[c]!, t4 += s4[c]!, amax = Math.max(amax, absmax[c]!);
    }
    const pooled = momentsFromSums(st.tokens * n, t1, t2, t3, t4);
    ly.name.push(name), ly.channels.push(n), ly.tokens.push(st.tokens), ly.absmax.push(amax);
    ly.mmr.push(amax / Math.max(median(absmax), 1e-30)), ly.kurtosis.push(pooled.kurtosis), ly.std.push(pooled.std);
    const h = hist?.get(name)?.histogram;
    if (h) {
      const a = amax || 1, w = (2 * a) / bins;
      for (let k = 0; k < bins; k++) {
        hs.name.push(name), hs.lo.push(-a + k * w), hs.hi.push(-a + (k + 1) * w), hs.count.push(h.counts[k]!);
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
