// SPDX-License-Identifier: MIT
/**
 * Argument validation shared by the linear-algebra functions (private).
 *
 * @module
 */
import { formatShape, type Tensor } from "../tensor/tensor.ts";

/** Throws unless `t` is a 2-D tensor of dtype `dtype`; returns `[rows, cols]`. */
export function matrixOf(fn: string, arg: string, t: Tensor, dtype: "f32" | "f64"): [number, number] {
  if (t.dtype !== dtype) {
    throw new TypeError(
      `${fn}: Cannot use '${arg}' of dtype "${t.dtype}" and shape ${formatShape(t.shape)}: expected dtype "${dtype}"`,
    );
  }
  if (t.rank !== 2) {
    throw new TypeError(`${fn}: Cannot use '${arg}' of shape ${formatShape(t.shape)}: expected a 2-D tensor`);
  }
  return [t.shape[0] as number, t.shape[1] as number];
}

/** Throws unless `t` is a square f64 matrix with finite entries; returns its order n. */
export function squareF64(fn: string, arg: string, t: Tensor): number {
  const [rows, cols] = matrixOf(fn, arg, t, "f64");
  if (rows !== cols) {
    throw new TypeError(`${fn}: Cannot use '${arg}' of shape ${formatShape(t.shape)}: expected a square matrix`);
  }
  finiteData(fn, arg, t);
  return rows;
}

/** Throws a RangeError naming the first NaN/Inf element (with its 2-D index when 2-D). */
export function finiteData(fn: string, arg: string, t: Tensor): void {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i] as number;
    if (v - v !== 0) { // false only for finite v; one test instead of isFinite's call
      const cols = t.rank === 2 ? (t.shape[1] as number) : 0;
      const where = cols > 0 ? `element [${Math.floor(i / cols)}, ${i % cols}]` : `element ${i}`;
      throw new RangeError(
        `${fn}: Cannot use '${arg}' of shape ${formatShape(t.shape)}: ${where} is ${v} (NaN/Inf not allowed)`,
      );
    }
  }
}
