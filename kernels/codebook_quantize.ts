// SPDX-License-Identifier: MIT
/**
 * Codebook (non-uniform grid) quantization on WebGPU (kernel: `codebook_quantize.wgsl`):
 * each `x · fround(1 / scale)` snaps to the nearest of the strictly ascending `levels`, ties
 * to the lower index, as in the CPU reference.
 *
 * @module
 */
import { checkFinite, matrix as checkMatrix, paramShape } from "../lib/ops/ts/_check.ts";
import { checkLevels } from "../lib/ops/ts/codebook.ts";
import { Tensor } from "../lib/tensor/tensor.ts";
import { emptyTensor, type GpuTensor, readTensors, upload } from "./runtime/buffers.ts";
import type { GpuContext } from "./runtime/device.ts";
import { grid, type KernelSpec, runKernels } from "./runtime/dispatch.ts";
import { defineParams } from "./runtime/params.ts";
import { matrix, paramLayout } from "./_checks.ts";
import { CODEBOOK_QUANTIZE_WGSL } from "./_wgsl.gen.ts";

const WG = 256;

/** The `codebook_quantize.wgsl` kernel and its `Params` layout. */
export const CODEBOOK_QUANTIZE_KERNEL: KernelSpec = {
  name: "codebook_quantize",
  code: CODEBOOK_QUANTIZE_WGSL,
  bindings: ["read", "read", "read", "read", "rw", "rw", "uniform"],
  params: defineParams([
    ["rows", "u32"],
    ["cols", "u32"],
    ["group_size", "u32"],
    ["groups", "u32"],
    ["param_rows", "u32"],
    ["num_levels", "u32"],
    ["total", "u32"],
  ]),
};

/**
 * Codebook quantization of a device tensor.
 *
 * @param ctx device context
 * @param x f32 `[rows, cols]`
 * @param levels f32 `[L]`, strictly ascending, L ≤ 256
 * @param scale f32 `[R, G]` (R ∈ {1, rows}, G divides cols), > 0
 * @param invScale f32 `[R, G]`, `fround(1 / scale)`
 * @returns values f32 `[rows, cols]` and codes u8 `[rows, cols]` (caller disposes both)
 */
export async function codebookQuantizeGpu(
  ctx: GpuContext,
  x: GpuTensor,
  levels: GpuTensor,
  scale: GpuTensor,
  invScale: GpuTensor,
): Promise<{ values: GpuTensor<"f32">; codes: GpuTensor<"u8"> }> {
  const fn = "codebookQuantize";
  const [rows, cols] = matrix(fn, "x", x);
  const { paramRows, groups, groupSize } = paramLayout(fn, "scale", scale, rows, cols);
  const values = emptyTensor(ctx, "f32", [rows, cols]);
  const codes = emptyTensor(ctx, "u8", [rows, cols]);
  const total = rows * cols;
  if (total === 0) return { values, codes };
  try {
    await runKernels(ctx, fn, [{
      kernel: CODEBOOK_QUANTIZE_KERNEL,
      tensors: [x, levels, scale, invScale, values, codes],
      params: {
        rows,
        cols,
        group_size: groupSize,
        groups,
        param_rows: paramRows,
        num_levels: levels.size,
        total,
      },
      workgroups: grid(ctx, Math.ceil(total / 4 / WG)),
    }]);
  } catch (e) {
    values.dispose();
    codes.dispose();
    throw e;
  }
  return { values, codes };
}

/**
 * Codebook quantization (same contract and validation as `Ops.codebookQuantize`).
 *
 * @param ctx device context
 * @param x f32 `[rows, cols]`, finite
 * @param levels strictly ascending grid (1 to 256 entries)
 * @param scale f32 `[R, G]` (R ∈ {1, rows}, G divides cols), finite and > 0
 * @returns `values` f32 `[rows, cols]` (`levels[code] · scale`) and `codes` u8 `[rows, cols]`
 */
export async function codebookQuantize(
  ctx: GpuContext,
  x: Tensor<"f32">,
  levels: Float32Array,
  scale: Tensor<"f32">,
): Promise<{ values: Tensor<"f32">; codes: Tensor<"u8"> }> {
  const fn = "codebookQuantize";
  const [rows, cols] = checkMatrix(fn, "x", x, "f32");
  checkLevels(fn, levels);
  paramShape(fn, "scale", scale, rows, cols);
  const inv = new Float32Array(scale.size);
  scale.data.forEach((s, i) => {
    if (!(s > 0) || s === Infinity) {
      throw new RangeError(`${fn}: Cannot quantize with scale ${s} at index ${i}: scale must be finite and > 0`);
    }
    inv[i] = 1 / s; // stored as f32: fround(1 / scale)
  });
  checkFinite(fn, "x", x);
  using gx = upload(ctx, x);
  using gl = upload(ctx, new Tensor("f32", [levels.length], levels));
  using gs = upload(ctx, scale);
  using gi = upload(ctx, new Tensor("f32", scale.shape, inv));
  const out = await codebookQuantizeGpu(ctx, gx, gl, gs, gi);
  using values = out.values;
  using codes = out.codes;
  const [v, c] = await readTensors(ctx, [values, codes]);
  return { values: v as Tensor<"f32">, codes: c as Tensor<"u8"> };
}
