// SPDX-License-Identifier: MIT
/**
 * Runs a causal-LM ONNX file (input `input_ids` int64 `[B, T]`, output `logits` f32
 * `[B, T, vocab]`) in onnxruntime-web (wasm backend) as a {@link LogitsFn}, so that the
 * exported model is evaluated with exactly the same protocol as our own forward pass.
 *
 * @module
 */
import * as ort from "onnxruntime-web";
import { Tensor } from "../tensor/tensor.ts";
import type { LogitsFn } from "./perplexity.ts";

/** An ONNX language model session. */
export interface OnnxLm {
  /** Logits of B windows of T tokens. */
  logits: LogitsFn;
  /** The graph's input names (the first one takes the token ids). */
  readonly inputNames: readonly string[];
  /** The graph's output names (the first one gives the logits). */
  readonly outputNames: readonly string[];
  /** Frees the session. */
  release(): Promise<void>;
}

/**
 * Opens an ONNX causal LM with onnxruntime-web on the wasm backend (single-threaded, so results
 * are deterministic).
 *
 * @param source the `.onnx` file, or the model's bytes (e.g. a quantized export held in memory)
 * @throws Error naming the file when it cannot be read or is not a valid ONNX model
 */
export async function openOnnxLm(source: string | Uint8Array, options: { threads?: number } = {}): Promise<OnnxLm> {
  ort.env.wasm.numThreads = options.threads ?? 1;
  let bytes: Uint8Array;
  const path = typeof source === "string" ? source : `<${source.length} bytes>`;
  if (typeof source !== "string") {
    bytes = source;
  } else {
    try {
      bytes = await Deno.readFile(source);
    } catch (e) {
      throw new Error(`openOnnxLm: Cannot read ONNX model "${path}"`, { cause: e });
    }
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  } catch (e) {
    throw new Error(`openOnnxLm: Cannot load "${path}" as an ONNX model (${(e as Error).message})`, { cause: e });
  }
  const input = session.inputNames[0], output = session.outputNames[0];
  if (input === undefined || output === undefined) {
    throw new TypeError(`openOnnxLm: Cannot use "${path}": it needs one input (token ids) and one output (logits)`);
  }
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async logits(ids: Int32Array, seqLen: number): Promise<Tensor<"f32">> {
      const B = ids.length / seqLen;
      const feed = new ort.Tensor("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [B, seqLen]);
      const out = (await session.run({ [input]: feed }))[output];
      if (!out || out.type !== "float32" || out.dims.length !== 3) {
        throw new TypeError(
          `openOnnxLm: Cannot read output "${output}" of "${path}": expected float32 [B, T, vocab], got ${out?.type} [${out?.dims}]`,
        );
      }
      const V = out.dims[2] as number;
      const t = new Tensor("f32", [B * seqLen, V], (out.data as Float32Array).slice());
      out.dispose();
      feed.dispose();
      return t;
    },
    release: () => session.release(),
  };
}
