// SPDX-License-Identifier: MIT
/**
 * NeUQI initialisation of uniform quantization parameters (Near-optimal Uniform Quantization
 * Initialization; checked against efsotr/NeUQI `quant.py` / `find_zeropoint.py`): per output
 * row and group, minimise the diag(H)-weighted error
 *
 *     L(s, z) = Σ_j h_j (w_j − ŵ_j)²,   ŵ_j = s·(q_j − z),   q_j = clamp(round(w_j/s + z), 0, maxq)
 *
 * with `h = diag(H)` (1 without H), over a grid of scales `s = (t/T)·s_minmax` and, for each
 * scale, the exact optimal **non-integer** zero point z. As a function of z, L is piecewise
 * quadratic: with x = w/s, q_j steps from k to k+1 where z crosses `k + ½ − x_j`. Sweeping
 * those breakpoints in order while updating `Σh(q−x)` and `Σh(q−x)²` and taking the clamped
 * vertex on every segment gives the global minimiser; the clamp-only relaxation (a convex
 * lower bound, which the reference uses to place a ±1 window) prunes the sweep to the unit
 * intervals that can still hold the optimum, so the result stays exact.
 *
 * `integerZero: true` restricts z to the integers 0..maxq (the reference's `grid_zp`).
 * With an integer z the formula equals GPTQ's `clamp(round(w/s) + z)`.
 *
 * Symbols: `w` weight, `h` diag(H), `s` scale, `z` zero, `x = w/s`, `q` code, `maxq = 2^b − 1`.
 *
 * @module
 */
import { assertFinite, dims2, formatShape, Tensor } from "../tensor/tensor.ts";
import { roundHalfEven } from "../tensor/numeric.ts";
import { groupParams } from "./minmax.ts";
import { groupsPerRow, type IntSpec } from "./spec.ts";

/** Options of {@link neuqiParams}. */
export interface NeuqiOptions {
  /** Hessian f64 `[cols, cols]`: its diagonal weights the error (default: all ones). */
  H?: Tensor<"f64">;
  /** Scale grid resolution T: candidates (t/T)·s_minmax (default 50). */
  scaleSteps?: number;
  /** Smallest multiplier t/T (default 0.5). */
  minScaleRatio?: number;
  /** Restrict zero points to integers 0..maxq (default false). */
  integerZero?: boolean;
}

/** Result of {@link neuqiParams}. */
export interface NeuqiParams {
  /** f32 `[rows, G]`. */
  scale: Tensor<"f32">;
  /** f32 `[rows, G]` zero points (real-valued unless `integerZero`). */
  zero: Tensor<"f32">;
  /** Largest code, `2^bits − 1`. */
  maxq: number;
  /** f64 `[rows·G]` weighted error Σ h (w − ŵ)² per group at the chosen parameters. */
  loss: Float64Array;
}

/** Group sizes below this sort event keys with the element index packed in (2^12). */
const KEY_INDEX_LIMIT = 4096;
/** Resolution of the packed sort key within a unit interval (2^40; key < 2^52 stays exact). */
const KEY_FRAC_SCALE = 2 ** 40;

/**
 * Best real z for fixed s on one group: returns [z, f] with f = Σ h (q − x − z)².
 *
 * Exact, with pruning: since q is an integer in [0, maxq], |q − u| ≥ dist(u, [0, maxq]) for
 * u = x + z, so f ≥ g(z) = Σ h·dist(x + z, [0, maxq])², a convex function. Starting from a
 * centred z₀ (whose f bounds the optimum), only the unit intervals where g < f(z₀) can hold
 * the minimiser; they are found by walking outward from z₀ and swept event by event.
 */
