// SPDX-License-Identifier: MIT
/**
 * Llama-family models in llama.cpp's terms: which llama.cpp architecture runs a
 * {@link LlamaConfig}, its `<arch>.*` metadata, the GGUF tensor names, the Q/K row permutation
 * and the llama3 RoPE factors — as `convert_hf_to_gguf.py` (`LlamaModel`, `TextModel`) and
 * llama.cpp's loaders (`src/models/llama.cpp`, `qwen2.cpp`, `qwen3.cpp`) define them.
 *
 * | model_type | llama.cpp arch | RoPE pairs | refused when |
 * |---|---|---|---|
 * | llama | llama | (2i, 2i+1): q/k rows permuted | — |
 * | mistral | llama | as llama | a sliding window shorter than the context (llama has none) |
 * | qwen2 | qwen2 | (i, i + hd/2): no permutation | sliding window; q width ≠ hidden size |
 * | qwen3 | qwen3 | as qwen2 | sliding window; an o_proj bias (not loaded by llama.cpp) |
 *
 * **Q/K permutation.** transformers' RoPE rotates pairs (i, i + hd/2) (`rotate_half`); llama.cpp's
 * "normal" RoPE for the llama arch rotates adjacent pairs (2i, 2i+1). convert_hf_to_gguf
 * reorders the output rows of q_proj and k_proj within each head so that GGUF row `2i + t` is HF
 * row `t·hd/2 + i` (`permute`: reshape `[heads, 2, hd/2, in]`, swap axes 1 and 2). Only whole rows
 * move, so the quantized blocks (along the input dimension) are moved, not changed.
 *
 * @module
 */
import type { LlamaConfig } from "../model/config.ts";
import type { GgufValue } from "./gguf_writer.ts";

/** A model llama.cpp cannot run as it is, or a tensor that cannot be stored exactly (names the layer). */
export class GgufExportError extends RangeError {
  /** Error name. */
  override name = "GgufExportError";
}

/** How a config maps onto llama.cpp. */
export interface GgufArchitecture {
  /** `general.architecture`. */
  arch: "llama" | "qwen2" | "qwen3";
  /** Whether q_proj/k_proj rows are permuted for llama.cpp's adjacent-pair RoPE. */
  permuteQK: boolean;
}

/** True when some layer uses a sliding window shorter than the context (it would change the function). */
function activeWindow(c: LlamaConfig): boolean {
  return c.slidingWindow !== null && c.slidingWindow < c.maxPositions &&
    c.layerTypes.some((t) => t === "sliding_attention");
}

/**
 * The llama.cpp architecture of a config.
 *
 * @param c the model config
 * @returns arch name and whether Q/K are permuted
 * @throws {GgufExportError} naming the field llama.cpp cannot honour
 */
export function ggufArchitecture(c: LlamaConfig): GgufArchitecture {
  const fn = "ggufArchitecture";
  if (activeWindow(c)) {
    throw new GgufExportError(
      `${fn}: Cannot export ${c.modelType} with sliding_window ${c.slidingWindow} < context ${c.maxPositions}: llama.cpp's ${
        c.modelType === "mistral" ? "llama" : c.modelType
      } architecture has no sliding window, so it would compute a different function`,
    );
  }
  if (c.modelType === "llama" || c.modelType === "mistral") return { arch: "llama", permuteQK: true };
  if (c.modelType === "qwen2") {
    if (c.numHeads * c.headDim !== c.hiddenSize) {
      throw new GgufExportError(
        `${fn}: Cannot export qwen2 with heads·head_dim ${
          c.numHeads * c.headDim
        } ≠ hidden_size ${c.hiddenSize}: llama.cpp's qwen2 loader requires them equal`,
      );
    }
    return { arch: "qwen2", permuteQK: false };
  }
  if (c.modelType === "qwen3") {
    if (c.oBias) {
      throw new GgufExportError(
        `${fn}: Cannot export qwen3 with attention_bias: llama.cpp's qwen3 loads no o_proj bias`,
      );
    }
    return { arch: "qwen3", permuteQK: false };
  }
  throw new GgufExportError(
    `${fn}: Cannot export model_type "${c.modelType}": supported are llama, mistral, qwen2, qwen3`,
  );
}

/**
 * The GGUF name of a Hugging Face tensor name (`model.layers.3.self_attn.q_proj.weight` →
 * `blk.3.attn_q.weight`).
 *
 * @param name Hugging Face name
 * @returns the llama.cpp name
 * @throws {GgufExportError} for a name llama.cpp has no tensor for
 *
 * @example
 * ```ts
 * import { ggufTensorName } from "./gguf_llama.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ggufTensorName("model.layers.3.mlp.down_proj.weight"), "blk.3.ffn_down.weight");
 * assert.equal(ggufTensorName("lm_head.weight"), "output.weight");
 * ```
 */
export function ggufTensorName(name: string): string {
  const fixed: Record<string, string> = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
  };
  if (fixed[name]) return fixed[name];
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(name);
  const parts: Record<string, string> = {
    "input_layernorm": "attn_norm",
    "post_attention_layernorm": "ffn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "self_attn.q_norm": "attn_q_norm",
    "self_attn.k_norm": "attn_k_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
  };
  const part = m ? parts[m[2] as string] : undefined;
  if (!m || !part) {
    throw new GgufExportError(`ggufTensorName: Cannot name tensor "${name}" in GGUF: llama.cpp has no such tensor`);
  }
  return `blk.${m[1]}.${part}.${m[3]}`;
}

