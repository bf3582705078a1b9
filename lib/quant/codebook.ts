// SPDX-License-Identifier: MIT
/**
 * Non-uniform scalar codebooks: NormalFloat NF4 (QLoRA, Dettmers et al. 2023,
 * arXiv:2305.14314; the table of bitsandbytes `functional.py` `create_normal_map`), NF3 by
 * the same construction, and arbitrary sorted tables. Values are `scale · levels[q]` with an
 * absmax scale per group (`scale = absmax / max|level|`).
 *
 * NormalFloat construction (`create_normal_map(offset, use_extra_value=True)`) for b bits:
 * `2^(b−1)` positive levels `Φ⁻¹(linspace(offset, 0.5, 2^(b−1)+1)[:-1])`, `2^(b−1) − 1`
 * negative levels `−Φ⁻¹(linspace(offset, 0.5, 2^(b−1))[:-1])`, and 0, divided by the max.
 * bitsandbytes uses `offset = 0.9677083 = 1 − ½(1/32 + 1/30)` for NF4; NF3 here uses the
 * analogous `1 − ½(1/16 + 1/14)` (approx.: SINQ's shipped NF3 table may differ).
 *
 * @module
 */

/** NF4 levels exactly as bitsandbytes ships them (f32). */
export const NF4_LEVELS: Float32Array = Float32Array.from([
  -1.0,
  -0.6961928009986877,
  -0.5250730514526367,
  -0.39491748809814453,
  -0.28444138169288635,
  -0.18477343022823334,
  -0.09105003625154495,
  0.0,
  0.07958029955625534,
  0.16093020141124725,
  0.24611230194568634,
  0.33791524171829224,
  0.44070982933044434,
  0.5626170039176941,
  0.7229568362236023,
  1.0,
]);

/**
 * Inverse standard normal CDF Φ⁻¹(p) (Acklam's rational approximation, relative error
 * < 1.2e-9), for 0 < p < 1.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: Cannot invert p = ${p}: expected 0 < p < 1`);
  const a = [
    -3.969683028665376e1,
    2.209460984245205e2,
    -2.759285104469687e2,
    1.38357751867269e2,
    -3.066479806614716e1,
    2.506628277459239,
  ];
  const b = [
    -5.447609879822406e1,
    1.615858368580409e2,
    -1.556989798598866e2,
    6.680131188771972e1,
    -1.328068155288572e1,
  ];
  const c = [
    -7.784894002430293e-3,
    -3.223964580411365e-1,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
  ];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
    ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5, r = q * q;
  return (((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** `n` evenly spaced values from `a` to `b` inclusive (torch.linspace). */
function linspace(a: number, b: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (n === 1 ? a : a + (b - a) * i / (n - 1)));
}

/**
 * The NormalFloat construction for `bits` (see the module doc).
 *
 * @param bits 2..8
 * @param offset top quantile (default: `1 − ½(1/2^(b+1) + 1/(2^(b+1) − 2))`, 0.9677083 for 4 bits)
 * @returns f32 `[2^bits]` ascending levels in [−1, 1] with an exact 0
 *
 * @example Matches the shipped NF4 table
 * ```ts
 * import { NF4_LEVELS, normalFloatLevels } from "./codebook.ts";
 * import assert from "node:assert/strict";
 * const nf4 = normalFloatLevels(4);
 * assert.ok(nf4.every((v, i) => Math.abs(v - NF4_LEVELS[i]!) < 1e-6));
 * ```
 */
export function normalFloatLevels(bits: number, offset?: number): Float32Array {
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) {
    throw new RangeError(`normalFloatLevels: Cannot build a ${bits}-bit NormalFloat: bits must be an integer in 2..8`);
  }
  const half = 2 ** (bits - 1);
  const o = offset ?? 1 - 0.5 * (1 / (2 * 2 * half) + 1 / (2 * (2 * half - 1)));
  const pos = linspace(o, 0.5, half + 1).slice(0, -1).map(normalQuantile);
  const neg = linspace(o, 0.5, half).slice(0, -1).map((p) => -normalQuantile(p));
  const all = [...pos, 0, ...neg].sort((x, y) => x - y);
  const max = all[all.length - 1] as number;
  return Float32Array.from(all.map((v) => v / max));
}

/** NF3 levels (8 values in [−1, 1]) from {@link normalFloatLevels}. */
export const NF3_LEVELS: Float32Array = normalFloatLevels(3);

/**
 * Levels of a named or custom codebook, validated: finite, strictly ascending, 1..256 entries.
 *
 * @param name `nf4`, `nf3`, or any name when `levels` is given
 * @param levels custom table (required unless name is nf4/nf3)
 */
export function codebookLevels(name: string, levels?: Float32Array): Float32Array {
  if (name === "nf4") return NF4_LEVELS;
  if (name === "nf3") return NF3_LEVELS;
  if (!levels) {
    throw new RangeError(
      `codebookLevels: Cannot find codebook "${name}": pass 'levels' for a custom codebook (known: nf4, nf3)`,
    );
  }
  if (!/^[A-Za-z0-9]+$/.test(name)) {
    throw new RangeError(`codebookLevels: Cannot name a codebook "${name}": use letters and digits only`);
  }
  if (levels.length < 1 || levels.length > 256) {
    throw new RangeError(`codebookLevels: Cannot use ${levels.length} levels for "${name}": expected 1 to 256`);
  }
  for (let i = 0; i < levels.length; i++) {
    const v = levels[i] as number;
    if (!Number.isFinite(v) || (i > 0 && !(v > (levels[i - 1] as number)))) {
      throw new RangeError(
        `codebookLevels: Cannot use levels of "${name}": level ${i} = ${v} is not finite or not strictly ascending`,
      );
    }
  }
  return levels;
}

/** Largest |level| of a table (the value the group absmax is mapped to). */
export function maxAbsLevel(levels: Float32Array): number {
  let m = 0;
  for (const v of levels) m = Math.max(m, Math.abs(v));
  return m;
}
