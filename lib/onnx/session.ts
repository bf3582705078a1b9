// SPDX-License-Identifier: MIT
/**
 * Running an ONNX model in onnxruntime-web (wasm backend, one thread so that results are
 * deterministic), with quantlab Tensors in and out, optionally exposing intermediate values
 * as extra graph outputs (how calibration captures a layer's input).
 *
 * @module
 */
import * as ort from "onnxruntime-web";
import { Tensor } from "../tensor/tensor.ts";
import { cloneModel, type OnnxModel, serializeOnnx } from "./load.ts";
import { floatValueInfo } from "./tensor_proto.ts";

/** An input value: an f32 tensor, or int64 ids given as an i32 tensor (`int64: true`). */
export type OnnxFeed = Tensor<"f32"> | { int64: Tensor<"i32"> };

/** An open onnxruntime-web session. */
export interface OnnxSession {
  /** The graph's input names. */
  readonly inputNames: readonly string[];
  /** The graph's output names. */
  readonly outputNames: readonly string[];
  /** Runs the model; returns the f32 outputs (all outputs, or those named). */
  run(feeds: Record<string, OnnxFeed>, outputs?: readonly string[]): Promise<Map<string, Tensor<"f32">>>;
  /** Frees the session. */
  release(): Promise<void>;
}

/** Options of {@link openSession}. */
export interface OpenSessionOptions {
  /** Intermediate values to expose as extra outputs (f32 tensors). */
  extraOutputs?: readonly string[];
  /** wasm threads (default 1). */
  threads?: number;
  /** Label for error messages. */
  source?: string;
}

/**
 * Opens a model (parsed, or raw bytes) in onnxruntime-web.
 *
 * @throws Error naming the model when onnxruntime cannot load it
 */
export async function openSession(
  model: OnnxModel | Uint8Array,
  options: OpenSessionOptions = {},
): Promise<OnnxSession> {
  ort.env.wasm.numThreads = options.threads ?? 1;
  let bytes: Uint8Array;
  const extra = options.extraOutputs ?? [];
  const source = options.source ?? (model instanceof Uint8Array ? "<bytes>" : model.source);
  if (model instanceof Uint8Array) {
    if (extra.length > 0) throw new TypeError("openSession: extraOutputs need a parsed model, not bytes");
    bytes = model;
  } else if (extra.length > 0) {
    const m = cloneModel(model);
    const have = new Set(m.graph.output.map((o) => o.name));
    for (const name of extra) if (!have.has(name)) m.graph.output.push(floatValueInfo(name));
    bytes = serializeOnnx(m);
  } else {
    bytes = serializeOnnx(model);
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  } catch (e) {
    throw new Error(`openSession: onnxruntime-web cannot load "${source}": ${(e as Error).message}`, { cause: e });
  }
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds, outputs) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, v] of Object.entries(feeds)) {
        ortFeeds[name] = v instanceof Tensor
          ? new ort.Tensor("float32", v.data, [...v.shape])
          : new ort.Tensor("int64", BigInt64Array.from(v.int64.data, (x) => BigInt(x)), [...v.int64.shape]);
      }
      let res: ort.InferenceSession.OnnxValueMapType;
      try {
        res = outputs ? await session.run(ortFeeds, [...outputs]) : await session.run(ortFeeds);
      } catch (e) {
        throw new Error(`OnnxSession.run: "${source}" failed: ${(e as Error).message}`, { cause: e });
      }
      const out = new Map<string, Tensor<"f32">>();
      for (const [name, t] of Object.entries(res)) {
        if (t.type === "float32") out.set(name, new Tensor("f32", [...t.dims], (t.data as Float32Array).slice()));
        t.dispose();
      }
      for (const t of Object.values(ortFeeds)) t.dispose();
      return out;
    },
    release: () => session.release(),
  };
}
