// SPDX-License-Identifier: MIT
/**
 * The invariance check: after any function-preserving transform (norm folding, rotation,
 * SmoothQuant or AWQ scales), the full-precision model must produce the same logits on a probe
 * batch. It reports the max absolute logit difference and the mean KL(original ‖ transformed)
 * of next-token distributions; when the logits differ beyond `atol` it throws an
 * {@link InvarianceError} naming the first place where outputs diverge — the embedding, a
 * decoder block (compared through `blockOutput` hooks) or the head.
 *
 * A rotated residual stream h' = h·R1 is mapped back (h = h'·R1ᵀ) before comparing; the
 * rotation comes from `options.residual` or from a {@link HookedLlamaModel}'s `rotations.r1`.
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { ForwardHooks, LlamaModel } from "../model/llama.ts";
import { composeHooks, HookedLlamaModel } from "./hooked_model.ts";
import type { Rotation } from "./rotation.ts";

/** Default tolerance on logits (f32 forward passes). */
export const DEFAULT_INVARIANCE_ATOL = 1e-4;

/** Options of {@link checkInvariance}. */
export interface InvarianceOptions {
  /** Max allowed |logit difference| (default {@link DEFAULT_INVARIANCE_ATOL}). */
  atol?: number;
  /** Extra hooks for the transformed model's forward pass (e.g. its online steps). */
  hooks?: ForwardHooks;
  /** Rotation of the transformed residual stream (h' = h·R); default: `rotations.r1` of a HookedLlamaModel. */
  residual?: Rotation;
  /** Relative tolerance that marks a block output as diverged: max|Δ| / max(1, max|h|) (default: atol). */
  layerRtol?: number;
  /** Backend for mapping hidden states back (default: the transformed model's). */
  ops?: Ops;
}

/** One compared stage (a type alias, so rows display directly as table rows). */
export type InvarianceRow = {
  /** `model.embed_tokens`, `model.layers.<l>` or `logits`. */
  name: string;
  /** max |original − transformed| (hidden states mapped back through Rᵀ). */
  maxAbsDiff: number;
  /** maxAbsDiff / max(1, max |original|). */
  relDiff: number;
};

/** Result of {@link checkInvariance}. */
export interface InvarianceReport {
  /** max |Δ logits|. */
  maxAbsDiff: number;
  /** Mean KL(original ‖ transformed) over probe positions, nats. */
  kl: number;
  /** Tolerance used. */
  atol: number;
  /** Embedding, every block output, then the logits. */
  layers: InvarianceRow[];
  /** Tokens in the probe batch. */
  probeTokens: number;
}

/** Thrown by {@link checkInvariance}; `layer` names the first diverging stage. */
export class InvarianceError extends RangeError {
  /** Error name. */
  override name = "InvarianceError";
  /** First stage whose outputs diverge (e.g. `model.layers.2`, or `model.norm / lm_head`). */
  readonly layer: string;
  /** The full comparison. */
  readonly report: InvarianceReport;
  /** An error with its message, the diverging stage and the report. */
  constructor(message: string, layer: string, report: InvarianceReport) {
    super(message);
    this.layer = layer;
    this.report = report;
  }
}

function compare(name: string, a: Float32Array, b: Float32Array): InvarianceRow {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= diff)) diff = d; // NaN propagates
    scale = Math.max(scale, Math.abs(a[i] as number));
  }
  return { name, maxAbsDiff: diff, relDiff: diff / Math.max(1, scale) };
}

function meanKl(P: Tensor<"f32">, Q: Tensor<"f32">): number {
  const [rows, V] = P.shape as [number, number];
  const lp = new Float64Array(V), lq = new Float64Array(V);
  const logSoftmax = (x: Float32Array, o: number, out: Float64Array) => {
    let max = -Infinity, sum = 0;
    for (let j = 0; j < V; j++) max = Math.max(max, x[o + j] as number);
    for (let j = 0; j < V; j++) sum += Math.exp((x[o + j] as number) - max);
    const lse = max + Math.log(sum);
    for (let j = 0; j < V; j++) out[j] = (x[o + j] as number) - lse;
  };
  let kl = 0;
  for (let r = 0; r < rows; r++) {
    logSoftmax(P.data, r * V, lp);
    logSoftmax(Q.data, r * V, lq);
    for (let j = 0; j < V; j++) kl += Math.exp(lp[j] as number) * ((lp[j] as number) - (lq[j] as number));
  }
  return kl / rows;
}

