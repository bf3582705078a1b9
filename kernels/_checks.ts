// SPDX-License-Identifier: MIT
/**
 * Shape checks of the device-level (`*Gpu`) kernel wrappers, which take {@link GpuTensor}s.
 * The host-level wrappers validate with the CPU backend's own validators (lib/ops/ts), so
 * both backends accept and reject exactly the same inputs with the same messages; these
 * checks mirror them for device tensors, whose data cannot be inspected without a read.
 *
 * @module
 */
import { formatShape, type Tensor } from "../lib/tensor/tensor.ts";
import type { GpuTensor } from "./runtime/buffers.ts";

type AnyTensor = Tensor | GpuTensor;

/** Throws a TypeError unless `t` has dtype `dtype`. */
export function checkDType(fn: string, arg: string, t: AnyTensor, dtype: string): void {
  if (t.dtype !== dtype) {
    throw new TypeError(`${fn}: Cannot use '${arg}' of dtype "${t.dtype}": expected "${dtype}"`);
  }
}

/** Throws unless `t` is a 2-D tensor of `dtype`; returns `[rows, cols]`. */
export function matrix(fn: string, arg: string, t: AnyTensor, dtype = "f32"): [number, number] {
  checkDType(fn, arg, t, dtype);
  if (t.shape.length !== 2) {
    throw new TypeError(`${fn}: Cannot use '${arg}' of shape ${formatShape(t.shape)}: expected a 2-D tensor`);
  }
  return [t.shape[0] as number, t.shape[1] as number];
}

/** Layout of quantization parameters `[R, G]` for a `[rows, cols]` tensor. */
export interface ParamLayout {
  /** R: 1 (broadcast) or rows. */
  paramRows: number;
  /** G: number of groups per row. */
  groups: number;
  /** cols / G. */
  groupSize: number;
}

/** Checks a parameter tensor `[R, G]` against `[rows, cols]`: R ∈ {1, rows}, G ≥ 1 divides cols. */
export function paramLayout(fn: string, arg: string, p: AnyTensor, rows: number, cols: number): ParamLayout {
  const [R, G] = matrix(fn, arg, p);
  if (R !== 1 && R !== rows) {
    throw new TypeError(
      `${fn}: Cannot use '${arg}' of shape ${formatShape(p.shape)} for ${rows} rows: expected 1 or ${rows} rows`,
    );
  }
  if (G < 1 || cols % G !== 0) {
    throw new TypeError(
      `${fn}: Cannot group ${cols} columns into ${G} groups ('${arg}' of shape ${formatShape(p.shape)}): ` +
        `the group count must divide cols`,
    );
  }
  return { paramRows: R, groups: G, groupSize: cols / G };
}

/** Codes per u32 word for `bits` ∈ {2, 3, 4, 8}; throws a RangeError otherwise. */
export function codesPerWord(fn: string, bits: number): number {
  if (bits !== 2 && bits !== 3 && bits !== 4 && bits !== 8) {
    throw new RangeError(`${fn}: Cannot pack to ${bits} bits: bits must be one of 2, 3, 4, 8`);
  }
  return Math.floor(32 / bits);
}
