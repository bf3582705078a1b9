// SPDX-License-Identifier: MIT
/**
 * The project's recipes (RTN, AWQ, GPTQ) applied to ONNX weights, by import: `quantizeRtn`,
 * `awqScaleSearch`/`awqClipSearch`, `gptq`. Each weight is read as `[out, in]` (see
 * weights.ts), quantized, and returned as a packed {@link IntQuantized} plus its dequantized
 * f32 weight.
 *
 * Two ONNX specifics:
 * - **Partial groups.** Real models have rows that group sizes do not divide (PP-OCRv4:
 *   K = 120, depthwise 5×5 kernels = 25 columns). W is padded with zero columns to a multiple of
 *   the group size, the padded columns' Hessian entries are zero (GPTQ treats them as dead),
 *   and min–max ranges always include 0, so the last, partial group gets exactly the range of
 *   its real columns. The `IntQuantized` keeps the padded shape `[rows, colsPadded]`; this is
 *   also MatMulNBits' layout (`ceil(K / block)` blocks per column) and ONNX blocked
 *   DequantizeLinear's (`ceil(K / block)` scales).
 * - **Conv groups.** A grouped convolution's output channels of group g read only input
 *   channels of group g, so each conv group has its own Hessian: GPTQ runs per conv group.
 *   AWQ's per-column scale cannot be shared by conv groups with different inputs, so on
 *   grouped convs (depthwise) AWQ runs its clip search only. AWQ's scales are not folded into
 *   the previous op (an ONNX graph has no general place for them); they are kept as the
 *   tensor's `colScale` (ŵ = Q(W·diag(s))·diag(s)⁻¹), which exporters apply.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import { tsOps } from "../ops/ts/mod.ts";
import { unpack } from "../ops/ts/pack.ts";
import { formatId, type IntSpec } from "../quant/spec.ts";
import { quantizeRtn } from "../quant/rtn.ts";
import { dequantize, type IntQuantized, intQuantized } from "../quant/quantized_tensor.ts";
import { gptq } from "../reconstruct/gptq.ts";
import { awqClipSearch, awqScaleSearch, rtnFakeQuantizer } from "../rotate/awq.ts";
import { scaleColumns } from "../rotate/fuse.ts";
import type { GroupStats, WeightStats } from "./capture.ts";
import type { OnnxWeight } from "./weights.ts";

/** Quantization recipes available for ONNX weights. */
export type OnnxRecipe = "rtn" | "awq" | "gptq";

/** A quantized ONNX weight. */
export interface OnnxQuantized {
  /** The weight quantized. */
  weight: OnnxWeight;
  /** Recipe used. */
  recipe: OnnxRecipe;
  /** Format used. */
  spec: IntSpec;
  /** Packed codes and parameters on `[rows, colsPadded]` (`colScale` for AWQ). */
  q: IntQuantized;
  /** Dequantized f32 `[rows, cols]` (padding removed, AWQ column scales applied). */
  dequantized: Tensor<"f32">;
}

/** Options of {@link quantizeOnnxWeight}. */
export interface OnnxQuantizeOptions {
  /** Recipe: `rtn`, `awq` (activation-aware scales) or `gptq` (needs Hessians from calibration). */
  recipe: OnnxRecipe;
  /** Integer format (bits, group size, symmetry). */
  spec: IntSpec;
  /** Backend (default tsOps). */
  ops?: Ops;
  /** GPTQ damping ratio (default 0.01). */
  dampRatio?: number;
  /** AWQ grid points (default 20). */
  nGrid?: number;
}

/** Columns after padding to a multiple of the group size. */
export function paddedCols(cols: number, spec: IntSpec): number {
  return spec.groupSize > 0 && !spec.perTensor ? Math.ceil(cols / spec.groupSize) * spec.groupSize : cols;
}

/** Weights below this magnitude are flushed to 0 before quantization (see {@link padCols}). */
export const TINY_WEIGHT = 1e-30;

/**
 * Zero-pads W to `colsPad` columns and flushes weights below {@link TINY_WEIGHT} to 0: a group
 * whose range is that small (PP-OCRv4 has 5731 weights below 1e-30, rows whose largest weight
 * is 3e-40 or 4e-38: pruned channels) gets a scale of ~1e-39 whose f32 inverse overflows to
 * Infinity, and the min–max quantizers then produce NaN codes.
 */
function padCols(W: Tensor<"f32">, colsPad: number): Tensor<"f32"> {
  const [rows, cols] = W.shape as [number, number];
  const out = new Float32Array(rows * colsPad);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const v = W.data[r * cols + j] as number;
      out[r * colsPad + j] = Math.abs(v) < TINY_WEIGHT ? 0 : v;
    }
  }
  return new Tensor("f32", [rows, colsPad], out);
}

function padSquare(H: Tensor<"f64">, n: number, scale = 1): Tensor<"f64"> {
  const m = H.shape[0] as number, out = new Float64Array(n * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) out[i * n + j] = (H.data[i * m + j] as number) * scale;
  return new Tensor("f64", [n, n], out);
}

function sliceRows(W: Tensor<"f32">, r0: number, r1: number): Tensor<"f32"> {
  const cols = W.shape[1] as number;
  return new Tensor("f32", [r1 - r0, cols], W.data.slice(r0 * cols, r1 * cols));
}

function unpadCols(W: Tensor<"f32">, cols: number): Tensor<"f32"> {
  const [rows, cp] = W.shape as [number, number];
  if (cp === cols) return W;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) out.set(W.data.subarray(r * cp, r * cp + cols), r * cols);
  return new Tensor("f32", [rows, cols], out);
}

