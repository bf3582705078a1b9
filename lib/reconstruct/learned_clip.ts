// SPDX-License-Identifier: MIT
/**
 * Learnable weight clipping (LWC) of OmniQuant (Shao et al. 2023, arXiv:2308.13137, eq. 2),
 * layer-wise: per row and group, learn how far to shrink the min-max range,
 *
 *     h = (γ·max − β·min) / maxq,   z = −round(β·min / h),   γ = σ(a), β = σ(b)
 *     W̃ = h·(clamp(round(W/h) + z, 0, maxq) − z)
 *
 * minimising ½·Tr((W̃ − W)·H·(W̃ − W)ᵀ) with Adam. Rounding passes gradients straight through
 * (STE), so inside the range ∂W̃/∂h = round(W/h) − W/h, and at the clamps ∂W̃/∂h = −z or
 * maxq − z, ∂W̃/∂z = −h; the loss gradient w.r.t. W̃ is the analytic `(W̃ − W)·H` (one GEMM on
 * `ops` per step). OmniQuant initialises a = b = 4 (γ ≈ 0.98). With the STE the forward pass
 * is the real quantizer, so every step's loss is exact and the best parameters seen are kept.
 * Range as in lib/quant/minmax.ts: [min(W, 0), max(W, 0)]; symmetric formats learn γ only.
 *
 * Symbols: `W` `[rows, cols]`, `H` `[cols, cols]`, `h` step, `z` zero, `γ`/`β` clipping
 * factors of max/min, `a`/`b` their logits.
 *
 * @module
 */
import { assertFinite, dims2, formatShape, Tensor } from "../tensor/tensor.ts";
import { roundHalfEven } from "../tensor/numeric.ts";
import type { IntQuantParams, Ops } from "../ops/ops.ts";
import { tsOps } from "../ops/ts/mod.ts";
import { formatId, groupsPerRow, type IntSpec } from "../quant/spec.ts";
import { type IntQuantized, intQuantized } from "../quant/quantized_tensor.ts";
import { AdamState, adamStep, halfTrace } from "./_optim.ts";

/** Options of {@link learnedClip}. */
export interface LearnedClipOptions {
  /** Integer format. */
  spec: IntSpec;
  /** Backend of the per-step GEMM and the final quantization (default `tsOps`). */
  ops?: Ops;
  /** Adam steps (default 200). */
  iterations?: number;
  /** Adam learning rate on the logits (default 5e-3). */
  learningRate?: number;
  /** Initial logit of γ and β (default 4, OmniQuant's). */
  init?: number;
  /** Called after each step with step, total and the current loss. */
  onProgress?: (step: number, total: number, loss: number) => void;
}

/** Result of {@link learnedClip}. */
export interface LearnedClipResult {
  /** Dequantized weight f32 `[rows, cols]` with the learned ranges. */
  weight: Tensor<"f32">;
  /** Packed codes with the learned parameters. */
  quantized: IntQuantized;
  /** The learned `scale`/`zero` f32 `[rows, G]`. */
  params: IntQuantParams;
  /** Learned γ (factor of the max), f32 `[rows, G]` flattened. */
  gamma: Float32Array;
  /** Learned β (factor of the min; equals γ for symmetric formats), f32 `[rows, G]` flattened. */
  beta: Float32Array;
  /** ½·Tr(ΔW·H·ΔWᵀ) of the result. */
  loss: number;
  /** Loss at every step. */
  history: Float64Array;
}

/**
 * Learns per-group clipping of W against the layer Hessian (OmniQuant LWC, layer-wise).
 *
 * @param W f32 `[rows, cols]`, finite
 * @param H f64 `[cols, cols]` Hessian `2XᵀX/N`
 * @param options `spec` (required), `ops`, `iterations`, `learningRate`, `init`, `onProgress`
 * @returns weight, packed form, learned parameters and factors, loss history
 */
