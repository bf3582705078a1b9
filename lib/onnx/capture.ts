// SPDX-License-Identifier: MIT
/**
 * Calibration for ONNX weights: run calibration inputs through onnxruntime-web with each
 * weight's activation input exposed as an extra graph output, turn each captured activation
 * into the layer's input matrix X `[tokens, cols]` (per conv group), and accumulate what the
 * quantizers need with the activation capture of lib/calib (`ActivationCapture.add`): the GPTQ
 * Hessian `H = 2XᵀX/N` (f64), mean |X| per column (AWQ) and the token count.
 *
 * Inputs become X as follows:
 * - MatMul: activation `[..., K]` → `[Π..., K]`;
 * - Gemm: `[M, K]` (or `[K, M]` with `transA`, transposed);
 * - Conv: `[N, C, H, W]` → im2col patches, one matrix per conv group g:
 *   `X_g[(n, y, x), c·kh·kw + i·kw + j] = in[n, g·C/G + c, y·sh − pt + i·dh, x·sw − pl + j·dw]`
 *   (zero outside the image), matching the flattened weight `[out, C/G·kh·kw]`.
 *
 * Calibration here is not sequential: every layer sees the full-precision model's activations
 * (layers are not quantized one by one and re-run, as GPTQ's sequential mode would).
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { ActivationCapture } from "../calib/activation_capture.ts";
import { meanAbsAccumulator } from "../calib/accumulators/mean_abs.ts";
import { xtxAccumulator } from "../calib/accumulators/xtx.ts";
import type { Ops } from "../ops/ops.ts";
import type { OnnxModel } from "./load.ts";
import { type OnnxFeed, openSession } from "./session.ts";
import type { OnnxWeight } from "./weights.ts";

/**
 * The input matrices of a weight for one captured activation: one `[tokens, cols]` f32 matrix
 * per conv group (a single one for MatMul/Gemm).
 *
 * @throws {TypeError} when the activation's shape does not fit the weight
 */
export function layerInputs(w: OnnxWeight, act: Tensor<"f32">): Tensor<"f32">[] {
  const fn = "layerInputs";
  const shape = act.shape;
  if (w.op === "MatMul" || w.op === "Gemm") {
    const K = w.cols;
    if (w.op === "Gemm" && w.transA) {
      if (shape.length !== 2 || shape[0] !== K) {
        throw new TypeError(
          `${fn}: Cannot use activation [${shape.join(", ")}] of "${w.name}": expected [${K}, M] (transA)`,
        );
      }
      const M = shape[1] as number, out = new Float32Array(M * K);
      for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) out[m * K + k] = act.data[k * M + m] as number;
      return [new Tensor("f32", [M, K], out)];
    }
    if (shape[shape.length - 1] !== K) {
      throw new TypeError(
        `${fn}: Cannot use activation [${shape.join(", ")}] of "${w.name}": last dimension must be ${K}`,
      );
    }
    return [new Tensor("f32", [act.size / K, K], act.data)];
  }
  return im2col(w, act);
}

