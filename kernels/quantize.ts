// SPDX-License-Identifier: MIT
/**
 * Integer quantization on WebGPU (kernel: `quantize.wgsl`): `fakeQuantize` (quantize then
 * dequantize) and `quantizeCodes` (u8 codes), bit-identical to the CPU reference because
 * both use the host-computed `invScale = fround(1 / scale)` and ties-to-even rounding.
 *
 * @module
 */
import type { IntQuantParams } from "../lib/ops/ops.ts";
import { checkFinite, matrix as checkMatrix, resolveIntParams } from "../lib/ops/ts/_check.ts";
import { Tensor } from "../lib/tensor/tensor.ts";
import { emptyTensor, type GpuTensor, upload } from "./runtime/buffers.ts";
import type { GpuContext } from "./runtime/device.ts";
import { grid, type KernelSpec, runKernels } from "./runtime/dispatch.ts";
import { defineParams } from "./runtime/params.ts";
import { matrix } from "./_checks.ts";
import { QUANTIZE_WGSL } from "./_wgsl.gen.ts";

const WG = 256;

/** The `quantize.wgsl` kernel and its `Params` layout. */
export const QUANTIZE_KERNEL: KernelSpec = {
  name: "quantize",
  code: QUANTIZE_WGSL,
  bindings: ["read", "read", "read", "read", "rw", "uniform"],
  params: defineParams([
    ["rows", "u32"],
    ["cols", "u32"],
    ["group_size", "u32"],
    ["groups", "u32"],
    ["param_rows", "u32"],
    ["maxq", "f32"],
    ["mode", "u32"],
    ["total", "u32"],
  ]),
};

/** Integer quantization parameters on the device (see `IntQuantParams`). */
export interface GpuIntParams extends Disposable {
  /** R: rows of parameters, 1 (broadcast) or rows. */
  paramRows: number;
  /** G: groups per row. */
  groups: number;
  /** cols / G. */
  groupSize: number;
  /** f32 `[R, G]`. */
  scale: GpuTensor<"f32">;
  /** f32 `[R, G]`. */
  zero: GpuTensor<"f32">;
  /** f32 `[R, G]`, `fround(1 / scale)`. */
  invScale: GpuTensor<"f32">;
  /** Largest code, `2^bits − 1`. */
  maxq: number;
}

/**
 * Validates integer parameters for a `[rows, cols]` tensor and uploads them.
 *
 * @param ctx device context
 * @param fn calling function, for error messages
 * @param rows rows of the quantized tensor
 * @param cols columns of the quantized tensor
 * @param params scale/zero f32 `[R, G]`, maxq
 */
export function uploadIntParams(
  ctx: GpuContext,
  fn: string,
  rows: number,
  cols: number,
  params: IntQuantParams,
): GpuIntParams {
  const p = resolveIntParams(fn, rows, cols, params);
  const scale = upload(ctx, params.scale);
  const zero = upload(ctx, params.zero);
  const inv = upload(ctx, new Tensor("f32", params.scale.shape, p.invScale));
  return {
    paramRows: p.R,
    groups: p.G,
    groupSize: p.groupSize,
    scale,
    zero,
    invScale: inv,
    maxq: params.maxq,
    [Symbol.dispose]() {
      scale.dispose();
      zero.dispose();
      inv.dispose();
    },
  };
}

/**
 * Quantizes a device tensor: fake-quantized f32 values (`"fake"`) or u8 codes (`"codes"`).
 *
 * @param ctx device context
 * @param w f32 `[rows, cols]`
 * @param params uploaded parameters (from {@link uploadIntParams})
 * @param mode `"fake"` → f32 `[rows, cols]`; `"codes"` → u8 `[rows, cols]`
 * @returns a new device tensor (caller disposes)
 */
export async function quantizeGpu<M extends "fake" | "codes">(
  ctx: GpuContext,
  w: GpuTensor,
  params: GpuIntParams,
  mode: M,
): Promise<GpuTensor<M extends "fake" ? "f32" : "u8">> {
  const fn = mode === "fake" ? "fakeQuantize" : "quantizeCodes";
  const [rows, cols] = matrix(fn, "w", w);
  const out = emptyTensor(ctx, mode === "fake" ? "f32" : "u8", [rows, cols]);
  const total = rows * cols;
  if (total > 0) {
    try {
      await runKernels(ctx, fn, [{
        kernel: QUANTIZE_KERNEL,
        tensors: [w, params.scale, params.zero, params.invScale, out],
        params: {
          rows,
          cols,
          group_size: params.groupSize,
          groups: params.groups,
          param_rows: params.paramRows,
          maxq: params.maxq,
          mode: mode === "fake" ? 0 : 1,
          total,
        },
        workgroups: grid(ctx, Math.ceil(total / 4 / WG)),
      }]);
    } catch (e) {
      out.dispose();
      throw e;
    }
  }
  return out as GpuTensor<M extends "fake" ? "f32" : "u8">;
}

async function quantizeHost<M extends "fake" | "codes">(
  ctx: GpuContext,
  w: Tensor<"f32">,
  params: IntQuantParams,
  mode: M,
) {
  const fn = mode === "fake" ? "fakeQuantize" : "quantizeCodes";
  const [rows, cols] = checkMatrix(fn, "w", w, "f32");
  using gp = uploadIntParams(ctx, fn, rows, cols, params);
  checkFinite(fn, "w", w);
  using gw = upload(ctx, w);
  using out = await quantizeGpu(ctx, gw, gp, mode);
  return await out.read();
}

/**
 * Quantize then dequantize (same contract as `Ops.fakeQuantize`):
 * `ŵ = scale · (clamp(roundHalfEven(w · invScale) + zero, 0, maxq) − zero)`.
 *
 * @param ctx device context
 * @param w f32 `[rows, cols]`
 * @param params scale/zero f32 `[R, G]` (R ∈ {1, rows}, G divides cols), maxq
 * @returns f32 `[rows, cols]`
 */
export function fakeQuantize(ctx: GpuContext, w: Tensor<"f32">, params: IntQuantParams): Promise<Tensor<"f32">> {
  return quantizeHost(ctx, w, params, "fake");
}

/**
 * Integer codes `clamp(roundHalfEven(w · invScale) + zero, 0, maxq)` (same contract as
 * `Ops.quantizeCodes`).
 *
 * @param ctx device context
 * @param w f32 `[rows, cols]`
 * @param params scale/zero f32 `[R, G]` (R ∈ {1, rows}, G divides cols), maxq
 * @returns u8 `[rows, cols]`
 */
export function quantizeCodes(ctx: GpuContext, w: Tensor<"f32">, params: IntQuantParams): Promise<Tensor<"u8">> {
  return quantizeHost(ctx, w, params, "codes");
}
