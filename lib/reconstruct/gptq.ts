// SPDX-License-Identifier: MIT
/**
 * GPTQ (Frantar et al. 2022, arXiv:2210.17323, Alg. 1; checked against IST-DASLab/gptq
 * `gptq.py` `fasterquant`): quantize the columns of W one at a time and spread each column's
 * rounding error over the not-yet-quantized columns through the upper Cholesky factor of H⁻¹.
 *
 *     dead columns (H_jj = 0): H_jj = 1, W[:, j] = 0
 *     optional act-order: columns by diag(H) descending
 *     Hinv = chol((H + damp·I)⁻¹)ᵀ (upper), f64 on the CPU, damping escalated ×10 on failure
 *     for each block of `blockSize` columns (lazy batch):
 *       for each column j: q_j = Q(w_j); err_j = (w_j − q_j)/Hinv_jj; W[:, j+1:end] −= err_j·Hinv[j, j+1:end]
 *       W[:, end:] −= Err·Hinv[block, end:]                                 (one GEMM)
 *
 * The in-block sweep is `ops.gptqBlock`, the trailing update `ops.matmul`, so the same code runs
 * on every backend. A block never straddles a group boundary when group parameters are fitted
 * on the fly (blocks are cut at multiples of both `blockSize` and `groupSize`), so each group's
 * parameters are fitted on fully updated columns (the reference fits the second group of a
 * 128-block on columns missing the in-block updates when groupSize < blockSize). With static
 * groups under act-order, a block is swept in runs of columns that share a group.
 *
 * Glossary: `W` weight `[rows=out, cols=in]`; `H = 2XᵀX/N` `[cols, cols]`; `Hinv` upper
 * Cholesky factor of H⁻¹; `Q` dequantized weight; `err` scaled column error (GPTQ's `Err1`);
 * `scale`, `zero`, `maxq`; `perm` the column order.
 *
 * @module
 */
import { assertFinite, dims2, formatShape, Tensor } from "../tensor/tensor.ts";
import type { IntQuantParams, Ops } from "../ops/ops.ts";
import { tsOps } from "../ops/ts/mod.ts";
import { formatId, groupsPerRow, type IntSpec } from "../quant/spec.ts";
import { minmaxParams } from "../quant/minmax.ts";
import { type IntQuantized, intQuantized } from "../quant/quantized_tensor.ts";
import { prepareHessian } from "./_hinv.ts";
import { columnOrder, copyCols, groupParamsAt, subtractCols, subUpper } from "./_gptq_util.ts";

/** Fits per-row parameters (`scale`, `zero` f32 `[rows, 1]`) on a slice of columns `[rows, n]`. */
export type GroupObserver = (W: Tensor<"f32">, spec: IntSpec) => IntQuantParams | Promise<IntQuantParams>;

