// SPDX-License-Identifier: MIT
/**
 * A linear layer `y = x·Wᵀ (+ b)` in the decoder graph: an f32 `MatMul` with Wᵀ as initializer,
 * or `com.microsoft.MatMulNBits` (4 bits, blocks of `b` = the group size along
 * the input dimension), written from quantlab's packed int4 weight — the exact codes, scales
 * and integer zero points — with the byte layout of lib/export/onnx_matmulnbits.ts (its
 * `matMulNBitsTensors` packs them). onnxruntime decodes `B̂(k, n) = scale · (code − zero)` in
 * f32, the same product quantlab's `dequantize` rounds, so the stored weight is checked to
 * decode to the weight quantlab evaluated, element for element, before it is written. SINQ's
 * per-column scale becomes a `Mul` of the activations before the node (as the ONNX exporter
 * does for AWQ): `x · (Ŵ·diag(s))ᵀ = (x ⊙ s) · Ŵᵀ`.
 *
 * Refused with an {@link OnnxDecoderExportError} naming the layer: codebook formats, bits other
 * than 4, per-channel or non-power-of-two groups (MatMulNBits needs blocks of 16, 32, 64, …),
 * act-order group indices, non-integer zero points, and weights that carry more than their codes
 * (LoRC's low-rank term).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { linearNames, type LlamaConfig } from "../model/config.ts";
import { dequantize, type IntQuantized, type QuantizedTensor } from "../quant/quantized_tensor.ts";
import { matMulNBitsTensors } from "./onnx_matmulnbits.ts";
import type { OnnxQuantized } from "../onnx/quantize.ts";
import { DataType } from "../onnx/proto.ts";
import { attr, bytesTensorProto, floatTensorProto } from "../onnx/tensor_proto.ts";
import type { OnnxGraphBuilder } from "./_onnx_graph.ts";

/** A model or weight the ONNX decoder export cannot write as asked (the message names the layer and why). */
export class OnnxDecoderExportError extends RangeError {
  /** Error name. */
  override name = "OnnxDecoderExportError";
}

/**
 * Checks the names of the packed weights: every decoder linear (lm_head optional), nothing else.
 *
 * @throws {OnnxDecoderExportError} naming a missing linear or a name that is no linear
 */
export function checkPackedNames(c: LlamaConfig, quantized: ReadonlyMap<string, unknown>): void {
  const fn = "buildOnnxDecoder", linears = new Set(["lm_head"]);
  for (let l = 0; l < c.numLayers; l++) for (const n of linearNames(l)) linears.add(n);
  for (const n of linears) {
    if (n !== "lm_head" && !quantized.has(n)) {
      throw new OnnxDecoderExportError(`${fn}: Cannot write "${n}" as MatMulNBits: it is missing from quantized`);
    }
  }
  for (const n of quantized.keys()) {
    if (!linears.has(n)) {
      throw new OnnxDecoderExportError(
        `${fn}: Cannot place the packed weight "${n}": it is no linear of the model (names have no ".weight")`,
      );
    }
  }
}

/** One linear of the graph: its weight, optional bias and optional packed form. */
export interface OnnxLinearSpec {
  /** The linear's name without `.weight` (e.g. `model.layers.0.mlp.up_proj`): prefix of its initializers. */
  name: string;
  /** The evaluated weight f32 `[N, K]`. */
  W: Tensor<"f32">;
  /** Bias f32 `[N]`, when the architecture has one. */
  bias?: Tensor<"f32">;
  /** Packed int4 weight `[N, K]`: written as MatMulNBits. */
  q?: QuantizedTensor;
  /** MatMulNBits `accuracy_level` (0: f32 compute). */
  accuracyLevel: number;
  /** Name of the output; a graph output (`logits`) must get exactly it. */
  out: string;
}

/** W `[rows, cols]` → Wᵀ `[cols, rows]`, MatMul's layout. */
function transposed(W: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = W[r * cols + c] as number;
  return out;
}

/**
 * Adds the linear to the graph.
 *
 * @param g the graph
 * @param x input value `[..., K]`
 * @param spec weight, bias, packed form and output name
 * @returns the output value `[..., N]` and how the weight is stored (`f32`, `MatMulNBits b32 +zp`)
 * @throws {OnnxDecoderExportError} when the packed weight cannot be stored exactly
 */
export function onnxLinear(g: OnnxGraphBuilder, x: string, spec: OnnxLinearSpec): { y: string; storage: string } {
  const { name, W, bias, q } = spec;
  const [rows, cols] = W.shape as [number, number];
  const exact = spec.out === "logits";
  const mm = bias ? `${name}.matmul` : spec.out;
  let y: string, storage: string;
  if (q) {
    y = matMulNBitsLinear(g, x, name, q, W, { accuracyLevel: spec.accuracyLevel, out: mm, exact: exact && !bias });
    storage = `MatMulNBits b${cols / (q.scale.shape[1] as number)}${q.kind === "int" && !q.symmetric ? " +zp" : ""}`;
  } else {
    const Wt = g.f32(`${name}.weight_t`, [cols, rows], transposed(W.data, rows, cols));
    y = g.op("MatMul", [x, Wt], { name: mm, exact: exact && !bias });
    storage = "f32";
  }
  if (bias) y = g.op("Add", [y, g.f32(`${name}.bias`, [rows], bias.data)], { name: spec.out, exact });
  return { y, storage };
}

