// SPDX-License-Identifier: MIT
/**
 * Minifloat element formats, enumerated exactly from their bit definitions (OCP 8-bit
 * Floating Point Specification v1.0 for FP8; OCP Microscaling Formats v1.0 for FP6/FP4):
 *
 *     code = sign | exponent (E bits) | mantissa (M bits),  bias = 2^(E−1) − 1
 *     exponent = 0:  (−1)^s · 2^(1−bias) · m/2^M            (subnormal)
 *     exponent > 0:  (−1)^s · 2^(e−bias) · (1 + m/2^M)
 *
 * Special codes: E4M3 ("fn") has no infinities and one NaN mantissa (S.1111.111), so its max
 * is 448; E5M2 is IEEE-like (exponent 31 is Inf/NaN), max 57344; the FP6/FP4 formats have
 * no special codes (max 28 for E3M2, 7.5 for E2M3, 6 for E2M1).
 *
 * Quantization snaps `x / scale` to the nearest representable value (the `codebookQuantize`
 * kernel; saturating at ±max). Ties go to the lower value, where an IEEE cast would round
 * to even mantissa: the two differ only at exact midpoints.
 *
 * @module
 */
import type { MinifloatName } from "./spec.ts";

/** Bit layout and special-value convention of a minifloat. */
export interface MinifloatFormat {
  /** Exponent bits E. */
  exponentBits: number;
  /** Mantissa bits M. */
  mantissaBits: number;
  /** Exponent bias, `2^(E−1) − 1`. */
  bias: number;
  /** `none`: every code is finite; `fn`: only all-ones exponent and mantissa is NaN; `ieee`: all-ones exponent is Inf/NaN. */
  specials: "none" | "fn" | "ieee";
}

/** The five OCP element formats. */
export const MINIFLOAT_FORMATS: Readonly<Record<MinifloatName, MinifloatFormat>> = {
  e4m3: { exponentBits: 4, mantissaBits: 3, bias: 7, specials: "fn" },
  e5m2: { exponentBits: 5, mantissaBits: 2, bias: 15, specials: "ieee" },
  e3m2: { exponentBits: 3, mantissaBits: 2, bias: 3, specials: "none" },
  e2m3: { exponentBits: 2, mantissaBits: 3, bias: 1, specials: "none" },
  e2m1: { exponentBits: 2, mantissaBits: 1, bias: 1, specials: "none" },
};

function format(fn: string, f: MinifloatName | MinifloatFormat): MinifloatFormat {
  if (typeof f !== "string") return f;
  const spec = MINIFLOAT_FORMATS[f];
  if (!spec) {
    throw new RangeError(
      `${fn}: Cannot use minifloat "${f}": expected one of ${Object.keys(MINIFLOAT_FORMATS).join(", ")}`,
    );
  }
  return spec;
}

/**
 * Decodes one code (sign bit highest) of a minifloat; NaN or ±Infinity for special codes.
 *
 * @example
 * ```ts
 * import { decodeMinifloat } from "./minifloat.ts";
 * import assert from "node:assert/strict";
 * assert.equal(decodeMinifloat(0b0111, "e2m1"), 6);
 * assert.equal(decodeMinifloat(0b1001, "e2m1"), -0.5);
 * assert.equal(decodeMinifloat(0x7e, "e4m3"), 448);
 * assert.ok(Number.isNaN(decodeMinifloat(0x7f, "e4m3")));
 * ```
 */
export function decodeMinifloat(code: number, f: MinifloatName | MinifloatFormat): number {
  const { exponentBits: E, mantissaBits: M, bias, specials } = format("decodeMinifloat", f);
  const total = 1 + E + M;
  if (!Number.isInteger(code) || code < 0 || code >= 2 ** total) {
    throw new RangeError(`decodeMinifloat: Cannot decode code ${code}: expected an integer in [0, ${2 ** total})`);
  }
  const sign = code >> (E + M) ? -1 : 1;
  const e = (code >> M) & ((1 << E) - 1);
  const m = code & ((1 << M) - 1);
  const eMax = (1 << E) - 1;
  if (specials === "ieee" && e === eMax) return m === 0 ? sign * Infinity : NaN;
  if (specials === "fn" && e === eMax && m === (1 << M) - 1) return NaN;
  if (e === 0) return sign * 2 ** (1 - bias) * (m / 2 ** M);
  return sign * 2 ** (e - bias) * (1 + m / 2 ** M);
}

const LEVEL_CACHE = new Map<MinifloatFormat, Float32Array>();

/**
 * All finite values of a minifloat, ascending, with ±0 merged: E2M1 has 15, E3M2/E2M3 63,
 * E5M2 247, E4M3 253. Every value is exact in f32.
 *
 * @returns f32 `[L]` ascending levels (a shared, cached array: do not modify)
 *
 * @example E2M1
 * ```ts
 * import { minifloatLevels } from "./minifloat.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(minifloatLevels("e2m1")),
 *   [-6, -4, -3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4, 6]);
 * ```
 */
export function minifloatLevels(f: MinifloatName | MinifloatFormat): Float32Array {
  const spec = format("minifloatLevels", f);
  let levels = LEVEL_CACHE.get(spec);
  if (!levels) {
    const n = 2 ** (1 + spec.exponentBits + spec.mantissaBits);
    const values = new Set<number>();
    for (let c = 0; c < n; c++) {
      const v = decodeMinifloat(c, spec);
      if (Number.isFinite(v)) values.add(v === 0 ? 0 : v); // -0 → 0
    }
    levels = Float32Array.from([...values].sort((a, b) => a - b));
    LEVEL_CACHE.set(spec, levels);
  }
  return levels;
}

/** Largest finite value of a minifloat (448 for E4M3, 57344 for E5M2, 28, 7.5, 6). */
export function minifloatMax(f: MinifloatName | MinifloatFormat): number {
  const l = minifloatLevels(f);
  return l[l.length - 1] as number;
}

/** Unbiased exponent of the largest normal value (`emax` of the OCP MX spec: 8, 15, 4, 2, 2). */
export function minifloatEmax(f: MinifloatName | MinifloatFormat): number {
  return Math.floor(Math.log2(minifloatMax(f)));
}