/** Options of {@link gptq}. */
export interface GptqOptions {
  /** Integer format: bits, groupSize (0 = per-channel), symmetric. */
  spec: IntSpec;
  /** Backend of the block sweep, GEMMs and factorization (default `tsOps`). */
  ops?: Ops;
  /** Columns per lazy batch (default 128). */
  blockSize?: number;
  /** Quantize columns in order of decreasing diag(H) (GPTQ's `actorder`; default false). */
  actOrder?: boolean;
  /** Fit all group parameters on W before the sweep, in original column order (default false). */
  staticGroups?: boolean;
  /** Explicit column order (a permutation of 0..cols−1), overriding `actOrder`; e.g. reversed for the Babai oracle. */
  order?: Int32Array;
  /** Fixed parameters `[rows, G]` in original column order (implies static groups; no fitting). */
  params?: IntQuantParams;
  /** Range setting per group (default min-max, GPTQ's `find_params`). */
  observer?: GroupObserver;
  /** Damping relative to mean(diag H) (GPTQ's `percdamp`; default 0.01). */
  dampRatio?: number;
  /** Factorization attempts, damping ×10 each retry (default 3), then NotPositiveDefiniteError. */
  dampTries?: number;
  /** Called after each block with columns done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** Result of {@link gptq}. */
export interface GptqResult {
  /** Dequantized weight f32 `[rows, cols]`, original column order. */
  weight: Tensor<"f32">;
  /** Packed codes and parameters; `groupIndex` (g_idx) when act-order reorders dynamic groups. */
  quantized: IntQuantized;
  /** Column order used (absent for the natural order). */
  perm?: Int32Array;
  /** f64 `[cols]` GPTQ's loss per column, Σ_rows err²/2 (original column order). */
  loss: Float64Array;
  /** Sum of {@link GptqResult.loss}; equals ½·Tr(ΔW·(H + damp·I)·ΔWᵀ) in exact arithmetic. */
  totalLoss: number;
  /** Damping ratio that succeeded (dampRatio·10^k after k escalations). */
  dampRatio: number;
  /** Absolute damping added to diag(H): dampRatio·mean(diag H). */
  damp: number;
  /** Dead columns (H_jj = 0), quantized as zeros. */
  dead: Int32Array;
}

/** Min-max per row on a slice: GPTQ's `find_params(W, weight=True)`. */
export const minmaxObserver: GroupObserver = (W: Tensor<"f32">, spec: IntSpec): IntQuantParams =>
  minmaxParams(W, { ...spec, groupSize: 0 });

/**
 * Quantizes W with GPTQ given the layer Hessian.
 *
 * @param W f32 `[rows, cols]` weight (out × in), finite
 * @param H f64 `[cols, cols]` symmetric Hessian (e.g. `2XᵀX/N` from `HessianAccumulator`)
 * @param options `spec` (required), `ops`, `blockSize`, `actOrder`, `staticGroups`, `order`,
 *   `params`, `observer`, `dampRatio`, `dampTries`, `onProgress`
 * @returns dequantized weight, packed {@link IntQuantized}, column order, per-column loss, damping used
 * @throws {TypeError} on shapes; {RangeError} on NaN/Inf or bad options;
 *   {NotPositiveDefiniteError} when H stays indefinite after every damping attempt
 *
 * @example With H = I there is no feedback: GPTQ equals RTN
 * ```ts
 * import { gptq } from "./gptq.ts";
 * import { quantizeRtn } from "../quant/rtn.ts";
 * import { eye, randnF32 } from "../tensor/create.ts";
 * import { tsOps } from "../ops/ts/mod.ts";
 * import assert from "node:assert/strict";
 * const W = randnF32([4, 16], 1);
 * const spec = { format: "int", bits: 3, groupSize: 8, symmetric: false } as const;
 * const g = await gptq(W, eye(16, "f64"), { spec });
 * assert.deepEqual(g.weight.data, (await quantizeRtn(W, spec, { ops: tsOps })).weight.data);
 * ```
 */
export async function gptq(W: Tensor<"f32">, H: Tensor<"f64">, options: GptqOptions): Promise<GptqResult> {
  const fn = "gptq";
  const [rows, cols] = dims2(fn, "W", W);
  if (H.dtype !== "f64" || H.rank !== 2 || H.shape[0] !== cols || H.shape[1] !== cols) {
    throw new TypeError(
      `${fn}: Cannot use H of dtype ${H.dtype} and shape ${formatShape(H.shape)} with W of shape ${
        formatShape(W.shape)
      }: expected f64 [${cols}, ${cols}]`,
    );
  }
  assertFinite(fn, "W", W);
  const { spec } = options;
  const ops = options.ops ?? tsOps;
  const G = groupsPerRow(fn, spec, cols);
  const gs = cols / G;
  const B = options.blockSize ?? 128;
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`${fn}: Cannot use blockSize ${B}: expected an integer >= 1`);
  const observer = options.observer ?? minmaxObserver;
  const order = columnOrder(fn, H, options.order, options.actOrder === true);
  const natural = order.every((c, a) => c === a);

  const prep = await prepareHessian(H, {
    ops,
    order,
    fn,
    ...(options.dampRatio !== undefined && { dampRatio: options.dampRatio }),
    ...(options.dampTries !== undefined && { dampTries: options.dampTries }),
  });
  const U = Float32Array.from(prep.Hinv.data); // [cols, cols] f32 for the sweep, as the reference