function bestZeroReal(x: Float64Array, h: Float64Array, maxq: number): [number, number] {
  const n = x.length;
  let A = 0, xMin = Infinity, xMax = -Infinity;
  for (let j = 0; j < n; j++) {
    A += h[j]!;
    if (x[j]! < xMin) xMin = x[j]!;
    if (x[j]! > xMax) xMax = x[j]!;
  }
  if (!(A > 0)) return [(maxq + 1) / 2, 0];
  const fAt = (z: number) => {
    let f = 0;
    for (let j = 0; j < n; j++) {
      const u = x[j]! + z;
      const q = Math.min(maxq, Math.max(0, roundHalfEven(u)));
      f += h[j]! * (q - u) ** 2;
    }
    return f;
  };
  const gAt = (z: number) => {
    let g = 0;
    for (let j = 0; j < n; j++) {
      const u = x[j]! + z;
      if (u < 0) g += h[j]! * u * u;
      else if (u > maxq) g += h[j]! * (u - maxq) ** 2;
    }
    return g;
  };
  const z0 = (maxq - xMax - xMin) / 2; // centres the range of x + z in [0, maxq]
  const bound = fAt(z0);
  let mL = Math.floor(z0), mR = Math.floor(z0);
  while (gAt(mL) < bound) mL--;
  while (gAt(mR + 1) < bound) mR++;
  // State at z = mL: q_j counts element j's events z = y_j + k (y_j = ½ − x_j) strictly below mL.
  // Within every unit interval [m, m+1) events come in the order of frac(y_j): sort once, with
  // the index packed into the low bits of a numeric key (native typed-array sort; order
  // differences below 2^−40 of a unit cannot change the minimum).
  let B = 0, C = 0;
  const packed = n < KEY_INDEX_LIMIT;
  const keys = new Float64Array(n), order = new Array<number>(packed ? 0 : n);
  const fracOf = (j: number) => {
    const yj = 0.5 - x[j]!;
    return yj - Math.floor(yj);
  };
  for (let j = 0; j < n; j++) {
    const q = Math.min(maxq, Math.max(0, Math.ceil(mL - (0.5 - x[j]!))));
    B += h[j]! * (q - x[j]!);
    C += h[j]! * (q - x[j]!) ** 2;
    if (packed) keys[j] = Math.floor(fracOf(j) * KEY_FRAC_SCALE) * KEY_INDEX_LIMIT + j;
    else order[j] = j;
  }
  if (packed) keys.sort();
  else order.sort((a, b) => fracOf(a) - fracOf(b));
  const fr = new Float64Array(n), fy = new Float64Array(n), xs = new Float64Array(n), hs = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const j = packed ? keys[t]! % KEY_INDEX_LIMIT : order[t]!;
    const yj = 0.5 - x[j]!;
    fy[t] = Math.floor(yj);
    fr[t] = yj - fy[t]!;
    xs[t] = x[j]!;
    hs[t] = h[j]!;
  }
  let bestZ = z0, bestF = bound, lo = mL;
  const segment = (hi: number) => {
    // f = A z² − 2B z + C on [lo, hi], minimised at the clamped vertex.
    let z = B / A;
    if (z < lo) z = lo;
    else if (z > hi) z = hi;
    const f = (A * z - 2 * B) * z + C;
    if (f < bestF) {
      bestF = f;
      bestZ = z;
    }
    lo = hi;
  };
  for (let m = mL; m <= mR; m++) {
    for (let t = 0; t < n; t++) {
      const k = m - fy[t]!; // event k of element t lies in unit m
      if (k < 0 || k >= maxq) continue;
      segment(m + fr[t]!);
      const hj = hs[t]!;
      C += hj * (2 * (k - xs[t]!) + 1); // q: k → k + 1
      B += hj;
    }
  }
  segment(mR + 1);
  return [bestZ, Math.max(0, bestF)];
}

/** Best integer z in 0..maxq for fixed s. */
function bestZeroInteger(x: Float64Array, h: Float64Array, maxq: number): [number, number] {
  let bestZ = 0, bestF = Infinity;
  for (let z = 0; z <= maxq; z++) {
    let f = 0;
    for (let j = 0; j < x.length; j++) {
      const u = (x[j] as number) + z;
      const q = Math.min(maxq, Math.max(0, roundHalfEven(u)));
      f += (h[j] as number) * (q - u) ** 2;
    }
    if (f < bestF) {
      bestF = f;
      bestZ = z;
    }
  }
  return [bestZ, bestF];
}

/**
 * NeUQI parameters for an asymmetric integer spec (per-channel or per-group).
 *
 * @param W f32 `[rows, cols]` finite weights
 * @param spec asymmetric {@link IntSpec} (not per-tensor)
 * @param options `H`, `scaleSteps`, `minScaleRatio`, `integerZero`
 * @returns scale/zero f32 `[rows, G]`, maxq and the weighted loss per group
 *
 * @example Never worse than min-max on its objective
 * ```ts
 * import { neuqiParams, neuqiQuantize } from "./neuqi.ts";
 * import { randnF32 } from "../tensor/create.ts";
 * import assert from "node:assert/strict";
 * const W = randnF32([2, 32], 0);
 * const p = neuqiParams(W, { format: "int", bits: 3, groupSize: 16, symmetric: false });
 * const { weight } = neuqiQuantize(W, p);
 * assert.deepEqual(weight.shape, [2, 32]);
 * ```
 */
