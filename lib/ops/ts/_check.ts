// SPDX-License-Identifier: MIT
/**
 * Argument validation shared by the CPU backends (private): dtype/rank checks and the
 * resolution of integer quantization parameters `scale`/`zero` `[R, G]` (see ops.ts).
 *
 * @module
 */
import { type DType, formatShape, type Tensor } from "../../tensor/tensor.ts";
import type { IntQuantParams } from "../ops.ts";

/** Throws a TypeError unless `t` has dtype `dtype`. */
export function checkDType(fn: string, arg: string, t: Tensor, dtype: DType): void {
  if (t.dtype !== dtype) {
    throw new TypeError(
      `${fn}: Cannot use '${arg}' of dtype "${t.dtype}" and shape ${formatShape(t.shape)}: expected dtype "${dtype}"`,
    );
  }
}

/** Throws unless `t` is a 2-D tensor of `dtype`; returns `[rows, cols]`. */
export function matrix(fn: string, arg: string, t: Tensor, dtype: DType): [number, number] {
  checkDType(fn, arg, t, dtype);
  if (t.rank !== 2) {
    throw new TypeError(`${fn}: Cannot use '${arg}' of shape ${formatShape(t.shape)}: expected a 2-D tensor`);
  }
  return [t.shape[0] as number, t.shape[1] as number];
}

/** Throws a RangeError naming the first NaN/Inf element of `t` (2-D index when 2-D). */
export function checkFinite(fn: string, arg: string, t: Tensor): void {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i] as number;
    if (v - v !== 0) throw nonFinite(fn, arg, t, i);
  }
}

/** The error {@link checkFinite} throws, for loops that test finiteness inline. */
export function nonFinite(fn: string, arg: string, t: Tensor, i: number): RangeError {
  const cols = t.rank === 2 ? (t.shape[1] as number) : 0;
  const where = cols > 0 ? `element [${Math.floor(i / cols)}, ${i % cols}]` : `element ${i}`;
  return new RangeError(
    `${fn}: Cannot use '${arg}' of shape ${formatShape(t.shape)}: ${where} is ${t.data[i]} (NaN/Inf not allowed)`,
  );
}

/** Integer parameters resolved against a `[rows, cols]` tensor. */
export interface ResolvedIntParams {
  /** f32 `[R * G]` step sizes. */
  scale: Float32Array;
  /** f32 `[R * G]` zero points. */
  zero: Float32Array;
  /** f32 `[R * G]`, `fround(1 / scale)`: computed once so every backend rounds the same way. */
  invScale: Float32Array;
  /** Rows of parameters: 1 (broadcast) or `rows`. */
  R: number;
  /** Groups per row. */
  G: number;
  /** Columns per group, `cols / G`. */
  groupSize: number;
  /** Largest code. */
  maxq: number;
}

/**
 * Validates `scale`/`zero` `[R, G]` against a `[rows, cols]` tensor: R ∈ {1, rows}, G ≥ 1
 * divides cols, scale finite and > 0, zero an integer in [0, maxq], maxq an integer in 1..255.
 */
export function resolveIntParams(
  fn: string,
  rows: number,
  cols: number,
  params: IntQuantParams,
): ResolvedIntParams {
  const { maxq } = params;
  if (!Number.isInteger(maxq) || maxq < 1 || maxq > 255) {
    throw new RangeError(`${fn}: Cannot quantize with maxq ${maxq}: maxq must be an integer in 1..255`);
  }
  const { R, G } = paramShape(fn, "scale", params.scale, rows, cols);
  const [zr, zg] = matrix(fn, "zero", params.zero, "f32");
  if (zr !== R || zg !== G) {
    throw new TypeError(
      `${fn}: Cannot use 'zero' of shape ${formatShape(params.zero.shape)} with 'scale' of shape ${
        formatShape(params.scale.shape)
      }: shapes must match`,
    );
  }
  const scale = params.scale.data;
  const zero = params.zero.data;
  const invScale = new Float32Array(scale.length);
  for (let i = 0; i < scale.length; i++) {
    const s = scale[i] as number;
    const z = zero[i] as number;
    if (!(s > 0) || s === Infinity) {
      throw new RangeError(`${fn}: Cannot quantize with scale ${s} at index ${i}: scale must be finite and > 0`);
    }
    if (!Number.isInteger(z) || z < 0 || z > maxq) {
      throw new RangeError(
        `${fn}: Cannot quantize with zero ${z} at index ${i}: zero must be an integer in [0, ${maxq}]`,
      );
    }
    invScale[i] = 1 / s; // stored as f32: fround(1 / scale)
  }
  return { scale, zero, invScale, R, G, groupSize: G > 0 ? cols / G : 0, maxq };
}

/** Validates a parameter tensor of shape `[R, G]` (R ∈ {1, rows}, G divides cols). */
export function paramShape(
  fn: string,
  arg: string,
  p: Tensor,
  rows: number,
  cols: number,
): { R: number; G: number } {
  const [R, G] = matrix(fn, arg, p, "f32");
  if (R !== 1 && R !== rows) {
    throw new TypeError(
      `${fn}: Cannot use '${arg}' of shape ${formatShape(p.shape)} for ${rows} rows: expected 1 or ${rows} rows`,
    );
  }
  if (G < 1 || cols % G !== 0) {
    throw new TypeError(
      `${fn}: Cannot group ${cols} columns into ${G} groups ('${arg}' of shape ${
        formatShape(p.shape)
      }): the group count must divide cols`,
    );
  }
  return { R, G };
}
