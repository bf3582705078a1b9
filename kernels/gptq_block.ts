// SPDX-License-Identifier: MIT
/**
 * One GPTQ block sweep on WebGPU (kernel: `gptq_block.wgsl`): columns quantized in order with
 * error feedback through the block of the upper Cholesky factor of H⁻¹, one invocation per
 * row (GPTQ, Frantar et al. 2022, arXiv:2210.17323, Alg. 1; IST-DASLab/gptq `fasterquant`).
 *
 * Symbols: `W` the block of weights `[rows, B]`, `Hinv` `[B, B]`, `Q` the dequantized block,
 * `err` the scaled errors `(w − q) / Hinv[j, j]` (GPTQ's `Err1`).
 *
 * @module
 */
import type { GptqBlockResult, IntQuantParams } from "../lib/ops/ops.ts";
import { formatShape, type Tensor } from "../lib/tensor/tensor.ts";
import { emptyTensor, type GpuTensor, readTensors, upload } from "./runtime/buffers.ts";
import type { GpuContext } from "./runtime/device.ts";
import { grid, type KernelSpec, runKernels } from "./runtime/dispatch.ts";
import { defineParams } from "./runtime/params.ts";
import { checkFinite } from "../lib/ops/ts/_check.ts";
import { matrix } from "./_checks.ts";
import { type GpuIntParams, uploadIntParams } from "./quantize.ts";
import { GPTQ_BLOCK_WGSL } from "./_wgsl.gen.ts";

const WG = 64;

/** The `gptq_block.wgsl` kernel and its `Params` layout. */
export const GPTQ_BLOCK_KERNEL: KernelSpec = {
  name: "gptq_block",
  code: GPTQ_BLOCK_WGSL,
  bindings: ["rw", "read", "read", "read", "read", "rw", "rw", "rw", "uniform"],
  params: defineParams([["rows", "u32"], ["b", "u32"], ["param_rows", "u32"], ["maxq", "f32"]]),
};

/** The outputs of {@link gptqBlockGpu}, on the device. */
export interface GpuGptqBlockResult extends Disposable {
  /** f32 `[rows, B]`. */
  Q: GpuTensor<"f32">;
  /** f32 `[rows, B]`. */
  err: GpuTensor<"f32">;
  /** u8 `[rows, B]`. */
  codes: GpuTensor<"u8">;
}

function checkBlock(W: Tensor | GpuTensor, Hinv: Tensor | GpuTensor): [number, number] {
  const fn = "gptqBlock";
  const [rows, B] = matrix(fn, "W", W);
  const [hr, hc] = matrix(fn, "Hinv", Hinv);
  if (hr !== B || hc !== B) {
    throw new TypeError(
      `${fn}: Cannot use Hinv of shape ${formatShape(Hinv.shape)} with W of shape ${formatShape(W.shape)}: ` +
        `expected [${B}, ${B}]`,
    );
  }
  return [rows, B];
}

/**
 * One GPTQ block on device tensors. `W` is updated in place (it becomes the error-fed-back
 * weights); pass a copy if the original is still needed.
 *
 * @param ctx device context
 * @param W f32 `[rows, B]`, overwritten
 * @param Hinv f32 `[B, B]`
 * @param params uploaded per-row parameters `[R, 1]` (from `uploadIntParams` with cols = B)
 * @returns Q, err and codes on the device (dispose the result)
 */
export async function gptqBlockGpu(
  ctx: GpuContext,
  W: GpuTensor,
  Hinv: GpuTensor,
  params: GpuIntParams,
): Promise<GpuGptqBlockResult> {
  const [rows, B] = checkBlock(W, Hinv);
  if (params.groups !== 1) {
    throw new TypeError(`gptqBlock: Cannot use ${params.groups} groups inside one block: expected params [R, 1]`);
  }
  const Q = emptyTensor(ctx, "f32", [rows, B]);
  const err = emptyTensor(ctx, "f32", [rows, B]);
  const codes = emptyTensor(ctx, "u8", [rows, B]);
  const result: GpuGptqBlockResult = {
    Q,
    err,
    codes,
    [Symbol.dispose]() {
      Q.dispose();
      err.dispose();
      codes.dispose();
    },
  };
  if (rows === 0 || B === 0) return result;
  try {
    await runKernels(ctx, "gptqBlock", [{
      kernel: GPTQ_BLOCK_KERNEL,
      tensors: [W, Hinv, params.scale, params.zero, params.invScale, Q, err, codes],
      params: { rows, b: B, param_rows: params.paramRows, maxq: params.maxq },
      workgroups: grid(ctx, Math.ceil(rows / WG)),
    }]);
  } catch (e) {
    result[Symbol.dispose]();
    throw e;
  }
  return result;
}

/**
 * One GPTQ block sweep (same contract as `Ops.gptqBlock`): for j = 0..B−1,
 * `q = clamp(roundHalfEven(W[:, j] · invScale) + zero, 0, maxq)`, `Q = scale · (q − zero)`,
 * `err = (W[:, j] − Q) / Hinv[j, j]`, `W[:, j+1:] −= err · Hinv[j, j+1:]`.
 *
 * @param ctx device context
 * @param W f32 `[rows, B]` (not modified)
 * @param Hinv f32 `[B, B]`, the block of the upper Cholesky factor of H⁻¹
 * @param params scale/zero f32 `[R, 1]` (R ∈ {1, rows}), maxq
 * @returns `Q` f32 `[rows, B]`, `err` f32 `[rows, B]`, `codes` u8 `[rows, B]`
 */
export async function gptqBlock(
  ctx: GpuContext,
  W: Tensor<"f32">,
  Hinv: Tensor<"f32">,
  params: IntQuantParams,
): Promise<GptqBlockResult> {
  const fn = "gptqBlock";
  const [rows, B] = checkBlock(W, Hinv);
  using gp = uploadIntParams(ctx, fn, rows, B, params); // validates params like the CPU backend
  // The CPU backend's other preconditions, with its messages.
  if (gp.groups !== 1) {
    throw new TypeError(
      `${fn}: Cannot use params of shape ${formatShape(params.scale.shape)}: the block lies in one group, ` +
        `expected [${rows}, 1] or [1, 1]`,
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
  using gW = upload(ctx, W);
  using gH = upload(ctx, Hinv);
  using out = await gptqBlockGpu(ctx, gW, gH, gp);
  const [Q, err, codes] = await readTensors(ctx, [out.Q, out.err, out.codes]);
  return { Q: Q as Tensor<"f32">, err: err as Tensor<"f32">, codes: codes as Tensor<"u8"> };
}