  // Parameters: fixed ([rows, G], original order), per-channel (found before zeroing dead
  // columns, as the reference), static groups (after), or dynamic (fitted when entering a group).
  const W0 = new Tensor("f32", [rows, cols], W.data.slice()); // [rows, cols]
  let fixed: IntQuantParams | undefined = options.params;
  if (!fixed && G === 1) fixed = await observer(W0, spec);
  for (const j of prep.dead) for (let r = 0; r < rows; r++) W0.data[r * cols + j] = 0;
  if (!fixed && options.staticGroups) fixed = await paramsFromObserver(W0, spec, observer);
  const dynamic = fixed === undefined;
  const maxq = 2 ** spec.bits - 1;
  const scale = new Float32Array(rows * G); // [rows, G]
  const zero = new Float32Array(rows * G); // [rows, G]
  if (fixed) {
    checkParams(fn, fixed, rows, G, maxq);
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < G; g++) {
        const pr = fixed.scale.shape[0] === 1 ? g : r * G + g;
        scale[r * G + g] = fixed.scale.data[pr] as number;
        zero[r * G + g] = fixed.zero.data[pr] as number;
      }
    }
  }
  const groupAt = (a: number) => (dynamic ? Math.floor(a / gs) : Math.floor((order[a] as number) / gs));

  const Wp = copyCols(W0, order); // [rows, cols] in sweep order, updated in place
  const Qp = new Float32Array(rows * cols); // [rows, cols] sweep order
  const codesP = new Uint8Array(rows * cols); // [rows, cols] sweep order
  const lossP = new Float64Array(cols);
  const paramCache = new Map<number, IntQuantParams>();
  for (let b0 = 0; b0 < cols;) {
    let b1 = Math.min(cols, (Math.floor(b0 / B) + 1) * B);
    if (dynamic) b1 = Math.min(b1, (Math.floor(b0 / gs) + 1) * gs);
    if (dynamic && b0 % gs === 0) {
      const p = await observer(sliceColumns(Wp, b0, b0 + gs), spec);
      checkParams(fn, p, rows, 1, maxq);
      const g = b0 / gs;
      for (let r = 0; r < rows; r++) {
        scale[r * G + g] = p.scale.data[p.scale.shape[0] === 1 ? 0 : r] as number;
        zero[r * G + g] = p.zero.data[p.zero.shape[0] === 1 ? 0 : r] as number;
      }
    }
    const bw = b1 - b0;
    const Wb = sliceColumns(Wp, b0, b1); // [rows, bw], updated run by run
    const Eb = new Float32Array(rows * bw); // [rows, bw] scaled errors of the block
    for (let a = b0; a < b1;) {
      const g = groupAt(a);
      let c = a + 1;
      while (c < b1 && groupAt(c) === g) c++;
      let p = paramCache.get(g);
      if (!p || dynamic) {
        p = groupParamsAt(scale, zero, rows, G, g, maxq);
        paramCache.set(g, p);
      }
      const run = await ops.gptqBlock(sliceColumns(Wb, a - b0, c - b0), subUpper(U, cols, a, c, a, c), p);
      const n = c - a;
      for (let r = 0; r < rows; r++) {
        for (let k = 0; k < n; k++) {
          const e = run.err.data[r * n + k] as number;
          Qp[r * cols + a + k] = run.Q.data[r * n + k] as number;
          codesP[r * cols + a + k] = run.codes.data[r * n + k] as number;
          Eb[r * bw + a - b0 + k] = e;
          lossP[a + k] = (lossP[a + k] as number) + (e * e) / 2;
        }
      }
      if (c < b1) subtractCols(Wb, c - b0, await ops.matmul(run.err, subUpper(U, cols, a, c, c, b1)));
      a = c;
    }
    if (b1 < cols) {
      subtractCols(Wp, b1, await ops.matmul(new Tensor("f32", [rows, bw], Eb), subUpper(U, cols, b0, b1, b1, cols)));
    }
    options.onProgress?.(b1, cols);
    b0 = b1;
  }

  // Back to the original column order.
  const Q = new Float32Array(rows * cols); // [rows, cols]
  const codes = new Uint8Array(rows * cols); // [rows, cols]
  const loss = new Float64Array(cols);
  for (let a = 0; a < cols; a++) {
    const j = order[a] as number;
    loss[j] = lossP[a] as number;
    for (let r = 0; r < rows; r++) {
      Q[r * cols + j] = Qp[r * cols + a] as number;
      codes[r * cols + j] = codesP[r * cols + a] as number;
    }
  }
  let groupIndex: Int32Array | undefined;
  if (dynamic && !natural && G > 1) {
    groupIndex = new Int32Array(cols);
    for (let a = 0; a < cols; a++) groupIndex[order[a] as number] = Math.floor(a / gs);
  }
  const quantized = intQuantized(formatId(spec), new Tensor("u8", [rows, cols], codes), spec.bits, {
    scale: new Tensor("f32", [rows, G], scale),
    zero: new Tensor("f32", [rows, G], zero),
    symmetric: spec.symmetric,
    ...(groupIndex && { groupIndex }),
  });
  const result: GptqResult = {
    weight: new Tensor("f32", [rows, cols], Q),
    quantized,
    loss,
    totalLoss: loss.reduce((s, v) => s + v, 0),
    dampRatio: prep.dampRatio,
    damp: prep.damp,
    dead: prep.dead,
  };
  if (!natural) result.perm = order;
  return result;
}

