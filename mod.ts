// SPDX-License-Identifier: MIT
/**
 * quantlab: post-training quantization research in Deno/TypeScript (CPU API).
 * WebGPU kernels live in `@quantlab/quantlab/webgpu`, figures in `@quantlab/quantlab/viz`, ONNX
 * reading, calibration, quantization and export (onnxruntime-web) in `@quantlab/quantlab/onnx`,
 * and the PP-OCR recognizer evaluation in `@quantlab/quantlab/ocr`: this root import loads
 * neither onnxruntime nor WebGPU.
 *
 * @example
 * ```ts
 * import { formatId, randn, quantizeRtn, tsOps } from "./mod.ts";
 * import type { Tensor } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const W = randn([4, 64], { seed: 1 }) as Tensor<"f32">;
 * const spec = { format: "int", bits: 8, groupSize: 0, symmetric: true } as const;
 * const { weight } = await quantizeRtn(W, spec, { ops: tsOps });
 * assert.equal(formatId(spec), "int8-ch-sym");
 * assert.ok(Math.abs(weight.data[3]! - W.data[3]!) < 0.05);
 * ```
 *
 * @module
 */
export * from "./lib/tensor/mod.ts";
export * from "./lib/linalg/mod.ts";
export type * from "./lib/ops/ops.ts";
export { tsOps } from "./lib/ops/ts/mod.ts";
export {
  BLAS_SYMBOLS,
  type BlasLibrary,
  type BlasOps,
  BlasUnavailableError,
  loadBlasOps,
  requireBlasOps,
} from "./lib/ops/blas/mod.ts";
export { Workspace } from "./lib/ops/workspace.ts";
export * from "./lib/ops/backend.ts";
export * from "./lib/quant/mod.ts";
export * from "./lib/calib/mod.ts";
export * from "./lib/model/mod.ts";
export * from "./lib/eval/mod.ts";
export * from "./lib/data/mod.ts";
export * from "./lib/pipeline/mod.ts";
export * from "./lib/reconstruct/mod.ts";
export * from "./lib/rotate/mod.ts";
