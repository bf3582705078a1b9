// SPDX-License-Identifier: MIT
/**
 * Finding the weights of an ONNX graph's MatMul, Gemm and Conv nodes, reading them in quantlab's
 * `[out, in]` convention, and writing replacement weights back in the ONNX layout.
 *
 * Layouts (ONNX → quantlab `[rows = out, cols = in]`):
 * - `MatMul(A, B)`, B `[K, N]` (in × out): **transposed**, W = Bᵀ `[N, K]`;
 * - `Gemm(A, B)`, B `[K, N]`, or `[N, K]` with `transB = 1` (then used as is);
 * - `Conv(X, W)`, W `[out, in/group, kh, kw]`: flattened to `[out, in/group·kh·kw]` with column
 *   `c·kh·kw + i·kw + j` (the im2col order of {@link ../onnx/capture.ts}); output channels
 *   `[g·out/group, (g+1)·out/group)` read only input channels of conv group g.
 *
 * A weight is a graph initializer or the output of a `Constant` node, consumed as the weight
 * input of at least one such node (several consumers share one entry, e.g. tied weights).
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { transpose } from "../tensor/manip.ts";
import { cloneModel, type OnnxModel } from "./load.ts";
import type { NodeProto, TensorProto } from "./proto.ts";
import { floatTensorFromProto, floatTensorProto, getAttr, intAttr, intsAttr, protoDims } from "./tensor_proto.ts";

/** Which op a weight feeds. */
export type WeightOp = "MatMul" | "Gemm" | "Conv";

/** Conv geometry (2-D). */
export interface ConvGeometry {
  /** Kernel `[kh, kw]`. */
  kernel: [number, number];
  /** Strides `[sh, sw]`. */
  strides: [number, number];
  /** `[top, left, bottom, right]`. */
  pads: [number, number, number, number];
  /** Dilations `[dh, dw]`. */
  dilations: [number, number];
  /** Number of groups (input and output channels split into `group` independent convolutions). */
  group: number;
}

/** A quantizable weight of an ONNX graph. */
export interface OnnxWeight {
  /** The value name (initializer or Constant output). */
  name: string;
  /** Where the data lives. */
  source: "initializer" | "constant";
  /** The op type consuming it. */
  op: WeightOp;
  /** Consuming node names (≥ 1). */
  nodes: string[];
  /** Activation inputs of the consuming nodes (what calibration captures). */
  inputs: string[];
  /** The weight's ONNX shape. */
  onnxShape: number[];
  /** quantlab shape: out features. */
  rows: number;
  /** quantlab shape: in features (· kh·kw for Conv). */
  cols: number;
  /** Conv groups (1 for MatMul/Gemm): rows and input channels split into this many blocks. */
  groups: number;
  /** Gemm: B is stored `[N, K]`. */
  transB?: boolean;
  /** Gemm: A is given `[K, M]`. */
  transA?: boolean;
  /** Conv geometry. */
  conv?: ConvGeometry;
}

/** Options of {@link findWeights}. */
export interface FindWeightsOptions {
  /** Which ops to look at (default all three). */
  ops?: readonly WeightOp[];
  /** Smallest number of elements to report (default 1). */
  minSize?: number;
}

/** Looks up a value: the initializer, or the Constant node's tensor. */
export function lookupTensor(
  model: OnnxModel,
  name: string,
): { proto: TensorProto; source: "initializer" | "constant" } | undefined {
  const init = model.graph.initializer.find((t) => t.name === name);
  if (init) return { proto: init, source: "initializer" };
  const node = model.graph.node.find((n) => n.opType === "Constant" && n.output[0] === name);
  const t = node ? getAttr(node, "value")?.t : undefined;
  return t ? { proto: t, source: "constant" } : undefined;
}

function convGeometry(node: NodeProto, wShape: number[]): ConvGeometry {
  const k = intsAttr(node, "kernel_shape", wShape.slice(2));
  const autoPad = getAttr(node, "auto_pad");
  const ap = autoPad?.s ? new TextDecoder().decode(autoPad.s) : "NOTSET";
  if (ap !== "NOTSET" && ap !== "VALID") {
    throw new TypeError(
      `findWeights: Cannot read Conv "${node.name}": auto_pad ${ap} is not supported (use explicit pads)`,
    );
  }
  const pads = intsAttr(node, "pads", [0, 0, 0, 0]);
  return {
    kernel: [k[0] as number, k[1] as number],
    strides: intsAttr(node, "strides", [1, 1]) as [number, number],
    pads: pads as [number, number, number, number],
    dilations: intsAttr(node, "dilations", [1, 1]) as [number, number],
    group: intAttr(node, "group", 1),
  };
}

/**
 * Finds the weights of MatMul (constant B of rank 2), Gemm (constant B) and 2-D Conv nodes.
 *
 * @returns one entry per weight value, in graph order
 */
