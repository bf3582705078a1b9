// SPDX-License-Identifier: MIT
/**
 * A small builder of ONNX graphs written from scratch (no source model to edit): nodes with
 * generated output names, initializers, shared integer/float constants, typed graph inputs and
 * outputs with symbolic dimensions, and the final `ModelProto`. The decoder exporter
 * (onnx_decoder.ts) describes the Llama graph with it, one subgraph per concept.
 *
 * @module
 */
import { type AttributeProto, DataType, type ModelProto, type NodeProto, type TensorProto } from "../onnx/proto.ts";
import type { ValueInfoProto } from "../onnx/proto.ts";
import { floatTensorProto, int64TensorProto } from "../onnx/tensor_proto.ts";

/** A dimension of a graph input or output: a fixed size, or a symbolic name (e.g. `batch_size`). */
export type OnnxDim = number | string;

/** A typed tensor value info (graph input or output) with fixed and symbolic dimensions. */
export function tensorValueInfo(name: string, elemType: number, dims: readonly OnnxDim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Options of {@link OnnxGraphBuilder.op}. */
export interface OpOptions {
  /** Node attributes. */
  attrs?: AttributeProto[];
  /** Operator domain (`com.microsoft` for contrib ops; default ai.onnx). */
  domain?: string;
  /** Name of the output (made unique with a suffix unless `exact`). */
  name?: string;
  /** The output must be called exactly `name` (a graph output). */
  exact?: boolean;
}

/** Builds the nodes and initializers of one graph (see the module doc). */
export class OnnxGraphBuilder {
  /** Nodes in topological order (each node is added after its inputs exist). */
  readonly nodes: NodeProto[] = [];
  /** Initializers (weights and constants). */
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();
  private count = 0;

  /**
   * A name not used yet: `base` itself when free, else `base_N`; with `exact` (graph inputs and
   * outputs, whose names are an interface) `base` or an error.
   */
  fresh(base: string, exact = false): string {
    if (exact && this.used.has(base)) {
      throw new RangeError(`OnnxGraphBuilder.fresh: Cannot name a graph value "${base}": the name is taken`);
    }
    let name = base;
    while (this.used.has(name)) name = `${base}_${++this.count}`;
    this.used.add(name);
    return name;
  }

  /**
   * Adds a node with one output.
   *
   * @param opType operator, e.g. `MatMul`
   * @param inputs input value names (`""` for an omitted optional input)
   * @param options `attrs`, `domain` (`com.microsoft` for contrib ops), `name` of the output
   *   (exactly that name with `exact`)
   * @returns the output's name
   */
  op(opType: string, inputs: readonly string[], options: OpOptions = {}): string {
    return this.opN(opType, inputs, 1, options)[0] as string;
  }

  /**
   * Adds a node with `nOutputs` outputs (Split).
   *
   * @returns the output names
   */
  opN(opType: string, inputs: readonly string[], nOutputs: number, options: OpOptions = {}): string[] {
    const base = options.name ?? opType;
    const output = Array.from(
      { length: nOutputs },
      (_, i) => this.fresh(nOutputs === 1 ? base : `${base}.${i}`, options.exact),
    );
    this.nodes.push({
      opType,
      input: [...inputs],
      output,
      name: `node:${output[0]}`,
      attribute: options.attrs ?? [],
      ...(options.domain !== undefined && { domain: options.domain }),
    });
    return output;
  }

  /** Adds an initializer; returns its name (which must be unused). */
  initializer(t: TensorProto): string {
    const name = t.name as string;
    if (this.used.has(name)) throw new RangeError(`OnnxGraphBuilder.initializer: Cannot add "${name}" twice`);
    this.used.add(name);
    this.initializers.push(t);
    return name;
  }

  /** An f32 initializer `name` of shape `dims`. */
  f32(name: string, dims: readonly number[], data: Float32Array): string {
    return this.initializer(floatTensorProto(name, dims, data));
  }

  /** A shared INT64 constant (1-D of the values, or a scalar with `scalar: true`). */
  i64(values: readonly number[], scalar = false): string {
    const key = `i64:${scalar ? "s" : "v"}:${values.join(",")}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh(`const_i64_${scalar ? "" : "v"}${values.join("_").replaceAll("-", "m")}`);
      this.initializers.push(int64TensorProto(name, scalar ? [] : [values.length], values));
      this.constants.set(key, name);
    }
    return name;
  }

  /** A shared f32 scalar constant. */
  scalar(value: number): string {
    const key = `f32:${Math.fround(value)}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh(`const_f32_${this.constants.size}`);
      this.initializers.push(floatTensorProto(name, [], Float32Array.of(value)));
      this.constants.set(key, name);
    }
    return name;
  }

  /**
   * The finished model.
   *
   * @param graph `name`, graph `inputs` and `outputs`, operator sets (`""` for ai.onnx)
   * @returns the `ModelProto` (serialize with `serializeOnnx`)
   */
  toModel(graph: {
    name: string;
    inputs: ValueInfoProto[];
    outputs: ValueInfoProto[];
    opsets: Record<string, number>;
    docString?: string;
  }): ModelProto {
    return {
      irVersion: 8, // ai.onnx opset 18 pairs with IR version 8
      opsetImport: Object.entries(graph.opsets).map(([domain, version]) => ({ domain, version })),
      producerName: "quantlab",
      producerVersion: "0.1.0",
      ...(graph.docString !== undefined && { docString: graph.docString }),
      graph: {
        name: graph.name,
        node: this.nodes,
        initializer: this.initializers,
        input: graph.inputs,
        output: graph.outputs,
      },
    };
  }
}

/** Element types of the decoder's inputs and outputs. */
export const ELEM = { f32: DataType.FLOAT, i64: DataType.INT64, bool: DataType.BOOL } as const;
