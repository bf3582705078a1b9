// SPDX-License-Identifier: MIT
/**
 * AdaRound, layer-wise (Nagel et al. 2020, arXiv:2004.10568, eqs. 21–25): learn for every
 * weight whether to round down or up, minimising the layer's output error through H:
 *
 *     W̃ = s·(clamp(⌊W/s⌋ + h(V) + z, 0, maxq) − z),   h(V) = clamp(σ(V)(ζ − γ) + γ, 0, 1)
 *     L = ½·Tr((W̃ − W)·H·(W̃ − W)ᵀ) + λ·Σ (1 − |2h(V) − 1|^β)
 *
 * with ζ = 1.1, γ = −0.1 (the rectified sigmoid), β annealed from 20 to 2 after a warm-up
 * without the regulariser, and V initialised so that h(V) = frac(W/s) (W̃ = W at the start).
 * For one linear layer the gradient is analytic — `∂L/∂W̃ = (W̃ − W)·H` (with H = 2XᵀX/N,
 * ½·Tr(ΔW H ΔWᵀ) is the mean over tokens of ‖ΔW·x‖²) — so no autograd is needed: one GEMM
 * per step on `ops`, then a fused element-wise pass (rectified sigmoid, regulariser, Adam).
 * At the end each weight rounds up where h(V) ≥ ½ (V ≥ 0). Deterministic: no sampling (the
 * full H replaces mini-batches), fixed iterations.
 *
 * Symbols: `W` `[rows, cols]`, `H` `[cols, cols]`, `s` scale, `z` zero, `V` rounding logits,
 * `h` soft rounding in [0, 1], `λ` regularisation weight, `β` annealed exponent.
 *
 * @module
 */
import { assertFinite, dims2, formatShape, Tensor } from "../tensor/tensor.ts";
import type { IntQuantParams, Ops } from "../ops/ops.ts";
import { tsOps } from "../ops/ts/mod.ts";
import { roundHalfEven } from "../tensor/numeric.ts";
import { formatId, groupsPerRow, type IntSpec } from "../quant/spec.ts";
import { minmaxParams } from "../quant/minmax.ts";
import { type IntQuantized, intQuantized } from "../quant/quantized_tensor.ts";
import { AdamState, halfTrace, paramIndex } from "./_optim.ts";

/** Upper stretch ζ of the rectified sigmoid (AdaRound §3.2). */
export const ADAROUND_ZETA: number = 1.1;
/** Lower stretch γ of the rectified sigmoid (AdaRound §3.2). */
export const ADAROUND_GAMMA: number = -0.1;

/** Options of {@link adaround}. */
export interface AdaRoundOptions {
  /** Integer format. */
  spec: IntSpec;
  /** Backend of the per-step GEMM (default `tsOps`). */
  ops?: Ops;
  /** Grid parameters `[rows, G]` (default min-max). */
  params?: IntQuantParams;
  /** Adam steps (default 500). */
  iterations?: number;
  /** Adam learning rate on V (default 1e-2). */
  learningRate?: number;
  /** Regulariser weight λ (default 0.01). */
  regWeight?: number;
  /** Share of steps without the regulariser before β anneals (default 0.2). */
  warmup?: number;
  /** β when the regulariser starts, after the warm-up (default 20). */
  betaStart?: number;
  /** β at the last step (default 2). */
  betaEnd?: number;
  /** Called every `progressEvery` steps (default 50) with step, total and the current losses. */
  onProgress?: (step: number, total: number, loss: { reconstruction: number; regularizer: number }) => void;
  /** Steps between progress calls and loss-history entries (default 50). */
  progressEvery?: number;
}

/** Result of {@link adaround}. */
export interface AdaRoundResult {
  /** Dequantized weight with the learned (hard) rounding, f32 `[rows, cols]`. */
  weight: Tensor<"f32">;
  /** Packed codes with the min-max (or given) grid parameters. */
  quantized: IntQuantized;
  /** ½·Tr(ΔW·H·ΔWᵀ) after hard rounding. */
  loss: number;
  /** Share of weights rounded differently from round-to-nearest. */
  flipped: number;
  /** Reconstruction loss of the soft weights, every `progressEvery` steps. */
  history: Float64Array;
}

