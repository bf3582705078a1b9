// SPDX-License-Identifier: MIT
/**
 * Small helpers of the GPTQ sweep: the column order, permuted copies, sub-blocks of the f32
 * `Hinv`, in-place column updates and per-group parameter views.
 *
 * @module
 */
import { formatShape, Tensor } from "../tensor/tensor.ts";
import type { IntQuantParams } from "../ops/ops.ts";

/**
 * The column order of the sweep: `order` when given (validated), else act-order (diag(H)
 * descending, dead columns counted as 1 like the reference; ties by index), else natural.
 *
 * @returns i32 `[cols]` permutation: position a of the sweep holds original column order[a]
 */
export function columnOrder(
  fn: string,
  H: Tensor<"f64">,
  order: Int32Array | undefined,
  actOrder: boolean,
): Int32Array {
  const n = H.shape[0] as number;
  if (order) {
    const seen = new Uint8Array(n);
    let ok = order.length === n;
    for (let a = 0; ok && a < n; a++) {
      const j = order[a] as number;
      ok = Number.isInteger(j) && j >= 0 && j < n && seen[j] === 0;
      if (ok) seen[j] = 1;
    }
    if (!ok) {
      throw new RangeError(`${fn}: Cannot use order of length ${order.length}: expected a permutation of 0..${n - 1}`);
    }
    return order;
  }
  const idx = Int32Array.from({ length: n }, (_, j) => j);
  if (!actOrder) return idx;
  const d = Float64Array.from({ length: n }, (_, j) => (H.data[j * n + j] as number) || 1);
  return idx.sort((a, b) => (d[b] as number) - (d[a] as number) || a - b);
}

/** Copy of W `[rows, cols]` with columns permuted: out[:, a] = W[:, order[a]]. */
export function copyCols(W: Tensor<"f32">, order: Int32Array): Tensor<"f32"> {
  const [rows, cols] = W.shape as [number, number];
  const out = new Float32Array(rows * cols); // [rows, cols] sweep order
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let a = 0; a < cols; a++) out[o + a] = W.data[o + (order[a] as number)] as number;
  }
  return new Tensor("f32", [rows, cols], out);
}

/** f32 copy of `U[r0:r1, c0:c1]` from a row-major `[n, n]` array. */
export function subUpper(U: Float32Array, n: number, r0: number, r1: number, c0: number, c1: number): Tensor<"f32"> {
  const w = c1 - c0;
  const out = new Float32Array((r1 - r0) * w); // [r1 − r0, c1 − c0]
  for (let r = r0; r < r1; r++) out.set(U.subarray(r * n + c0, r * n + c1), (r - r0) * w);
  return new Tensor("f32", [r1 - r0, w], out);
}

/** In place `dst[:, start:start+w] −= upd` for dst `[rows, cols]`, upd `[rows, w]`. */
export function subtractCols(dst: Tensor<"f32">, start: number, upd: Tensor<"f32">): void {
  const [rows, cols] = dst.shape as [number, number];
  const w = upd.shape[1] as number;
  if (upd.shape[0] !== rows || start + w > cols) {
    throw new TypeError(
      `subtractCols: Cannot subtract ${formatShape(upd.shape)} at column ${start} of ${formatShape(dst.shape)}`,
    );
  }
  const d = dst.data, u = upd.data;
  for (let r = 0; r < rows; r++) {
    const o = r * cols + start, ou = r * w;
    for (let k = 0; k < w; k++) d[o + k] = (d[o + k] as number) - (u[ou + k] as number);
  }
}

/** Parameters of group g as `[rows, 1]` tensors, from `[rows, G]` arrays. */
export function groupParamsAt(
  scale: Float32Array,
  zero: Float32Array,
  rows: number,
  G: number,
  g: number,
  maxq: number,
): IntQuantParams {
  const s = new Float32Array(rows), z = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    s[r] = scale[r * G + g] as number;
    z[r] = zero[r * G + g] as number;
  }
  return { scale: new Tensor("f32", [rows, 1], s), zero: new Tensor("f32", [rows, 1], z), maxq };
}