/**
 * The Q/K row permutation of convert_hf_to_gguf (see the module doc): GGUF row `r` holds HF row
 * `perm[r]`.
 *
 * @param rows rows of the projection (heads·hd)
 * @param heads heads of the projection (num_attention_heads for q, num_key_value_heads for k)
 * @returns `perm` i32 `[rows]`
 *
 * @example
 * ```ts
 * import { ropeRowPermutation } from "./gguf_llama.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...ropeRowPermutation(8, 2)], [0, 2, 1, 3, 4, 6, 5, 7]); // hd = 4: rows (0,2),(1,3) pair up
 * ```
 */
export function ropeRowPermutation(rows: number, heads: number): Int32Array {
  const hd = rows / heads, half = hd / 2;
  if (!Number.isInteger(hd) || hd % 2 !== 0) {
    throw new RangeError(`ropeRowPermutation: Cannot split ${rows} rows into ${heads} heads of even size`);
  }
  const perm = new Int32Array(rows);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let t = 0; t < 2; t++) perm[h * hd + 2 * i + t] = h * hd + t * half + i;
    }
  }
  return perm;
}

/**
 * Rows of a row-major byte matrix reordered: output row `r` is input row `perm[r]`.
 *
 * @param bytes `[rows · rowBytes]`
 * @param rowBytes bytes per row (a whole number of blocks)
 * @param perm i32 `[rows]`
 * @returns the permuted copy
 */
export function permuteRows(bytes: Uint8Array, rowBytes: number, perm: Int32Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let r = 0; r < perm.length; r++) {
    const src = (perm[r] as number) * rowBytes;
    out.set(bytes.subarray(src, src + rowBytes), r * rowBytes);
  }
  return out;
}

/**
 * llama3 RoPE frequency factors (`rope_freqs.weight`, f32 `[hd/2]`): llama.cpp divides each base
 * frequency by its factor. Computed as convert_hf_to_gguf's `generate_extra_tensors` does, in f32.
 *
 * @param c the config
 * @returns the factors, or null when the config has no llama3 scaling
 */
export function llama3RopeFactors(c: LlamaConfig): Float32Array | null {
  const s = c.ropeScaling;
  if (s?.type !== "llama3") return null;
  const f = Math.fround, dim = c.headDim, out = new Float32Array(dim / 2);
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor, highWavelen = s.originalMaxPositions / s.highFreqFactor;
  for (let i = 0; i < dim / 2; i++) {
    const freq = f(1 / f(Math.pow(f(c.ropeTheta), f(f(2 * i) / dim))));
    const wavelen = f((2 * Math.PI) / freq);
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = s.factor;
    else {
      const smooth = f((f(s.originalMaxPositions / wavelen) - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
      out[i] = f(1 / f(f((1 - smooth) / s.factor) + smooth));
    }
  }
  return out;
}

/** llama.cpp's `llama_ftype` of a file whose 2-D weights are mostly of one type. */
export const LLAMA_FTYPE: Readonly<Record<"F32" | "F16" | "Q4_0" | "Q4_1" | "Q8_0", number>> = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q8_0: 7,
};

/**
 * The `general.*` and `<arch>.*` metadata of a model.
 *
 * @param c the config
 * @param options `name` (general.name), `fileType` (the dominant ggml type of the 2-D weights)
 * @returns key/value pairs, `general.architecture` first
 * @throws {GgufExportError} when llama.cpp cannot run the config (see {@link ggufArchitecture})
 */
export function ggufModelMetadata(
  c: LlamaConfig,
  options: { name?: string; fileType: keyof typeof LLAMA_FTYPE },
): [string, GgufValue][] {
  const { arch } = ggufArchitecture(c);
  const u32 = (value: number): GgufValue => ({ type: "uint32", value });
  const f32 = (value: number): GgufValue => ({ type: "float32", value });
  const kv: [string, GgufValue][] = [
    ["general.architecture", { type: "string", value: arch }],
    ["general.type", { type: "string", value: "model" }],
  ];
  if (options.name) kv.push(["general.name", { type: "string", value: options.name }]);
  kv.push(
    ["general.file_type", u32(LLAMA_FTYPE[options.fileType])],
    ["general.quantization_version", u32(2)], // GGML_QNT_VERSION
    [`${arch}.vocab_size`, u32(c.vocabSize)],
    [`${arch}.context_length`, u32(c.maxPositions)],
    [`${arch}.embedding_length`, u32(c.hiddenSize)],
    [`${arch}.block_count`, u32(c.numLayers)],
    [`${arch}.feed_forward_length`, u32(c.intermediateSize)],
    [`${arch}.attention.head_count`, u32(c.numHeads)],
    [`${arch}.attention.head_count_kv`, u32(c.numKvHeads)],
    [`${arch}.attention.key_length`, u32(c.headDim)],
    [`${arch}.attention.value_length`, u32(c.headDim)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(c.rmsNormEps)],
    [`${arch}.rope.freq_base`, f32(c.ropeTheta)],
    [`${arch}.rope.dimension_count`, u32(c.headDim)],
  );
  const s = c.ropeScaling;
  if (s?.type === "linear") {
    kv.push([`${arch}.rope.scaling.type`, { type: "string", value: "linear" }]);
    kv.push([`${arch}.rope.scaling.factor`, f32(s.factor)]);
  } else if (s?.type === "llama3" && arch !== "llama") {
    throw new GgufExportError(
      `ggufModelMetadata: Cannot export llama3 RoPE scaling for ${arch}: llama.cpp reads rope_freqs only for llama`,
    );
  }
  return kv;
}
