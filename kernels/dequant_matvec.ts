// SPDX-License-Identifier: MIT
/**
 * y = dequant(W) · x for packed integer weights on WebGPU (kernel: `dequant_matvec.wgsl`),
 * W4A16-style: codes are dequantized in registers and never materialized.
 *
 * @module
 */
import type { IntQuantParams, PackedCodes } from "../lib/ops/ops.ts";
import { checkPacked } from "../lib/ops/ts/pack.ts";
import { formatShape, type Tensor } from "../lib/tensor/tensor.ts";
import { emptyTensor, type GpuTensor, upload } from "./runtime/buffers.ts";
import type { GpuContext } from "./runtime/device.ts";
import { grid, type KernelSpec, runKernels } from "./runtime/dispatch.ts";
import { defineParams } from "./runtime/params.ts";
import { checkDType } from "./_checks.ts";
import { type GpuIntParams, uploadIntParams } from "./quantize.ts";
import { packedLayout } from "./unpack.ts";
import { DEQUANT_MATVEC_WGSL } from "./_wgsl.gen.ts";

/** The `dequant_matvec.wgsl` kernel and its `Params` layout. */
export const DEQUANT_MATVEC_KERNEL: KernelSpec = {
  name: "dequant_matvec",
  code: DEQUANT_MATVEC_WGSL,
  bindings: ["read", "read", "read", "read", "rw", "uniform"],
  params: defineParams([
    ["rows", "u32"],
    ["cols", "u32"],
    ["n", "u32"],
    ["bits", "u32"],
    ["per_word", "u32"],
    ["words_per_row", "u32"],
    ["group_size", "u32"],
    ["groups", "u32"],
    ["param_rows", "u32"],
  ]),
};

/** Resolves x `[cols]` or `[cols, n]`; returns n and the output shape. */
function matvecShape(rows: number, cols: number, x: Tensor | GpuTensor) {
  checkDType("dequantMatvec", "x", x, "f32");
  const ok = (x.shape.length === 1 || x.shape.length === 2) && x.shape[0] === cols;
  if (!ok) {
    throw new TypeError(
      `dequantMatvec: Cannot multiply W of shape [${rows}, ${cols}] by x of shape ${formatShape(x.shape)}: ` +
        `expected x of shape [${cols}] or [${cols}, n]`,
    );
  }
  const n = x.shape.length === 2 ? x.shape[1] as number : 1;
  return { n, out: x.shape.length === 2 ? [rows, n] : [rows] };
}

/**
 * y = dequant(W) · x on device tensors.
 *
 * @param ctx device context
 * @param words u32 packed W `[rows, wordsPerRow]`
 * @param bits 2, 3, 4 or 8
 * @param cols logical columns of W
 * @param params uploaded parameters `[R, G]` (from `uploadIntParams`)
 * @param x f32 `[cols]` or `[cols, n]`
 * @returns f32 `[rows]` or `[rows, n]` (caller disposes)
 */
export async function dequantMatvecGpu(
  ctx: GpuContext,
  words: GpuTensor,
  bits: number,
  cols: number,
  params: GpuIntParams,
  x: GpuTensor,
): Promise<GpuTensor<"f32">> {
  const fn = "dequantMatvec";
  const [rows, wordsPerRow, perWord] = packedLayout(fn, words, bits, cols);
  const { n, out } = matvecShape(rows, cols, x);
  const y = emptyTensor(ctx, "f32", out);
  if (rows === 0 || n === 0 || cols === 0) return y;
  try {
    await runKernels(ctx, fn, [{
      kernel: DEQUANT_MATVEC_KERNEL,
      tensors: [words, params.scale, params.zero, x, y],
      params: {
        rows,
        cols,
        n,
        bits,
        per_word: perWord,
        words_per_row: wordsPerRow,
        group_size: params.groupSize,
        groups: params.groups,
        param_rows: params.paramRows,
      },
      workgroups: [...grid(ctx, rows), n],
    }]);
  } catch (e) {
    y.dispose();
    throw e;
  }
  return y;
}

/**
 * y = dequant(W) · x (same contract as `Ops.dequantMatvec`), with
 * `dequant(W)[r, c] = scale[r, g] · (q[r, c] − zero[r, g])`.
 *
 * @param ctx device context
 * @param packed W `[rows, cols]` packed (`{ words, bits, cols }`)
 * @param params scale/zero f32 `[R, G]` (R ∈ {1, rows}, G divides cols), maxq
 * @param x f32 `[cols]` or `[cols, n]`
 * @returns f32 `[rows]` or `[rows, n]`
 */
export async function dequantMatvec(
  ctx: GpuContext,
  packed: PackedCodes,
  params: IntQuantParams,
  x: Tensor<"f32">,
): Promise<Tensor<"f32">> {
  const fn = "dequantMatvec";
  const [rows] = checkPacked(fn, packed);
  using gp = uploadIntParams(ctx, fn, rows, packed.cols, params);
  matvecShape(rows, packed.cols, x);
  using gw = upload(ctx, packed.words);
  using gx = upload(ctx, x);
  using y = await dequantMatvecGpu(ctx, gw, packed.bits, packed.cols, gp, gx);
  return await y.read();
}