/** Stacks per-conv-group quantized row blocks into one tensor. */
function stackRows(parts: IntQuantized[], spec: IntSpec): IntQuantized {
  if (parts.length === 1) return parts[0] as IntQuantized;
  const codes = parts.map((p) => unpack(p.codes));
  const cols = codes[0]!.shape[1] as number, G = parts[0]!.scale.shape[1] as number;
  const rows = codes.reduce((a, c) => a + (c.shape[0] as number), 0);
  const cat = <A extends Float32Array | Uint8Array>(arrs: A[], make: (n: number) => A): A => {
    const out = make(arrs.reduce((a, x) => a + x.length, 0));
    let o = 0;
    for (const x of arrs) (out.set(x, o), o += x.length);
    return out;
  };
  return intQuantized(
    formatId(spec),
    new Tensor("u8", [rows, cols], cat(codes.map((c) => c.data), (n) => new Uint8Array(n))),
    spec.bits,
    {
      scale: new Tensor("f32", [rows, G], cat(parts.map((p) => p.scale.data), (n) => new Float32Array(n))),
      zero: new Tensor("f32", [rows, G], cat(parts.map((p) => p.zero.data), (n) => new Float32Array(n))),
      symmetric: spec.symmetric,
    },
  );
}

async function rtnQuantized(W: Tensor<"f32">, spec: IntSpec, ops: Ops): Promise<IntQuantized> {
  const r = await quantizeRtn(W, spec, { ops });
  return intQuantized(formatId(spec), r.codes, spec.bits, { ...r.params, symmetric: spec.symmetric });
}

/**
 * Quantizes one ONNX weight.
 *
 * @param W f32 `[rows, cols]` (from `readWeight`)
 * @param w the weight's description
 * @param stats calibration statistics (required for AWQ and GPTQ)
 * @throws {RangeError} when AWQ/GPTQ get no statistics
 */
export async function quantizeOnnxWeight(
  W: Tensor<"f32">,
  w: OnnxWeight,
  stats: WeightStats | undefined,
  options: OnnxQuantizeOptions,
): Promise<OnnxQuantized> {
  const { recipe, spec } = options;
  const ops = options.ops ?? tsOps;
  const cols = w.cols, cp = paddedCols(cols, spec), Wp = padCols(W, cp);
  const G = w.groups, rowsPer = w.rows / G;
  if (recipe !== "rtn" && (!stats || stats.groups.length !== G)) {
    throw new RangeError(
      `quantizeOnnxWeight: Cannot run ${recipe} on "${w.name}": it needs calibration statistics for its ${G} conv group(s)`,
    );
  }
  const group = (g: number) => stats!.groups[g] as GroupStats;
  let q: IntQuantized;
  if (recipe === "rtn") {
    q = await rtnQuantized(Wp, spec, ops);
  } else if (recipe === "gptq") {
    const parts: IntQuantized[] = [];
    for (let g = 0; g < G; g++) {
      const H = padSquare(group(g).hessian, cp);
      const r = await gptq(sliceRows(Wp, g * rowsPer, (g + 1) * rowsPer), H, {
        spec,
        ops,
        ...(options.dampRatio !== undefined && { dampRatio: options.dampRatio }),
      });
      parts.push(r.quantized);
    }
    q = stackRows(parts, spec);
  } else {
    const nGrid = options.nGrid ?? 20;
    let colScale: Float32Array | undefined;
    let Ws = Wp;
    if (G === 1) {
      const st = group(0);
      const real = st.meanAbs.reduce((m, v) => (v > 0 ? Math.min(m, v) : m), Infinity);
      const meanAbs = Float64Array.from(
        { length: cp },
        (_, j) =>
          j < cols && (st.meanAbs[j] as number) > 0 ? st.meanAbs[j] as number : (Number.isFinite(real) ? real : 1),
      );
      const xtx = padSquare(st.hessian, cp, st.tokens / 2);
      const s = await awqScaleSearch({ meanAbs, xtx, tokens: st.tokens }, [Wp], {
        quantize: rtnFakeQuantizer(spec, ops),
        nGrid,
        ops,
      });
      Ws = scaleColumns(Wp, s.scale);
      colScale = s.scale.map((v) => 1 / v);
    }
    const parts: Tensor<"f32">[] = [];
    for (let g = 0; g < G; g++) {
      const st = group(g);
      const xtx = padSquare(st.hessian, cp, st.tokens / 2);
      const r = await awqClipSearch(
        G === 1 ? Ws : sliceRows(Ws, g * rowsPer, (g + 1) * rowsPer),
        { xtx, tokens: st.tokens },
        spec,
        { nGrid, ops },
      );
      parts.push(r.weight);
    }
    const clipped = new Tensor("f32", [w.rows, cp]);
    parts.forEach((p, g) => clipped.data.set(p.data, g * rowsPer * cp));
    q = await rtnQuantized(clipped, spec, ops);
    if (colScale) q.colScale = new Tensor("f32", [cp], colScale);
  }
  return { weight: w, recipe, spec, q, dequantized: unpadCols(dequantize(q), cols) };
}

/**
 * Quantizes several weights of a model with one recipe.
 *
 * @param weights name → f32 `[rows, cols]` weight with its description
 * @returns name → quantized weight
 */
export async function quantizeOnnxWeights(
  weights: readonly { weight: OnnxWeight; W: Tensor<"f32"> }[],
  stats: ReadonlyMap<string, WeightStats> | undefined,
  options: OnnxQuantizeOptions & { onProgress?: (done: number, total: number, name: string) => void },
): Promise<Map<string, OnnxQuantized>> {
  const out = new Map<string, OnnxQuantized>();
  let done = 0;
  for (const { weight, W } of weights) {
    out.set(weight.name, await quantizeOnnxWeight(W, weight, stats?.get(weight.name), options));
    options.onProgress?.(++done, weights.length, weight.name);
  }
  return out;
}
