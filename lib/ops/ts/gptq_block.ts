// SPDX-License-Identifier: MIT
/**
 * One GPTQ block sweep (Frantar et al. 2022, arXiv:2210.17323, Alg. 1, the inner loop over
 * the columns of a block; checked against IST-DASLab/gptq `gptq.py` `fasterquant`):
 *
 *     for j in 0..B-1:
 *       Q[:, j]   = quantize(W[:, j])                       (per-row scale/zero)
 *       err[:, j] = (W[:, j] − Q[:, j]) / Hinv[j, j]
 *       W[:, j+1:] −= err[:, j] ⊗ Hinv[j, j+1:]
 *
 * Rows are independent (Hinv is shared), so the sweep runs row by row: each row of the
 * block stays in cache for all B columns. Numerics in f32 storage: `err = fround((w − q) / d)`
 * and each update `W[r, k] = fround(W[r, k] − err · Hinv[j, k])` (one rounding, like an FMA).
 *
 * Symbols: `W` weights of the block `[rows, B]`, `Hinv` `[B, B]` the block of the upper
 * Cholesky factor of H⁻¹, `Q` dequantized weights, `err` scaled errors (GPTQ's `Err1`).
 *
 * @module
 */
import { roundHalfEven } from "../../tensor/numeric.ts";
import { formatShape, Tensor } from "../../tensor/tensor.ts";
import type { GptqBlockResult, IntQuantParams } from "../ops.ts";
import { checkFinite, matrix, resolveIntParams } from "./_check.ts";

/**
 * Quantizes the B columns of a block in order with GPTQ error feedback. W is not modified.
 *
 * @param W f32 `[rows, B]` block of weights, finite
 * @param Hinv f32 `[B, B]` upper-triangular block of chol(H⁻¹)ᵀ (positive diagonal); only
 *   the diagonal and the upper triangle are read
 * @param params `scale`, `zero` f32 `[rows, 1]` or `[1, 1]`, `maxq`
 * @param out optional result tensors to write into (same shapes; not overlapping W)
 * @returns `{ Q: f32 [rows, B], err: f32 [rows, B], codes: u8 [rows, B] }` (`out` when given)
 *
 * @example With Hinv = I there is no feedback: plain RTN
 * ```ts
 * import { gptqBlock } from "./gptq_block.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const W = new Tensor("f32", [1, 2], new Float32Array([0.3, 0.6]));
 * const I = new Tensor("f32", [2, 2], new Float32Array([1, 0, 0, 1]));
 * const p = (v: number) => new Tensor("f32", [1, 1], new Float32Array([v]));
 * const { codes } = gptqBlock(W, I, { scale: p(0.5), zero: p(0), maxq: 3 });
 * assert.deepEqual(Array.from(codes.data), [1, 1]);
 * ```
 */
export function gptqBlock(
  W: Tensor<"f32">,
  Hinv: Tensor<"f32">,
  params: IntQuantParams,
  out?: GptqBlockResult,
): GptqBlockResult {
  const fn = "gptqBlock";
  const [rows, B] = matrix(fn, "W", W, "f32");
  const [h0, h1] = matrix(fn, "Hinv", Hinv, "f32");
  if (h0 !== B || h1 !== B) {
    throw new TypeError(
      `${fn}: Cannot use Hinv of shape ${formatShape(Hinv.shape)} with W of shape ${
        formatShape(W.shape)
      }: expected [${B}, ${B}]`,
    );
  }
  const p = resolveIntParams(fn, rows, B, params);
  if (p.G !== 1) {
    throw new TypeError(
      `${fn}: Cannot use params of shape ${
        formatShape(params.scale.shape)
      }: the block lies in one group, expected [${rows}, 1] or [1, 1]`,
    );
  }
  checkFinite(fn, "W", W);
  const h = Hinv.data;
  for (let j = 0; j < B; j++) {
    const d = h[j * B + j] as number;
    if (!(d > 0) || d === Infinity) {
      throw new RangeError(`${fn}: Cannot use Hinv[${j}, ${j}] = ${d}: the diagonal must be finite and > 0`);
    }
    for (let k = j + 1; k < B; k++) {
      if (!Number.isFinite(h[j * B + k] as number)) {
        throw new RangeError(`${fn}: Cannot use Hinv[${j}, ${k}] = ${h[j * B + k]}: NaN/Inf not allowed`);
      }
    }
  }
  if (out) checkOut(fn, out, rows, B, W);
  const maxq = p.maxq;
  const res: GptqBlockResult = out ?? {
    Q: new Tensor("f32", [rows, B]),
    err: new Tensor("f32", [rows, B]),
    codes: new Tensor("u8", [rows, B]),
  };
  const Q = res.Q.data, err = res.err.data, codes = res.codes.data; // [rows, B] each
  // The row being swept lives in `err` until its column is final: err[o + k] holds the updated
  // w[r, k] for k > j, so W is read once and nothing else is allocated.
  const w = err;
  w.set(W.data);
  for (let r = 0; r < rows; r++) {
    const pr = p.R === 1 ? 0 : r;
    const s = p.scale[pr] as number;
    const z = p.zero[pr] as number;
    const inv = p.invScale[pr] as number;
    const o = r * B;
    for (let j = 0; j < B; j++) {
      const x = w[o + j] as number;
      let q = roundHalfEven(Math.fround(x * inv)) + z;
      q = q < 0 ? 0 : q > maxq ? maxq : q;
      const hj = j * B;
      const xq = Math.fround(s * (q - z));
      const e = Math.fround((x - xq) / (h[hj + j] as number));
      codes[o + j] = q;
      Q[o + j] = xq;
      err[o + j] = e;
      if (e === 0) continue;
      for (let k = j + 1; k < B; k++) w[o + k] = (w[o + k] as number) - e * (h[hj + k] as number);
    }
  }
  return res;
}

/** `out` must hold the result shapes and must not share memory with W (W stays unmodified). */
function checkOut(fn: string, out: GptqBlockResult, rows: number, B: number, W: Tensor<"f32">): void {
  const ok = (t: Tensor, dtype: string) => t.dtype === dtype && t.rank === 2 && t.shape[0] === rows && t.shape[1] === B;
  if (!ok(out.Q, "f32") || !ok(out.err, "f32") || !ok(out.codes, "u8")) {
    throw new TypeError(
      `${fn}: Cannot write into out with Q ${formatShape(out.Q.shape)}, err ${formatShape(out.err.shape)}, codes ${
        formatShape(out.codes.shape)
      }: expected f32, f32 and u8 [${rows}, ${B}]`,
    );
  }
  for (const t of [out.Q, out.err]) {
    const a = t.data, b = W.data;
    if (
      a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength
    ) {
      throw new TypeError(`${fn}: Cannot write into out: it overlaps W (W is read-only)`);
    }
  }
}
