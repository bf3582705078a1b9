// SPDX-License-Identifier: MIT
/**
 * Shared pieces of the learned reconstructions (AdaRound, learned clipping): Adam, the
 * layer loss ½·Tr(ΔW·H·ΔWᵀ) from ΔW and ΔW·H, and parameter lookup per weight.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { IntQuantParams } from "../ops/ops.ts";

/** Adam moments for `n` parameters (Kingma & Ba 2015; β1 = 0.9, β2 = 0.999, ε = 1e-8). */
export class AdamState {
  readonly m: Float64Array;
  readonly v: Float64Array;
  step = 0;
  constructor(n: number) {
    this.m = new Float64Array(n);
    this.v = new Float64Array(n);
  }
}

/** One in-place Adam step `x −= lr · m̂ / (√v̂ + ε)`. */
export function adamStep(x: Float64Array, grad: Float64Array, state: AdamState, lr: number): void {
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;
  state.step++;
  const c1 = 1 - b1 ** state.step, c2 = 1 - b2 ** state.step;
  const { m, v } = state;
  for (let i = 0; i < x.length; i++) {
    const g = grad[i] as number;
    const mi = b1 * (m[i] as number) + (1 - b1) * g;
    const vi = b2 * (v[i] as number) + (1 - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    x[i] = (x[i] as number) - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
  }
}

/** ½·Σ ΔW ⊙ (ΔW·H) = ½·Tr(ΔW·H·ΔWᵀ). */
export function halfTrace(dW: Tensor<"f32">, dWH: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < dW.data.length; i++) s += (dW.data[i] as number) * (dWH[i] as number);
  return s / 2;
}

/** Maps a flat weight index of `[rows, cols]` to the index of its `[R, G]` parameter. */
export function paramIndex(params: IntQuantParams, rows: number, cols: number): (i: number) => number {
  const R = params.scale.shape[0] as number, G = params.scale.shape[1] as number;
  if ((R !== rows && R !== 1) || cols % G !== 0) {
    throw new TypeError(
      `paramIndex: Cannot use params of shape [${R}, ${G}] with a weight of shape [${rows}, ${cols}]: expected [${rows}, G] or [1, G] with G dividing ${cols}`,
    );
  }
  const gs = cols / G;
  return (i: number) => {
    const r = Math.floor(i / cols), j = i - r * cols;
    return (R === 1 ? 0 : r * G) + Math.floor(j / gs);
  };
}
