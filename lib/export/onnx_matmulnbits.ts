// SPDX-License-Identifier: MIT
/**
 * Exports 4-bit blocked MatMul weights as `com.microsoft.MatMulNBits`, the format
 * onnxruntime(-web) and transformers.js execute.
 *
 * Byte layout (onnxruntime `contrib_defs` MatMulNBits, bits = 4), for a MatMul `Y = A·B`,
 * B `[K, N]`, i.e. quantlab W = Bᵀ `[N, K]` with block size b (16, 32, 64, 128, …):
 *
 *     n_blocks = ⌈K / b⌉
 *     B       uint8 [N, n_blocks, b/2]      code of (n, k) in byte (n, k / b, (k % b) / 2),
 *                                           low nibble for even k; padding codes 0
 *     scales  f32   [N · n_blocks]          scale of (n, block) at n · n_blocks + block
 *     zero_points uint8 [N · ⌈n_blocks/2⌉]  (optional, default 8) block j of row n in byte
 *                                           n · ⌈n_blocks/2⌉ + j/2, low nibble for even j
 *     attributes K, N, bits = 4, block_size = b;  B̂(k, n) = scale · (code − zero)
 *
 * This is quantlab's `IntQuantized` on the padded `[N, n_blocks·b]` weight, nibble-packed per
 * row (see quantize.ts for the padding of partial blocks). Symmetric formats (zero = 8) omit
 * the zero points. AWQ column scales become a `Mul` of A by `colScale` (`[K]`) before the
 * MatMulNBits node — AWQ's activation scaling.
 *
 * Weights that MatMulNBits cannot hold (Conv, Gemm, other bit widths, per-channel) are written
 * as fake-quantized f32 by default (`fallback: "fakequant"`), so the exported model computes
 * the quantized network; `fallback: "error"` rejects them.
 *
 * @module
 */
import { cloneModel, type OnnxModel } from "../onnx/load.ts";
import type { NodeProto, TensorProto } from "../onnx/proto.ts";
import { attr, bytesTensorProto, floatTensorProto } from "../onnx/tensor_proto.ts";
import { DataType } from "../onnx/proto.ts";
import type { OnnxQuantized } from "../onnx/quantize.ts";
import { setWeightProto, toOnnxLayout } from "../onnx/weights.ts";
import {
  codesOf,
  ensureOpset,
  integerZeros,
  type OnnxExportReport,
  packNibbles,
  removeProducer,
  sizeReport,
} from "./_onnx_export_util.ts";

/** Options of {@link exportMatMulNBits}. */
export interface MatMulNBitsOptions {
  /** What to do with quantized weights MatMulNBits cannot store (default `"fakequant"`). */
  fallback?: "fakequant" | "error";
  /** MatMulNBits `accuracy_level` attribute (default 0: f32 compute, exact). */
  accuracyLevel?: number;
}

/** Whether a quantized weight can be stored as MatMulNBits. */
export function matMulNBitsCompatible(q: OnnxQuantized): boolean {
  const G = q.q.scale.shape[1] as number, b = q.q.shape[1] / G;
  return q.weight.op === "MatMul" && q.spec.bits === 4 && q.q.scale.shape[0] === q.weight.rows && G > 0 &&
    b >= 16 && (b & (b - 1)) === 0 && q.q.shape[1] === Math.ceil(q.weight.cols / b) * b;
}

/** The MatMulNBits tensors of one weight: B, scales, optional zero points. */
export function matMulNBitsTensors(
  q: OnnxQuantized,
): { B: Uint8Array; scales: Float32Array; zeroPoints?: Uint8Array; blockSize: number } {
  const N = q.weight.rows, cp = q.q.shape[1], nb = q.q.scale.shape[1] as number, b = cp / nb;
  const codes = codesOf(q).data; // [N, nb·b]: row n is exactly B's [nb, b/2] bytes once packed
  const B = packNibbles(codes);
  const zeros = integerZeros("exportMatMulNBits", q);
  const scales = q.q.scale.data.slice();
  const res: { B: Uint8Array; scales: Float32Array; zeroPoints?: Uint8Array; blockSize: number } = {
    B,
    scales,
    blockSize: b,
  };
  if (!zeros.every((z) => z === 8)) {
    const per = Math.ceil(nb / 2), zp = new Uint8Array(N * per);
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < nb; j++) {
        zp[n * per + (j >> 1)] = (zp[n * per + (j >> 1)] as number) | ((zeros[n * nb + j] as number) << ((j & 1) * 4));
      }
    }
    res.zeroPoints = zp;
  }
  return res;
}