export function neuqiParams(W: Tensor<"f32">, spec: IntSpec, options: NeuqiOptions = {}): NeuqiParams {
  const fn = "neuqiParams";
  const [rows, cols] = dims2(fn, "W", W);
  if (spec.symmetric || spec.perTensor) {
    throw new RangeError(
      `${fn}: Cannot use NeUQI with a symmetric or per-tensor spec: it fits an asymmetric zero point per row group`,
    );
  }
  const G = groupsPerRow(fn, spec, cols);
  assertFinite(fn, "W", W);
  const T = options.scaleSteps ?? 50, minRatio = options.minScaleRatio ?? 0.5;
  if (!Number.isInteger(T) || T < 1 || !(minRatio > 0 && minRatio <= 1)) {
    throw new RangeError(
      `${fn}: Cannot search scales with scaleSteps ${T} and minScaleRatio ${minRatio}: expected an integer ≥ 1 and a ratio in (0, 1]`,
    );
  }
  const hDiag = new Float64Array(cols).fill(1);
  if (options.H) {
    const H = options.H;
    if (H.rank !== 2 || H.shape[0] !== cols || H.shape[1] !== cols) {
      throw new TypeError(
        `${fn}: Cannot use H of shape ${formatShape(H.shape)} for W of shape ${
          formatShape(W.shape)
        }: expected [${cols}, ${cols}]`,
      );
    }
    for (let j = 0; j < cols; j++) hDiag[j] = Math.max(0, H.data[j * cols + j] as number);
  }
  const maxq = 2 ** spec.bits - 1, gs = cols / G;
  const scale = new Float32Array(rows * G), zero = new Float32Array(rows * G), loss = new Float64Array(rows * G);
  const x = new Float64Array(gs), h = new Float64Array(gs);
  const solve = options.integerZero ? bestZeroInteger : bestZeroReal;
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < G; g++) {
      const o = r * cols + g * gs;
      let lo = 0, hi = 0;
      for (let j = 0; j < gs; j++) {
        const v = W.data[o + j] as number;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        h[j] = hDiag[g * gs + j] as number;
      }
      const s0 = groupParams(lo, hi, maxq, false).scale;
      let best = Infinity;
      for (let t = T; t >= Math.ceil(minRatio * T - 1e-9); t--) {
        const s = Math.fround((s0 * t) / T);
        if (!(s > 0)) continue;
        for (let j = 0; j < gs; j++) x[j] = (W.data[o + j] as number) / s;
        const [z, f] = solve(x, h, maxq);
        const l = s * s * f;
        if (l < best) {
          best = l;
          scale[r * G + g] = s;
          zero[r * G + g] = z;
        }
      }
      loss[r * G + g] = best;
    }
  }
  return { scale: new Tensor("f32", [rows, G], scale), zero: new Tensor("f32", [rows, G], zero), maxq, loss };
}

/**
 * Quantizes W with (possibly non-integer) zero points:
 * `q = clamp(round(w/s + z), 0, maxq)`, `ŵ = s·(q − z)` (ties to even).
 *
 * @param W f32 `[rows, cols]`
 * @param params scale/zero f32 `[rows, G]` and maxq (e.g. from {@link neuqiParams})
 * @returns dequantized `weight` f32 and `codes` u8, both `[rows, cols]`
 */
export function neuqiQuantize(
  W: Tensor<"f32">,
  params: { scale: Tensor<"f32">; zero: Tensor<"f32">; maxq: number },
): { weight: Tensor<"f32">; codes: Tensor<"u8"> } {
  const [rows, cols] = dims2("neuqiQuantize", "W", W);
  const G = params.scale.shape[1] as number;
  if (params.scale.shape[0] !== rows || cols % G !== 0) {
    throw new TypeError(
      `neuqiQuantize: Cannot use scale of shape ${formatShape(params.scale.shape)} for W of shape ${
        formatShape(W.shape)
      }`,
    );
  }
  const gs = cols / G, maxq = params.maxq;
  const weight = new Float32Array(rows * cols), codes = new Uint8Array(rows * cols); // [rows, cols]
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const k = r * G + Math.floor(j / gs), i = r * cols + j;
      const s = params.scale.data[k] as number, z = params.zero.data[k] as number;
      const q = Math.min(maxq, Math.max(0, roundHalfEven((W.data[i] as number) / s + z)));
      codes[i] = q;
      weight[i] = s * (q - z);
    }
  }
  return { weight: new Tensor("f32", [rows, cols], weight), codes: new Tensor("u8", [rows, cols], codes) };
}