/**
 * Soft-rounded weights W̃ for logits V (exported for tests: with V from {@link adaroundInit}
 * it reproduces W).
 *
 * @returns f32 `[rows, cols]`
 */
export function adaroundSoftWeight(W: Tensor<"f32">, V: Float64Array, params: IntQuantParams): Tensor<"f32"> {
  const [rows, cols] = dims2("adaroundSoftWeight", "W", W);
  const out = new Float32Array(rows * cols);
  const at = paramIndex(params, rows, cols);
  for (let i = 0; i < out.length; i++) {
    const p = at(i);
    const s = params.scale.data[p] as number, z = params.zero.data[p] as number;
    const x = Math.fround((W.data[i] as number) * Math.fround(1 / s));
    const h = rectifiedSigmoid(V[i] as number);
    out[i] = s * (clamp(Math.floor(x) + h + z, 0, params.maxq) - z);
  }
  return new Tensor("f32", [rows, cols], out);
}

/** Logits V with h(V) = frac(W/s): AdaRound's initialisation. */
export function adaroundInit(W: Tensor<"f32">, params: IntQuantParams): Float64Array {
  const [rows, cols] = dims2("adaroundInit", "W", W);
  const at = paramIndex(params, rows, cols);
  const V = new Float64Array(rows * cols);
  for (let i = 0; i < V.length; i++) {
    const x = Math.fround((W.data[i] as number) * Math.fround(1 / (params.scale.data[at(i)] as number)));
    const p = (x - Math.floor(x) - ADAROUND_GAMMA) / (ADAROUND_ZETA - ADAROUND_GAMMA); // σ(V) in (0.083, 0.917)
    V[i] = Math.log(p / (1 - p));
  }
  return V;
}

/**
 * Learns the rounding of W with AdaRound against the layer Hessian.
 *
 * @param W f32 `[rows, cols]`, finite
 * @param H f64 `[cols, cols]` Hessian `2XᵀX/N`
 * @param options `spec` (required), `ops`, `params`, `iterations`, `learningRate`, `regWeight`,
 *   `warmup`, `betaStart`, `betaEnd`, `onProgress`
 * @returns the hard-rounded weight, its packed form, the final loss and the flip share
 *
 * @example
 * ```ts ignore
 * const r = await adaround(W, H, { spec: { format: "int", bits: 3, groupSize: 128, symmetric: false } });
 * ```
 */
