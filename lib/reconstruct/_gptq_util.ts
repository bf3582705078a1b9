// SPDX-License-Identifier: MIT
/**
 * Small helpers of the GPTQ sweep: the column order, permuted copies, contiguous panels for
 * the scalar sweep (in a reused workspace) and per-group parameter views.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import type { IntQuantParams } from "../ops/ops.ts";
import type { Workspace } from "../ops/workspace.ts";

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

/** Copy of W `[rows, cols]` with columns permuted: out[:, a] = W[:, order[a]] (into `dst` when given). */
export function copyCols(W: Tensor<"f32">, order: Int32Array, dst?: Float32Array): Tensor<"f32"> {
  const [rows, cols] = W.shape as [number, number];
  const out = dst ?? new Float32Array(rows * cols); // [rows, cols] sweep order
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let a = 0; a < cols; a++) out[o + a] = W.data[o + (order[a] as number)] as number;
  }
  return new Tensor("f32", [rows, cols], out);
}

/**
 * `src[r0:r0+rows, c0:c1]` of a row-major f32 matrix with `cols` columns, copied into the
 * workspace slot `slot` as a contiguous `[rows, c1 − c0]` tensor (the operand layout of
 * `ops.gptqBlock`; the slot is reused run after run).
 */
export function panel(
  ws: Workspace,
  slot: string,
  src: Float32Array | Tensor<"f32">,
  rows: number,
  cols: number,
  r0: number,
  c0: number,
  c1: number,
): Tensor<"f32"> {
  const s = src instanceof Float32Array ? src : src.data;
  const w = c1 - c0;
  const out = ws.f32(slot, rows * w); // [rows, c1 − c0]
  for (let r = 0; r < rows; r++) out.set(s.subarray((r0 + r) * cols + c0, (r0 + r) * cols + c1), r * w);
  return new Tensor("f32", [rows, w], out);
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
