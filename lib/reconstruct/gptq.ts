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
import { type GroupObserver, minmaxObserver, paramsFromObserver } from "../quant/group_params.ts";
import { sliceCols } from "../tensor/manip.ts";
import { type IntQuantized, intQuantized } from "../quant/quantized_tensor.ts";
import { prepareHessian } from "./_hinv.ts";
import { columnOrder, copyCols, groupParamsAt, panel } from "./_gptq_util.ts";
import { view } from "../ops/ts/gemm.ts";
import { Workspace } from "../ops/workspace.ts";

/**
 * Columns per scalar sweep inside a lazy batch: the scalar work is rows·cols·width/2 updates,
 * the rest of each batch goes through gemm. 16 balances the scalar loop against gemm calls
 * too thin to run at full speed (measured in bench/peers_bench.ts).
 */
const SWEEP_WIDTH = 16;

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
  /**
   * Scratch arena for the sweep's per-run buffers (default: a fresh one per call). Pass one
   * {@link Workspace} to consecutive calls (layer after layer) to reuse its memory; never share
   * one between calls that run concurrently.
   */
  workspace?: Workspace;
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

  const ws = options.workspace ?? new Workspace();
  const prep = await prepareHessian(H, {
    ops,
    order,
    fn,
    workspace: ws,
    ...(options.dampRatio !== undefined && { dampRatio: options.dampRatio }),
    ...(options.dampTries !== undefined && { dampTries: options.dampTries }),
  });
  // [cols, cols] f32 for the sweep, as the reference. Narrowed in place inside the f64 Hinv's own
  // buffer (which this call owns): at cols = 5632 a separate f32 copy is 127 MB more at the peak.
  // Safe front to back: writing f32 element i touches bytes [4i, 4i + 4), below f64 element i + 1.
  const hd = prep.Hinv.data;
  const U = new Float32Array(hd.buffer, hd.byteOffset, cols * cols);
  for (let i = 0; i < cols * cols; i++) U[i] = hd[i] as number;

  // Parameters: fixed ([rows, G], original order), per-channel (found before zeroing dead
  // columns, as the reference), static groups (after), or dynamic (fitted when entering a group).
  const W0 = new Tensor("f32", [rows, cols], ws.f32("gptq.w0", rows * cols)); // [rows, cols]
  W0.data.set(W.data);
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

  // [rows, cols] in sweep order, updated in place (W0 itself in the natural order)
  const Wp = natural ? W0 : copyCols(W0, order, ws.f32("gptq.wp", rows * cols));
  // In the natural order the sweep writes the final arrays directly; otherwise sweep order first.
  const Qp = new Float32Array(rows * cols); // [rows, cols] sweep order
  const codesP = new Uint8Array(rows * cols); // [rows, cols] sweep order
  const lossP = new Float64Array(cols);
  const paramCache = new Map<number, IntQuantParams>();
  const sweep = Math.min(B, SWEEP_WIDTH);
  for (let b0 = 0; b0 < cols;) {
    let b1 = Math.min(cols, (Math.floor(b0 / B) + 1) * B);
    if (dynamic) b1 = Math.min(b1, (Math.floor(b0 / gs) + 1) * gs);
    if (dynamic && b0 % gs === 0) {
      const p = await observer(sliceCols(Wp, b0, b0 + gs), spec);
      checkParams(fn, p, rows, 1, maxq);
      const g = b0 / gs;
      for (let r = 0; r < rows; r++) {
        scale[r * G + g] = p.scale.data[p.scale.shape[0] === 1 ? 0 : r] as number;
        zero[r * G + g] = p.zero.data[p.zero.shape[0] === 1 ? 0 : r] as number;
      }
    }
    const bw = b1 - b0;
    const Eb = ws.f32("gptq.err", rows * bw); // [rows, bw] scaled errors of the block
    // Runs of at most `sweep` columns sharing a group go through the scalar sweep; each run's
    // errors reach the rest of the block by one in-place gemm (rank-n update), so the scalar
    // work per column is O(sweep), not O(blockSize).
    for (let a = b0; a < b1;) {
      const g = groupAt(a);
      let c = a + 1;
      while (c < b1 && c - a < sweep && groupAt(c) === g) c++;
      let p = paramCache.get(g);
      if (!p || dynamic) {
        p = groupParamsAt(scale, zero, rows, G, g, maxq);
        paramCache.set(g, p);
      }
      const n = c - a;
      const run = await ops.gptqBlock(
        panel(ws, "gptq.w", Wp, rows, cols, 0, a, c),
        panel(ws, "gptq.u", U, n, cols, a, a, c),
        p,
        {
          Q: new Tensor("f32", [rows, n], ws.f32("gptq.q", rows * n)),
          err: new Tensor("f32", [rows, n], ws.f32("gptq.e", rows * n)),
          codes: new Tensor("u8", [rows, n], ws.u8("gptq.c", rows * n)),
        },
      );
      const rq = run.Q.data, re = run.err.data, rc = run.codes.data;
      for (let r = 0; r < rows; r++) {
        const o = r * cols + a, or = r * n, oe = r * bw + a - b0;
        Qp.set(rq.subarray(or, or + n), o);
        codesP.set(rc.subarray(or, or + n), o);
        Eb.set(re.subarray(or, or + n), oe);
        for (let k = 0; k < n; k++) {
          const e = re[or + k] as number;
          lossP[a + k] = (lossP[a + k] as number) + (e * e) / 2;
        }
      }
      // W[:, c:b1] −= Err[:, a:c] · U[a:c, c:b1], in place
      if (c < b1) {
        await ops.gemm(
          view(Wp.data, rows, cols, c, b1),
          { data: Eb, offset: a - b0, rows, cols: n, stride: bw },
          { data: U, offset: a * cols + c, rows: n, cols: b1 - c, stride: cols },
          { alpha: -1, beta: 1 },
        );
      }
      a = c;
    }
    // Lazy-batch update: W[:, b1:] −= Err · U[b0:b1, b1:], in place
    if (b1 < cols) {
      await ops.gemm(
        view(Wp.data, rows, cols, b1, cols),
        { data: Eb, offset: 0, rows, cols: bw, stride: bw },
        { data: U, offset: b0 * cols + b1, rows: bw, cols: cols - b1, stride: cols },
        { alpha: -1, beta: 1 },
      );
    }
    options.onProgress?.(b1, cols);
    b0 = b1;
  }

  // Back to the original column order.
  let Q = Qp, codes = codesP, loss = lossP;
  if (!natural) {
    Q = new Float32Array(rows * cols); // [rows, cols]
    codes = new Uint8Array(rows * cols); // [rows, cols]
    loss = new Float64Array(cols);
    for (let a = 0; a < cols; a++) {
      const j = order[a] as number;
      loss[j] = lossP[a] as number;
      for (let r = 0; r < rows; r++) {
        Q[r * cols + j] = Qp[r * cols + a] as number;
        codes[r * cols + j] = codesP[r * cols + a] as number;
      }
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