/** Checks that `q` fits MatMulNBits; returns its block size. */
function blockSizeOf(name: string, q: QuantizedTensor): number {
  const fail = (why: string) =>
    new OnnxDecoderExportError(`onnxLinear: Cannot store "${name}" (${q.formatId}) as MatMulNBits: ${why}`);
  if (q.kind !== "int") throw fail("it is a codebook format, not scale·(q − zero)");
  const bits = q.codeBits ?? q.codes.bits;
  if (bits !== 4) throw fail(`its codes have ${bits} bits; MatMulNBits here holds 4-bit codes`);
  const [rows, cols] = q.shape;
  if (q.scale.shape[0] !== rows) throw fail(`its scales [${q.scale.shape}] are not per row`);
  const G = q.scale.shape[1] as number, b = cols / G;
  if (!(Number.isInteger(b) && b >= 16 && (b & (b - 1)) === 0)) {
    throw fail(`its groups of ${b} columns are no power of two ≥ 16; quantize with groupSize 32 (or 16, 64, 128)`);
  }
  if (q.groupIndex?.some((g, j) => g !== Math.floor(j / b))) {
    throw fail("its act-order group index (g_idx) reorders the groups; use static groups");
  }
  return b;
}

/**
 * Adds `y = x · Ŵᵀ` for the packed weight `q` `[N, K]` to the graph: MatMulNBits (after a `Mul`
 * by the per-column scale when `q` has one).
 *
 * @param g the graph
 * @param x input value `[..., K]`
 * @param name the linear's name (e.g. `model.layers.0.mlp.up_proj`), prefix of its initializers
 * @param q the packed int4 weight `[N, K]`
 * @param evaluated the weight quantlab evaluated, f32 `[N, K]`; the stored blocks must decode to it
 * @param options `accuracyLevel` (MatMulNBits `accuracy_level`, 0: f32 compute), the output's
 *   name `out` (`exact`: that name or an error)
 * @returns the output value `[..., N]`
 * @throws {OnnxDecoderExportError} when `q` cannot be stored exactly (see the module doc)
 */
function matMulNBitsLinear(
  g: OnnxGraphBuilder,
  x: string,
  name: string,
  q: QuantizedTensor,
  evaluated: Tensor<"f32">,
  options: { accuracyLevel: number; out: string; exact?: boolean },
): string {
  const b = blockSizeOf(name, q);
  const [N, K] = q.shape;
  const decoded = dequantize(q).data, want = evaluated.data;
  for (let i = 0; i < want.length; i++) {
    if (decoded[i] !== want[i]) {
      throw new OnnxDecoderExportError(
        `onnxLinear: Cannot store "${name}" as MatMulNBits: its codes decode [${Math.floor(i / K)}, ${i % K}] to ${
          decoded[i]
        } but quantlab evaluated ${want[i]} (the weight carries more than its codes, e.g. LoRC)`,
      );
    }
  }
  // matMulNBitsTensors reads the packed tensor, its row count, bits and name from the ONNX
  // exporter's record; this is that record for a checkpoint linear.
  const record: OnnxQuantized = {
    weight: {
      name,
      source: "initializer",
      op: "MatMul",
      nodes: [],
      inputs: [x],
      onnxShape: [K, N],
      rows: N,
      cols: K,
      groups: 1,
    },
    recipe: "rtn",
    spec: { format: "int", bits: 4, groupSize: b, symmetric: (q as IntQuantized).symmetric },
    q: q as IntQuantized,
    dequantized: evaluated,
  };
  let tensors: ReturnType<typeof matMulNBitsTensors>;
  try {
    tensors = matMulNBitsTensors(record);
  } catch (e) {
    throw new OnnxDecoderExportError(`onnxLinear: Cannot store "${name}": ${(e as Error).message}`, { cause: e });
  }
  const nb = K / b;
  const inputs = [
    x,
    g.initializer(bytesTensorProto(`${name}.qweight`, DataType.UINT8, [N, nb, b / 2], tensors.B)),
    g.initializer(floatTensorProto(`${name}.scales`, [N * nb], tensors.scales)),
  ];
  if (tensors.zeroPoints) {
    inputs.push(
      g.initializer(
        bytesTensorProto(`${name}.qzeros`, DataType.UINT8, [tensors.zeroPoints.length], tensors.zeroPoints),
      ),
    );
  }
  if (q.colScale) {
    inputs[0] = g.op("Mul", [x, g.f32(`${name}.col_scale`, [K], q.colScale.data.slice(0, K))], {
      name: `${name}.scaled_input`,
    });
  }
  return g.op("MatMulNBits", inputs, {
    domain: "com.microsoft",
    name: options.out,
    exact: options.exact ?? false,
    attrs: [
      attr.int("K", K),
      attr.int("N", N),
      attr.int("bits", 4),
      attr.int("block_size", b),
      attr.int("accuracy_level", options.accuracyLevel),
    ],
  });
}