/** Columns `[start, end)` of a row-major f32 matrix, copied. */
function sliceColumns(t: Tensor<"f32">, start: number, end: number): Tensor<"f32"> {
  const [rows, cols] = t.shape as [number, number];
  const w = end - start;
  const out = new Float32Array(rows * w);
  for (let r = 0; r < rows; r++) out.set(t.data.subarray(r * cols + start, r * cols + end), r * w);
  return new Tensor("f32", [rows, w], out);
}

/** Static groups: parameters of every group fitted on W (dead columns zeroed) before the sweep. */
/**
 * Parameters `[rows, G]` of W from a per-slice observer, one call per group of `cols / G`
 * columns (GPTQ's static groups; also RTN with any observer).
 */
export async function paramsFromObserver(
  W: Tensor<"f32">,
  spec: IntSpec,
  observer: GroupObserver,
): Promise<IntQuantParams> {
  const [rows, cols] = W.shape as [number, number];
  const gs = spec.groupSize === 0 ? cols : spec.groupSize;
  const G = cols / gs;
  const scale = new Float32Array(rows * G), zero = new Float32Array(rows * G);
  for (let g = 0; g < G; g++) {
    const p = await observer(sliceColumns(W, g * gs, (g + 1) * gs), spec);
    for (let r = 0; r < rows; r++) {
      scale[r * G + g] = p.scale.data[p.scale.shape[0] === 1 ? 0 : r] as number;
      zero[r * G + g] = p.zero.data[p.zero.shape[0] === 1 ? 0 : r] as number;
    }
  }
  return {
    scale: new Tensor("f32", [rows, G], scale),
    zero: new Tensor("f32", [rows, G], zero),
    maxq: 2 ** spec.bits - 1,
  };
}

function checkParams(fn: string, p: IntQuantParams, rows: number, G: number, maxq: number): void {
  const ok = (t: Tensor<"f32">) => t.rank === 2 && (t.shape[0] === rows || t.shape[0] === 1) && t.shape[1] === G;
  if (!ok(p.scale) || !ok(p.zero)) {
    throw new TypeError(
      `${fn}: Cannot use params with scale ${formatShape(p.scale.shape)} and zero ${
        formatShape(p.zero.shape)
      }: expected [${rows}, ${G}] or [1, ${G}]`,
    );
  }
  if (p.maxq !== maxq) {
    throw new RangeError(`${fn}: Cannot use params with maxq ${p.maxq}: the spec implies maxq ${maxq}`);
  }
}
