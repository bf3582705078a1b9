// SPDX-License-Identifier: MIT
/**
 * Rotary position embeddings (RoPE) as Hugging Face transformers computes them: the inverse
 * frequencies of plain RoPE and of the `linear` and `llama3` scalings
 * (`modeling_rope_utils.py`: `_compute_default_rope_parameters`,
 * `_compute_linear_scaling_rope_parameters`, `_compute_llama3_parameters`), the cos/sin tables,
 * and their application in the `rotate_half` convention (pairs (i, i + hd/2), not interleaved).
 *
 * Numerics: transformers computes inv_freq in f32 tensors, and `scalar / tensor` in PyTorch is
 * `reciprocal(tensor) · scalar`. We mirror each f32 rounding with `Math.fround`, so the llama3
 * band boundaries (`wavelen` compared with the old context length) fall on the same side.
 *
 * Symbols: hd head dimension, θ `rope_theta`, p position, ω_i inverse frequency of pair i.
 *
 * @module
 */

/** `rope_scaling` of type `linear`: positions divided by `factor` (ω_i ← ω_i / factor). */
export interface LinearRopeScaling {
  /** The rope type. */
  type: "linear";
  /** Divisor of every inverse frequency (> 0). */
  factor: number;
}

/** `rope_scaling` of type `llama3` (Llama 3.1+): low frequencies divided by `factor`, a smooth band between. */
export interface Llama3RopeScaling {
  /** The rope type. */
  type: "llama3";
  /** Divisor of the low frequencies (8 or 32 in Llama 3.x). */
  factor: number;
  /** Wavelengths longer than originalMaxPositions / lowFreqFactor are scaled fully. */
  lowFreqFactor: number;
  /** Wavelengths shorter than originalMaxPositions / highFreqFactor are kept. */
  highFreqFactor: number;
  /** Context length of pre-training (8192 in Llama 3). */
  originalMaxPositions: number;
}

/** A supported RoPE scaling; `null` in {@link LlamaConfig} means plain RoPE. */
export type RopeScaling = LinearRopeScaling | Llama3RopeScaling;

const f = Math.fround;

/**
 * Inverse frequencies ω_i, i < hd/2, f32 as transformers computes them:
 * plain `1 / θ^(2i/hd)`; `linear` ω_i / factor; `llama3` per wavelength band.
 *
 * @param headDim hd (even)
 * @param theta θ > 0
 * @param scaling the scaling, or null for plain RoPE
 * @returns f32 `[hd/2]`
 *
 * @example
 * ```ts
 * import { ropeInvFreq } from "./rope.ts";
 * import assert from "node:assert/strict";
 * const plain = ropeInvFreq(8, 10000, null);
 * const linear = ropeInvFreq(8, 10000, { type: "linear", factor: 4 });
 * assert.equal(plain[0], 1);
 * assert.equal(linear[3], Math.fround(plain[3]! / 4));
 * ```
 */
export function ropeInvFreq(headDim: number, theta: number, scaling: RopeScaling | null): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    // 1.0 / (base ** (arange(0, dim, 2).float() / dim)): every step an f32 tensor op
    const exponent = f(f(2 * i) / headDim);
    inv[i] = f(1 / f(Math.pow(f(theta), exponent)));
  }
  if (scaling?.type === "linear") {
    const factor = f(scaling.factor);
    for (let i = 0; i < half; i++) inv[i] = f((inv[i] as number) / factor);
  } else if (scaling?.type === "llama3") {
    llama3Rescale(inv, scaling);
  }
  return inv;
}

/** In place: transformers' `_compute_llama3_parameters` on f32 inverse frequencies. */
function llama3Rescale(inv: Float32Array, s: Llama3RopeScaling): void {
  const factor = f(s.factor), low = f(s.lowFreqFactor), old = f(s.originalMaxPositions);
  const lowWavelen = f(s.originalMaxPositions / s.lowFreqFactor); // python floats, compared as f32
  const highWavelen = f(s.originalMaxPositions / s.highFreqFactor);
  const bandWidth = f(s.highFreqFactor - s.lowFreqFactor);
  const twoPi = f(2 * Math.PI);
  for (let i = 0; i < inv.length; i++) {
    const w = inv[i] as number;
    const wavelen = f(f(1 / w) * twoPi); // 2π / inv_freq
    // wavelen > low_freq_wavelen: divide by factor; wavelen < high_freq_wavelen: keep
    const scaled = wavelen > lowWavelen ? f(w / factor) : w;
    const isMedium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
    if (!isMedium) {
      inv[i] = scaled;
      continue;
    }
    // smooth = (old / wavelen − low) / (high − low); (1 − smooth)·ω/factor + smooth·ω
    const smooth = f(f(f(f(1 / wavelen) * old) - low) / bandWidth);
    inv[i] = f(f(f(f(1 - smooth) * scaled) / factor) + f(smooth * scaled));
  }
}

/** Cosine and sine tables of RoPE for positions `[0, T)`: each f64 `[T, hd/2]`. */
export interface RopeTables {
  /** cos(angle(p, i)), f64 `[T, hd/2]`. */
  cos: Float64Array;
  /** sin(angle(p, i)), f64 `[T, hd/2]`. */
  sin: Float64Array;
  /** hd/2: frequencies per position. */
  half: number;
}

/**
 * Builds RoPE tables: angle(p, i) = f32(p · ω_i), as transformers' `inv_freq @ position_ids` in f32.
 *
 * @param T positions
 * @param invFreq f32 `[hd/2]` from {@link ropeInvFreq}
 * @returns cos and sin, f64 `[T, hd/2]`
 */
export function ropeTables(T: number, invFreq: Float32Array): RopeTables {
  const half = invFreq.length;
  const cos = new Float64Array(T * half), sin = new Float64Array(T * half);
  for (let i = 0; i < half; i++) {
    for (let p = 0; p < T; p++) {
      const a = f(p * (invFreq[i] as number));
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos, sin, half };
}

/**
 * Applies RoPE in place to heads laid out as `[T, nHeads·hd]` (one sequence), position p = row.
 * Pairs (i, i + hd/2) rotate together (`rotate_half`, not interleaved).
 *
 * @param x f32 `[T, nHeads·hd]`, modified in place
 * @param T tokens
 * @param nHeads heads in a row
 * @param headDim hd
 * @param rope tables for at least T positions
 */
export function applyRope(x: Float32Array, T: number, nHeads: number, headDim: number, rope: RopeTables): void {
  const { cos, sin, half } = rope;
  const width = nHeads * headDim;
  for (let p = 0; p < T; p++) {
    for (let h = 0; h < nHeads; h++) {
      const o = p * width + h * headDim;
      for (let i = 0; i < half; i++) {
        const a = x[o + i] as number, b = x[o + i + half] as number;
        const c = cos[p * half + i] as number, s = sin[p * half + i] as number;
        x[o + i] = a * c - b * s;
        x[o + i + half] = b * c + a * s;
      }
    }
  }
}
