// SPDX-License-Identifier: MIT
/**
 * Runs a causal-LM ONNX file (input `input_ids` int64 `[B, T]`, output `logits` f32
 * `[B, T, vocab]`) in onnxruntime-web (wasm backend) as a {@link LogitsFn}, so that the
 * exported model is evaluated with exactly the same protocol as our own forward pass.
 * A decoder with KV cache (transformers.js layout: `attention_mask`, `position_ids`,
 * `past_key_values.N.key/value`) gets a mask of ones, positions 0..T−1 and an empty cache.
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
      const feeds = { [input]: feed, ...decoderFeeds(session, B, seqLen) };
      const out = (await session.run(feeds))[output];
      if (!out || out.type !== "float32" || out.dims.length !== 3) {
        throw new TypeError(
          `openOnnxLm: Cannot read output "${output}" of "${path}": expected float32 [B, T, vocab], got ${out?.type} [${out?.dims}]`,
        );
      }
      const V = out.dims[2] as number;
      const t = new Tensor("f32", [B * seqLen, V], (out.data as Float32Array).slice());
      out.dispose();
      for (const f of Object.values(feeds)) f.dispose();
      return t;
    },
    release: () => session.release(),
  };
}

/** The other inputs of a KV-cache decoder for B windows of T tokens from position 0 (none for a plain LM). */
function decoderFeeds(session: ort.InferenceSession, B: number, T: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const meta of session.inputMetadata) {
    if (meta.name === "attention_mask") {
      feeds[meta.name] = new ort.Tensor("int64", new BigInt64Array(B * T).fill(1n), [B, T]);
    } else if (meta.name === "position_ids") {
      feeds[meta.name] = new ort.Tensor("int64", BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % T)), [
        B,
        T,
      ]);
    } else if (meta.name.startsWith("past_key_values.") && meta.isTensor) {
      // [batch, heads, past, hd]: the batch dimension is B, the other symbolic one (past) is 0
      const shape = meta.shape.map((d, i) => (typeof d === "number" ? d : i === 0 ? B : 0));
      feeds[meta.name] = new ort.Tensor("float32", new Float32Array(0), shape);
    }
  }
  return feeds;
}