/**
 * Checks that `transformed` computes the same function as `original` on `probeIds`.
 *
 * @param original the reference model
 * @param transformed the transformed model (a HookedLlamaModel brings its online steps and R1)
 * @param probeIds token ids `[B·seqLen]`
 * @param seqLen tokens per probe sequence
 * @returns the report (max |Δ logits|, mean KL, per-stage differences)
 * @throws {InvarianceError} when max |Δ logits| > atol (or is NaN), naming the first diverging stage
 *
 * @example
 * ```ts ignore
 * const report = await checkInvariance(model, await quarotRotate(model), probeIds, 64);
 * report.maxAbsDiff; // ~1e-5 on the bundled model
 * ```
 */
export async function checkInvariance(
  original: LlamaModel,
  transformed: LlamaModel,
  probeIds: ArrayLike<number>,
  seqLen: number,
  options: InvarianceOptions = {},
): Promise<InvarianceReport> {
  const atol = options.atol ?? DEFAULT_INVARIANCE_ATOL;
  const layerRtol = options.layerRtol ?? atol;
  const ops = options.ops ?? transformed.ops;
  const residual = options.residual ??
    (transformed instanceof HookedLlamaModel ? transformed.rotations.r1 : undefined);
  if (original.config.hiddenSize !== transformed.config.hiddenSize) {
    throw new TypeError(
      `checkInvariance: Cannot compare hidden sizes ${original.config.hiddenSize} and ${transformed.config.hiddenSize}`,
    );
  }
  const back = async (h: Tensor<"f32">) => (residual ? await residual.applyTranspose(h, ops) : h);
  const capture = (into: Float32Array[]): ForwardHooks => ({
    blockOutput: (_l, h) => void into.push(h.data.slice()),
  });
  const hA: Float32Array[] = [], hB: Float32Array[] = [];
  const logitsA = await original.forward(probeIds, seqLen, { hooks: capture(hA) });
  const logitsB = await transformed.forward(probeIds, seqLen, { hooks: composeHooks(options.hooks, capture(hB)) });

  const d = original.config.hiddenSize, rows = probeIds.length;
  const layers: InvarianceRow[] = [];
  const embB = await back(transformed.embed(probeIds));
  layers.push(compare("model.embed_tokens", original.embed(probeIds).data, embB.data));
  for (let l = 0; l < hA.length; l++) {
    const mapped = await back(new Tensor("f32", [rows, d], hB[l] as Float32Array));
    layers.push(compare(`model.layers.${l}`, hA[l] as Float32Array, mapped.data));
  }
  const logitRow = compare("logits", logitsA.data, logitsB.data);
  layers.push(logitRow);
  const report: InvarianceReport = {
    maxAbsDiff: logitRow.maxAbsDiff,
    kl: meanKl(logitsA, logitsB),
    atol,
    layers,
    probeTokens: rows,
  };
  if (!(report.maxAbsDiff <= atol)) {
    const first = layers.slice(0, -1).find((r) => !(r.relDiff <= layerRtol));
    const where = first ? first.name : "model.norm / lm_head";
    const detail = first
      ? ` (max |Δ| = ${first.maxAbsDiff.toExponential(2)}, relative ${first.relDiff.toExponential(2)})`
      : " (every block output agrees)";
    throw new InvarianceError(
      `checkInvariance: Cannot confirm that "${transformed.source}" computes the same function: logits differ by up to ${
        report.maxAbsDiff.toExponential(2)
      } > atol ${atol} (mean KL ${report.kl.toExponential(2)}); outputs first diverge at ${where}${detail}`,
      where,
      report,
    );
  }
  return report;
}