/**
 * MatMulNBits export.
 *
 * @returns the model bytes and the size report (MatMulNBits weights: B + scales + zero points
 *   (+ AWQ scales); fallbacks: f32)
 * @throws {RangeError} with `fallback: "error"` when a weight cannot be stored as MatMulNBits
 */
export function exportMatMulNBits(
  model: OnnxModel,
  quantized: ReadonlyMap<string, OnnxQuantized>,
  options: MatMulNBitsOptions = {},
): OnnxExportReport {
  const out = cloneModel(model);
  const stored: { name: string; storage: string; elements: number; tensors: TensorProto[] }[] = [];
  const blocks = new Set<number>();
  for (const [name, q] of quantized) {
    const w = q.weight, elements = w.rows * w.cols;
    if (!matMulNBitsCompatible(q)) {
      if (options.fallback === "error") {
        throw new RangeError(
          `exportMatMulNBits: Cannot store "${name}" (${w.op}, ${q.q.formatId}) as MatMulNBits: it needs a MatMul weight, 4 bits and a power-of-two block ≥ 16`,
        );
      }
      const t = floatTensorProto(name, w.onnxShape, toOnnxLayout(w, q.dequantized).data);
      setWeightProto(out, name, t);
      stored.push({ name, storage: "f32 (fake-quantized)", elements, tensors: [t] });
      continue;
    }
    const { B, scales, zeroPoints, blockSize } = matMulNBitsTensors(q);
    blocks.add(blockSize);
    const K = w.cols, N = w.rows, nb = Math.ceil(K / blockSize);
    const tensors: TensorProto[] = [
      bytesTensorProto(`${name}__B`, DataType.UINT8, [N, nb, blockSize / 2], B),
      floatTensorProto(`${name}__scales`, [N * nb], scales),
    ];
    if (zeroPoints) {
      tensors.push(bytesTensorProto(`${name}__zero_points`, DataType.UINT8, [zeroPoints.length], zeroPoints));
    }
    const colScale = q.q.colScale;
    if (colScale) tensors.push(floatTensorProto(`${name}__colscale`, [K], colScale.data.slice(0, K)));
    out.graph.initializer.push(...tensors);
    const nodes: NodeProto[] = [];
    for (const node of out.graph.node) {
      if (node.opType !== "MatMul" || node.input[1] !== name || (node.domain ?? "") !== "") {
        nodes.push(node);
        continue;
      }
      let a = node.input[0] as string;
      if (colScale) {
        const scaled = `${node.output[0]}__awq_input`;
        nodes.push({
          opType: "Mul",
          name: `${node.name}__awq_scale`,
          input: [a, `${name}__colscale`],
          output: [scaled],
          attribute: [],
        });
        a = scaled;
      }
      nodes.push({
        opType: "MatMulNBits",
        domain: "com.microsoft",
        name: `${node.name}__MatMulNBits`,
        input: [a, `${name}__B`, `${name}__scales`, ...(zeroPoints ? [`${name}__zero_points`] : [])],
        output: [...node.output],
        attribute: [
          attr.int("K", K),
          attr.int("N", N),
          attr.int("bits", 4),
          attr.int("block_size", blockSize),
          attr.int("accuracy_level", options.accuracyLevel ?? 0),
        ],
      });
    }
    out.graph.node = nodes;
    // Drop the f32 weight unless something other than the rewritten MatMuls still reads it.
    if (!nodes.some((n) => n.input.includes(name))) removeProducer(out, name);
    stored.push({
      name,
      storage: `MatMulNBits b${blockSize}${zeroPoints ? " +zp" : ""}${colScale ? " +awq" : ""}`,
      elements,
      tensors,
    });
  }
  ensureOpset(out, "com.microsoft", 1);
  return sizeReport(out, `MatMulNBits ${[...blocks].map((b) => `b${b}`).join("/")}`.trim(), stored);
}