export async function adaround(W: Tensor<"f32">, H: Tensor<"f64">, options: AdaRoundOptions): Promise<AdaRoundResult> {
  const fn = "adaround";
  const [rows, cols] = dims2(fn, "W", W);
  if (H.rank !== 2 || H.shape[0] !== cols || H.shape[1] !== cols) {
    throw new TypeError(`${fn}: Cannot use H of shape ${formatShape(H.shape)} with W of shape ${formatShape(W.shape)}`);
  }
  assertFinite(fn, "W", W);
  const { spec } = options;
  groupsPerRow(fn, spec, cols);
  const ops = options.ops ?? tsOps;
  const params = options.params ?? minmaxParams(W, spec);
  const iterations = options.iterations ?? 500;
  const lr = options.learningRate ?? 1e-2;
  const lambda = options.regWeight ?? 0.01;
  const warm = Math.floor((options.warmup ?? 0.2) * iterations);
  const b0 = options.betaStart ?? 20, b1 = options.betaEnd ?? 2;
  const every = options.progressEvery ?? 50;
  const H32 = new Tensor("f32", [cols, cols], Float32Array.from(H.data));
  const at = paramIndex(params, rows, cols);
  const n = rows * cols;
  const s = new Float32Array(n), z = new Float32Array(n), fl = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = at(i);
    s[i] = params.scale.data[p] as number;
    z[i] = params.zero.data[p] as number;
    fl[i] = Math.floor(Math.fround((W.data[i] as number) * Math.fround(1 / (s[i] as number))));
  }
  const V = adaroundInit(W, params);
  const adam = new AdamState(n);
  const dW = new Tensor("f32", [rows, cols]); // W̃ − W
  const sig = new Float64Array(n); // σ(V) of the current step
  const history: number[] = [];
  const span = ADAROUND_ZETA - ADAROUND_GAMMA;
  const Wd = W.data, dWd = dW.data, maxq = params.maxq;
  const { m, v } = adam;
  for (let t = 0; t < iterations; t++) {
    const useReg = t >= warm;
    const beta = useReg ? b1 + (b0 - b1) * (1 - (t - warm) / Math.max(1, iterations - warm)) : b0;
    for (let i = 0; i < n; i++) {
      const sg = 1 / (1 + Math.exp(-V[i]!));
      sig[i] = sg; // reused by the gradient pass: one exp per weight and step
      const h = clamp(sg * span + ADAROUND_GAMMA, 0, 1);
      dWd[i] = s[i]! * (clamp(fl[i]! + h + z[i]!, 0, maxq) - z[i]!) - Wd[i]!;
    }
    const G = (await ops.matmul(dW, H32)).data; // ∂L/∂W̃ = (W̃ − W)·H  [rows, cols]
    // Gradient w.r.t. V and the Adam step, fused in one pass (β1 = 0.9, β2 = 0.999, ε = 1e-8).
    adam.step++;
    const c1 = 1 - 0.9 ** adam.step, c2 = 1 - 0.999 ** adam.step;
    let reg = 0;
    for (let i = 0; i < n; i++) {
      const sg = sig[i]!;
      const raw = sg * span + ADAROUND_GAMMA;
      let g = 0; // h clamped: no gradient through the rectified sigmoid (nor the regulariser)
      if (raw > 0 && raw < 1) {
        const q = fl[i]! + raw + z[i]!;
        let gh = q > 0 && q < maxq ? G[i]! * s[i]! : 0; // ∂L_rec/∂h
        if (useReg) {
          const u = 2 * raw - 1;
          const au = Math.abs(u);
          const p = au ** (beta - 1); // |2h − 1|^(β−1); times |u| gives |2h − 1|^β
          reg += 1 - p * au;
          gh -= lambda * beta * p * Math.sign(u) * 2;
        }
        g = gh * sg * (1 - sg) * span;
      }
      const mi = 0.9 * m[i]! + 0.1 * g;
      const vi = 0.999 * v[i]! + 0.001 * g * g;
      m[i] = mi;
      v[i] = vi;
      V[i] = V[i]! - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + 1e-8);
    }
    if (t % every === 0 || t === iterations - 1) {
      const rec = halfTrace(dW, G);
      history.push(rec);
      options.onProgress?.(t + 1, iterations, { reconstruction: rec, regularizer: lambda * reg });
    }
  }
  // Hard rounding: up where h(V) >= ½, i.e. V >= 0.
  const codes = new Uint8Array(n);
  const Wq = new Float32Array(n);
  let flipped = 0;
  for (let i = 0; i < n; i++) {
    const up = V[i]! >= 0 ? 1 : 0;
    const q = clamp(fl[i]! + up + z[i]!, 0, params.maxq);
    const x = Math.fround(W.data[i]! * Math.fround(1 / s[i]!));
    if (q !== clamp(roundHalfEven(x) + z[i]!, 0, params.maxq)) flipped++;
    codes[i] = q;
    Wq[i] = s[i]! * (q - z[i]!);
  }
  const weight = new Tensor("f32", [rows, cols], Wq);
  for (let i = 0; i < n; i++) dW.data[i] = Wq[i]! - W.data[i]!;
  const loss = halfTrace(dW, (await ops.matmul(dW, H32)).data);
  const quantized = intQuantized(formatId(spec), new Tensor("u8", [rows, cols], codes), spec.bits, {
    scale: params.scale,
    zero: params.zero,
    symmetric: spec.symmetric,
  });
  return { weight, quantized, loss, flipped: flipped / n, history: Float64Array.from(history) };
}

function rectifiedSigmoid(v: number): number {
  return clamp((ADAROUND_ZETA - ADAROUND_GAMMA) / (1 + Math.exp(-v)) + ADAROUND_GAMMA, 0, 1);
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
