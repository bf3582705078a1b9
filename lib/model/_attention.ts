// SPDX-License-Identifier: MIT
/**
 * Causal self-attention over query blocks, without copies and without the `[B·H, T, T]` scores
 * tensor: for each sequence b, head h and block of at most {@link QUERY_BLOCK} queries
 * `[i0, i1)`, two strided `ops.gemm` calls read the heads straight out of the projections'
 * row-major `[B·T, heads·hd]` outputs (leading dimension `heads·hd`) and write the result
 * straight into the o_proj input:
 *
 *   S = hd^−½ · Q[i0:i1] · K[j0:i1]ᵀ      (one workspace block `[i1 − i0, i1 − j0]`)
 *   S ← masked row softmax of S           (causal, optionally a sliding window)
 *   O[i0:i1] = S · V[j0:i1]
 *
 * Keys before `j0` (outside every row's window) and after `i1` (in every row's future) are never
 * multiplied, so full causal attention costs about half of the dense product, and the scratch
 * memory is one `QUERY_BLOCK × T` block however many heads and sequences there are. Grouped-query
 * attention maps head h to key/value head `⌊h / (H / KV)⌋`.
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import type { Workspace } from "../ops/workspace.ts";
import { fastExp } from "./_fast_math.ts";
import { simdKernels } from "./_simd_kernels.ts";

/** Queries per block: rows of the scores workspace (64 keeps each sgemm efficient and the masked waste small). */
export const QUERY_BLOCK = 64;

/** Dimensions of one attention call. */
export interface AttentionShape {
  /** Sequences. */
  B: number;
  /** Tokens per sequence. */
  T: number;
  /** Query heads. */
  H: number;
  /** Key/value heads (divides H). */
  KV: number;
  /** Head dimension. */
  hd: number;
  /** Sliding window W (row p sees keys p − W < j ≤ p), or null for full causal attention. */
  window: number | null;
}

/**
 * Causal attention of every sequence and head into `out` (see the module doc).
 *
 * @param ops backend of the two gemms per block
 * @param q f32 `[B·T, H·hd]` queries after RoPE
 * @param k f32 `[B·T, KV·hd]` keys after RoPE
 * @param v f32 `[B·T, KV·hd]` values
 * @param out f32 `[B·T, H·hd]`, overwritten with softmax(QKᵀ·hd^−½ + mask)·V per head
 * @param s the dimensions and window
 * @param ws workspace holding the scores block (slot "attention.scores")
 */
export async function causalAttention(
  ops: Ops,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  s: AttentionShape,
  ws: Workspace,
): Promise<void> {
  const { B, T, H, KV, hd, window } = s;
  const qW = H * hd, kW = KV * hd, group = H / KV, scale = 1 / Math.sqrt(hd);
  const scores = ws.f32("attention.scores", Math.min(T, QUERY_BLOCK) * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvCol = Math.floor(h / group) * hd;
      for (let i0 = 0; i0 < T; i0 += QUERY_BLOCK) {
        const i1 = Math.min(T, i0 + QUERY_BLOCK), rows = i1 - i0;
        const j0 = window === null ? 0 : Math.max(0, i0 - window + 1), n = i1 - j0;
        const S = { data: scores, offset: 0, rows, cols: n, stride: n };
        const Q = { data: q, offset: (b * T + i0) * qW + h * hd, rows, cols: hd, stride: qW };
        const Kb = { data: k, offset: (b * T + j0) * kW + kvCol, rows: n, cols: hd, stride: kW };
        await ops.gemm(S, Q, Kb, { transB: true, alpha: scale });
        maskedSoftmaxRows(scores, rows, n, i0 - j0, window);
        const Vb = { data: v, offset: (b * T + j0) * kW + kvCol, rows: n, cols: hd, stride: kW };
        const O = { data: out, offset: (b * T + i0) * qW + h * hd, rows, cols: hd, stride: qW };
        await ops.gemm(O, S, Vb);
      }
    }
  }
}

/**
 * In place: the masked softmax of each row of a scores block `[rows, n]` (scores already scaled).
 * Row r is query position `first + r` relative to the block's first key: it keeps columns c with
 * `first + r − window < c ≤ first + r` (all `c ≤ first + r` without a window; transformers'
 * `kv_idx > q_idx − sliding_window`) and sets the others to 0, so the following `S·V` product
 * ignores them. With WebAssembly SIMD (`_simd_kernels.ts`) the block is copied into the kernels'
 * memory once and each row's kept range is one kernel call (f32 max, exp and sum, 4 lanes);
 * without it, scalar loops with f64 max and sum and {@link fastExp}.
 *
 * @param S f32 `[rows, n]` (row-major, stride n), modified in place
 * @param rows rows of the block
 * @param n columns (keys) of the block
 * @param first local column index of row 0's own position
 * @param window sliding window, or null
 */
export function maskedSoftmaxRows(
  S: Float32Array,
  rows: number,
  n: number,
  first: number,
  window: number | null,
): void {
  const simd = simdKernels();
  if (simd) {
    simd.reserve(rows * n);
    const mem = simd.f32;
    mem.set(S.subarray(0, rows * n));
    for (let r = 0; r < rows; r++) {
      const o = r * n, last = first + r;
      const lo = window === null ? 0 : Math.max(0, last - window + 1);
      mem.fill(0, o, o + lo);
      mem.fill(0, o + last + 1, o + n);
      simd.softmax(4 * (o + lo), last + 1 - lo);
    }
    S.set(mem.subarray(0, rows * n));
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = r * n, last = first + r;
    const lo = window === null ? 0 : Math.max(0, last - window + 1);
    let max = -Infinity;
    for (let c = lo; c <= last; c++) max = Math.max(max, S[o + c] as number);
    let sum = 0;
    for (let c = lo; c <= last; c++) {
      const e = fastExp((S[o + c] as number) - max);
      S[o + c] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let c = 0; c < lo; c++) S[o + c] = 0;
    for (let c = lo; c <= last; c++) S[o + c] = (S[o + c] as number) * inv;
    for (let c = last + 1; c < n; c++) S[o + c] = 0;
  }
}