export function findWeights(model: OnnxModel, options: FindWeightsOptions = {}): OnnxWeight[] {
  const ops = new Set(options.ops ?? ["MatMul", "Gemm", "Conv"]);
  const found = new Map<string, OnnxWeight>();
  for (const node of model.graph.node) {
    const op = node.opType as WeightOp;
    if (!ops.has(op) || (node.domain ?? "") !== "") continue;
    const name = node.input[1];
    if (name === undefined) continue;
    const t = lookupTensor(model, name);
    if (!t) continue; // activation × activation (attention scores): not a weight
    const shape = protoDims(t.proto);
    const size = shape.reduce((a, b) => a * b, 1);
    if (size < (options.minSize ?? 1)) continue;
    const prev = found.get(name);
    if (prev) {
      prev.nodes.push(node.name ?? "");
      prev.inputs.push(node.input[0] as string);
      continue;
    }
    let w: OnnxWeight | undefined;
    const base = {
      name,
      source: t.source,
      op,
      nodes: [node.name ?? ""],
      inputs: [node.input[0] as string],
      onnxShape: shape,
    };
    if (op === "MatMul" && shape.length === 2) {
      w = { ...base, rows: shape[1] as number, cols: shape[0] as number, groups: 1 };
    } else if (op === "Gemm" && shape.length === 2) {
      const transB = intAttr(node, "transB", 0) === 1;
      const transA = intAttr(node, "transA", 0) === 1;
      w = {
        ...base,
        rows: (transB ? shape[0] : shape[1]) as number,
        cols: (transB ? shape[1] : shape[0]) as number,
        groups: 1,
        transB,
        transA,
      };
    } else if (op === "Conv" && shape.length === 4) {
      const conv = convGeometry(node, shape);
      const [o, ci, kh, kw] = shape as [number, number, number, number];
      w = { ...base, rows: o, cols: ci * kh * kw, groups: conv.group, conv };
    }
    if (w) found.set(name, w);
  }
  return [...found.values()];
}

/**
 * Reads a weight as f32 `[rows, cols]` in quantlab's `[out, in]` convention (MatMul weights are
 * transposed; Conv weights flattened).
 */
export function readWeight(model: OnnxModel, w: OnnxWeight): Tensor<"f32"> {
  const t = lookupTensor(model, w.name);
  if (!t) throw new RangeError(`readWeight: Cannot find weight "${w.name}" in "${model.source}"`);
  const onnx = floatTensorFromProto(t.proto, "readWeight");
  const transposed = w.op === "MatMul" || (w.op === "Gemm" && !w.transB);
  return transposed
    ? transpose(new Tensor("f32", [w.cols, w.rows], onnx.data))
    : new Tensor("f32", [w.rows, w.cols], onnx.data);
}

/** Converts W `[rows, cols]` back to the weight's ONNX layout (data only; shape `w.onnxShape`). */
export function toOnnxLayout(w: OnnxWeight, W: Tensor<"f32">): Tensor<"f32"> {
  if (W.shape[0] !== w.rows || W.shape[1] !== w.cols) {
    throw new TypeError(
      `toOnnxLayout: Cannot store a weight of shape [${
        W.shape.join(", ")
      }] as "${w.name}": expected [${w.rows}, ${w.cols}]`,
    );
  }
  const transposed = w.op === "MatMul" || (w.op === "Gemm" && !w.transB);
  const data = transposed ? transpose(W).data : W.data;
  return new Tensor("f32", w.onnxShape, data);
}

/** Replaces the data of a weight value in a model (initializer or Constant) by a tensor proto. */
export function setWeightProto(model: OnnxModel, name: string, proto: TensorProto): void {
  const g = model.graph;
  const i = g.initializer.findIndex((t) => t.name === name);
  if (i >= 0) {
    g.initializer[i] = { ...proto, name };
    return;
  }
  const k = g.node.findIndex((n) => n.opType === "Constant" && n.output[0] === name);
  const node = g.node[k];
  if (!node) throw new RangeError(`setWeightProto: Cannot find weight "${name}" in "${model.source}"`);
  g.node[k] = {
    ...node,
    attribute: (node.attribute ?? []).map((a) =>
      a.name === "value" ? { ...a, t: { ...proto, name: a.t?.name ?? name } } : a
    ),
  };
}

/**
 * A copy of the model with some weights replaced (f32, same shape): the fake-quantized export.
 *
 * @param weights name → f32 `[rows, cols]` in quantlab's convention
 */
export function replaceWeights(model: OnnxModel, weights: ReadonlyMap<string, Tensor<"f32">>): OnnxModel {
  const all = new Map(findWeights(model).map((w) => [w.name, w]));
  const out = cloneModel(model);
  for (const [name, W] of weights) {
    const w = all.get(name);
    if (!w) {
      throw new RangeError(
        `replaceWeights: Cannot replace "${name}": it is not a MatMul/Gemm/Conv weight of "${model.source}"`,
      );
    }
    const onnx = toOnnxLayout(w, W);
    setWeightProto(out, name, floatTensorProto(name, w.onnxShape, onnx.data));
  }
  return out;
}