export async function learnedClip(
  W: Tensor<"f32">,
  H: Tensor<"f64">,
  options: LearnedClipOptions,
): Promise<LearnedClipResult> {
  const fn = "learnedClip";
  const [rows, cols] = dims2(fn, "W", W);
  if (H.rank !== 2 || H.shape[0] !== cols || H.shape[1] !== cols) {
    throw new TypeError(`${fn}: Cannot use H of shape ${formatShape(H.shape)} with W of shape ${formatShape(W.shape)}`);
  }
  assertFinite(fn, "W", W);
  const { spec } = options;
  const G = groupsPerRow(fn, spec, cols), gs = cols / G, P = rows * G;
  const ops = options.ops ?? tsOps;
  const iterations = options.iterations ?? 200;
  const lr = options.learningRate ?? 5e-3;
  const maxq = 2 ** spec.bits - 1;
  const lo = new Float64Array(P), hi = new Float64Array(P);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < G; g++) {
      let a = 0, b = 0;
      for (let j = g * gs; j < (g + 1) * gs; j++) {
        const v = W.data[r * cols + j] as number;
        if (v < a) a = v;
        if (v > b) b = v;
      }
      if (spec.symmetric) [a, b] = [-Math.max(-a, b), Math.max(-a, b)];
      if (a === 0 && b === 0) [a, b] = [-1, 1];
      lo[r * G + g] = a;
      hi[r * G + g] = b;
    }
  }
  const logits = new Float64Array(2 * P).fill(options.init ?? 4); // [a (γ) | b (β)]
  const adam = new AdamState(2 * P);
  const H32 = new Tensor("f32", [cols, cols], Float32Array.from(H.data));
  const step = new Float64Array(P), zp = new Float64Array(P);
  const dW = new Tensor("f32", [rows, cols]);
  const dWdh = new Float64Array(rows * cols), dWdz = new Float64Array(rows * cols);
  const grad = new Float64Array(2 * P);
  const history = new Float64Array(iterations);
  let best = Infinity;
  let bestLogits = logits.slice();
  const ranges = () => {
    for (let p = 0; p < P; p++) {
      const gamma = sigmoid(logits[p]!), beta = spec.symmetric ? gamma : sigmoid(logits[P + p]!);
      const h = Math.max((gamma * hi[p]! - beta * lo[p]!) / maxq, 1e-10);
      step[p] = h;
      zp[p] = spec.symmetric ? (maxq + 1) / 2 : clamp(roundHalfEven((-beta * lo[p]!) / h), 0, maxq);
    }
  };
  for (let t = 0; t < iterations; t++) {
    ranges();
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j++) {
        const i = r * cols + j, p = r * G + Math.floor(j / gs);
        const h = step[p]!, z = zp[p]!;
        const x = W.data[i]! / h, q = roundHalfEven(x) + z;
        const qc = clamp(q, 0, maxq);
        dW.data[i] = h * (qc - z) - W.data[i]!;
        dWdh[i] = q < 0 ? -z : q > maxq ? maxq - z : roundHalfEven(x) - x;
        dWdz[i] = q < 0 || q > maxq ? -h : 0;
      }
    }
    const Gm = (await ops.matmul(dW, H32)).data; // (W̃ − W)·H
    const loss = halfTrace(dW, Gm);
    history[t] = loss;
    if (loss < best) {
      best = loss;
      bestLogits = logits.slice();
    }
    options.onProgress?.(t + 1, iterations, loss);
    grad.fill(0);
    for (let p = 0; p < P; p++) {
      const r = Math.floor(p / G), g = p - r * G;
      let gh = 0, gz = 0;
      for (let j = g * gs; j < (g + 1) * gs; j++) {
        const i = r * cols + j;
        gh += Gm[i]! * dWdh[i]!;
        gz += Gm[i]! * dWdz[i]!;
      }
      const gamma = sigmoid(logits[p]!), beta = spec.symmetric ? gamma : sigmoid(logits[P + p]!);
      const h = step[p]!;
      if (spec.symmetric) {
        grad[p] = gh * ((hi[p]! - lo[p]!) / maxq) * gamma * (1 - gamma);
        continue;
      }
      const dhdg = hi[p]! / maxq, dhdb = -lo[p]! / maxq;
      const dzdg = ((beta * lo[p]!) / (h * h)) * dhdg; // z = −round(β·min/h), STE
      const dzdb = -lo[p]! / h + ((beta * lo[p]!) / (h * h)) * dhdb;
      grad[p] = (gh * dhdg + gz * dzdg) * gamma * (1 - gamma);
      grad[P + p] = (gh * dhdb + gz * dzdb) * beta * (1 - beta);
    }
    adamStep(logits, grad, adam, lr);
  }
  logits.set(bestLogits);
  ranges();
  const params: IntQuantParams = {
    scale: new Tensor("f32", [rows, G], Float32Array.from(step)),
    zero: new Tensor("f32", [rows, G], Float32Array.from(zp)),
    maxq,
  };
  const [weight, codes] = await Promise.all([ops.fakeQuantize(W, params), ops.quantizeCodes(W, params)]);
  for (let i = 0; i < dW.data.length; i++) dW.data[i] = weight.data[i]! - W.data[i]!;
  const quantized = intQuantized(formatId(spec), codes, spec.bits, {
    scale: params.scale,
    zero: params.zero,
    symmetric: spec.symmetric,
  });
  return {
    weight,
    quantized,
    params,
    gamma: Float32Array.from({ length: P }, (_, p) => sigmoid(logits[p]!)),
    beta: Float32Array.from({ length: P }, (_, p) => sigmoid(logits[spec.symmetric ? p : P + p]!)),
    loss: halfTrace(dW, (await ops.matmul(dW, H32)).data),
    history,
  };
}

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