function im2col(w: OnnxWeight, act: Tensor<"f32">): Tensor<"f32">[] {
  const conv = w.conv!;
  if (act.rank !== 4) {
    throw new TypeError(
      `layerInputs: Cannot unfold activation [${
        act.shape.join(", ")
      }] of Conv "${w.name}": only 2-D convs (NCHW) are supported`,
    );
  }
  const [N, C, H, W] = act.shape as [number, number, number, number];
  const G = conv.group, Cg = C / G;
  const [kh, kw] = conv.kernel, [sh, sw] = conv.strides, [dh, dw] = conv.dilations;
  const [pt, pl, pb, pr] = conv.pads;
  if (Cg * kh * kw !== w.cols) {
    throw new TypeError(
      `layerInputs: Cannot unfold [${
        act.shape.join(", ")
      }] for Conv "${w.name}": ${C}/${G} channels × ${kh}×${kw} != ${w.cols}`,
    );
  }
  const Ho = Math.floor((H + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const Wo = Math.floor((W + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const T = N * Ho * Wo, cols = w.cols, x = act.data;
  const out: Tensor<"f32">[] = [];
  if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && pt + pl + pb + pr === 0) {
    // 1×1 convolution: X_g is the [N·H·W, C/G] transpose of each image's channel planes.
    const HW = H * W;
    for (let g = 0; g < G; g++) {
      const X = new Float32Array(T * cols);
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < Cg; c++) {
          const plane = (n * C + g * Cg + c) * HW;
          for (let p = 0; p < HW; p++) X[(n * HW + p) * cols + c] = x[plane + p] as number;
        }
      }
      out.push(new Tensor("f32", [T, cols], X));
    }
    return out;
  }
  for (let g = 0; g < G; g++) {
    const X = new Float32Array(T * cols);
    let row = 0;
    for (let n = 0; n < N; n++) {
      for (let oy = 0; oy < Ho; oy++) {
        for (let ox = 0; ox < Wo; ox++, row++) {
          const o = row * cols;
          for (let c = 0; c < Cg; c++) {
            const plane = (n * C + g * Cg + c) * H * W;
            for (let i = 0; i < kh; i++) {
              const y = oy * sh - pt + i * dh;
              if (y < 0 || y >= H) continue;
              for (let j = 0; j < kw; j++) {
                const xx = ox * sw - pl + j * dw;
                if (xx >= 0 && xx < W) X[o + (c * kh + i) * kw + j] = x[plane + y * W + xx] as number;
              }
            }
          }
        }
      }
    }
    out.push(new Tensor("f32", [T, cols], X));
  }
  return out;
}

/** Calibration statistics of one conv group (or the whole weight). */
export interface GroupStats {
  /** f64 `[cols, cols]`: `2XᵀX/N`. */
  hessian: Tensor<"f64">;
  /** f64 `[cols]`: mean |X[:, j]|. */
  meanAbs: Float64Array;
  /** Tokens N. */
  tokens: number;
}

/** Calibration statistics of one weight: one entry per conv group. */
export interface WeightStats {
  /** The weight the statistics belong to. */
  weight: OnnxWeight;
  /** Statistics of each conv group (one entry for MatMul/Gemm). */
  groups: GroupStats[];
}

/** Options of {@link calibrateOnnx}. */
export interface CalibrateOptions {
  /** Backend of the XᵀX accumulation (default tsOps). */
  ops?: Ops;
  /** Called after each calibration input. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Runs calibration inputs through the model and accumulates each weight's statistics.
 *
 * @param model the full-precision model
 * @param weights the weights to calibrate (from `findWeights`)
 * @param feeds calibration inputs, one model run each
 * @returns weight name → statistics
 * @throws {RangeError} when `feeds` is empty
 */
export async function calibrateOnnx(
  model: OnnxModel,
  weights: readonly OnnxWeight[],
  feeds: readonly Record<string, OnnxFeed>[],
  options: CalibrateOptions = {},
): Promise<Map<string, WeightStats>> {
  if (feeds.length === 0) throw new RangeError("calibrateOnnx: Cannot calibrate on 0 inputs: give at least one feed");
  const names = [...new Set(weights.flatMap((w) => w.inputs))];
  const session = await openSession(model, { extraOutputs: names });
  // One captured input per (weight, conv group); JSON keys cannot collide whatever the names.
  const key = (w: OnnxWeight, g: number) => JSON.stringify([w.name, g]);
  const capture = new ActivationCapture(
    weights.flatMap((w) => Array.from({ length: w.groups }, (_, g) => key(w, g))),
    { hessian: xtxAccumulator(), meanAbs: meanAbsAccumulator() },
    options.ops ? { ops: options.ops } : {},
  );
  try {
    for (let f = 0; f < feeds.length; f++) {
      const outs = await session.run(feeds[f] as Record<string, OnnxFeed>, names);
      capture.beginPass();
      for (const w of weights) {
        for (const input of w.inputs) {
          const act = outs.get(input);
          if (!act) {
            throw new RangeError(
              `calibrateOnnx: "${model.source}" did not output "${input}" (the input of "${w.name}")`,
            );
          }
          const Xs = layerInputs(w, act);
          for (let g = 0; g < Xs.length; g++) await capture.add(key(w, g), Xs[g] as Tensor<"f32">);
        }
      }
      options.onProgress?.(f + 1, feeds.length);
    }
  } finally {
    await session.release();
  }
  const stats = capture.results();
  const out = new Map<string, WeightStats>();
  for (const w of weights) {
    const groups = Array.from({ length: w.groups }, (_, g) => stats.get(key(w, g))!);
    out.set(w.name, { weight: w, groups });
  }
  return out;
}
