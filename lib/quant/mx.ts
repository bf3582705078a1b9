// SPDX-License-Identifier: MIT
/**
 * OCP Microscaling (MX) formats (OCP Microscaling Formats Specification v1.0, §6.3): each
 * block of 32 consecutive elements of a row shares one power-of-two scale stored as E8M0,
 *
 *     sharedExp = floor(log2(max_block |v|)) − emax(element),   X = 2^sharedExp
 *     element   = nearest element-format value of v / X (saturating at ±max)
 *
 * with `emax` the exponent of the element format's largest normal (8 for E4M3, 15 for E5M2,
 * 4 for E3M2, 2 for E2M3 and E2M1, 0 for INT8). MXINT8 elements are 8-bit two's complement
 * with an implicit scale 2^−6: values k/64, k ∈ [−128, 127].
 *
 * @module
 */
import { formatShape, Tensor } from "../tensor/tensor.ts";
import type { MinifloatName } from "./spec.ts";
import { MX_BLOCK_SIZE } from "./spec.ts";
import { minifloatEmax, minifloatLevels } from "./minifloat.ts";

/** E8M0 exponent range of the shared scale (2^−127 … 2^127). */
export const E8M0_MIN_EXP: number = -127;
/** Largest E8M0 exponent (the all-ones code 255 is NaN). */
export const E8M0_MAX_EXP: number = 127;

const INT8_LEVELS = Float32Array.from({ length: 256 }, (_, i) => (i - 128) / 64);

/** Element levels of an MX format (ascending). */
export function mxElementLevels(element: MinifloatName | "int8"): Float32Array {
  return element === "int8" ? INT8_LEVELS : minifloatLevels(element);
}

/** `emax` of an MX element format. */
export function mxElementEmax(element: MinifloatName | "int8"): number {
  return element === "int8" ? 0 : minifloatEmax(element);
}

/** floor(log2(a)) for a > 0, exact (Math.log2 can be off by one ulp near powers of two). */
export function floorLog2(a: number): number {
  let e = Math.floor(Math.log2(a));
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  return e;
}

/**
 * Shared scales of W `[rows, cols]`: one power of two per block of `blockSize` columns.
 * An all-zero block gets scale 1.
 *
 * @param W f32 `[rows, cols]`, finite; cols divisible by blockSize
 * @param element element format
 * @param blockSize elements per block (default 32)
 * @returns f32 `[rows, cols / blockSize]` scales 2^e, e ∈ [−127, 127]
 *
 * @example
 * ```ts
 * import { mxScales } from "./mx.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const W = new Tensor("f32", [1, 32], new Float32Array(32).fill(0.1).fill(5, 0, 1));
 * assert.equal(mxScales(W, "e2m1").data[0], 1); // floor(log2 5) − 2 = 0
 * ```
 */
export function mxScales(W: Tensor<"f32">, element: MinifloatName | "int8", blockSize = MX_BLOCK_SIZE): Tensor<"f32"> {
  if (W.rank !== 2 || W.dtype !== "f32") {
    throw new TypeError(
      `mxScales: Cannot use W of shape ${formatShape(W.shape)} (${W.dtype}): expected f32 [rows, cols]`,
    );
  }
  const [rows, cols] = W.shape as [number, number];
  if (!Number.isInteger(blockSize) || blockSize < 1 || cols % blockSize !== 0) {
    throw new RangeError(
      `mxScales: Cannot group ${cols} columns into groups of ${blockSize}: cols must be divisible by groupSize`,
    );
  }
  const emax = mxElementEmax(element);
  const G = cols / blockSize;
  const out = new Float32Array(rows * G); // [rows, G]
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < G; g++) {
      let amax = 0;
      const o = r * cols + g * blockSize;
      for (let j = 0; j < blockSize; j++) {
        const v = W.data[o + j] as number;
        if (!Number.isFinite(v)) {
          throw new RangeError(
            `mxScales: Cannot use 'W' of shape ${formatShape(W.shape)}: element [${r}, ${
              g * blockSize + j
            }] is ${v} (NaN/Inf not allowed)`,
          );
        }
        amax = Math.max(amax, Math.abs(v));
      }
      const e = amax === 0 ? 0 : Math.min(E8M0_MAX_EXP, Math.max(E8M0_MIN_EXP, floorLog2(amax) - emax));
      out[r * G + g] = 2 ** e;
    }
  }
  return new Tensor("f32", [rows, G], out);
}
