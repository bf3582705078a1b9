// SPDX-License-Identifier: MIT
/**
 * A Llama-family model (Llama, Mistral, Qwen2, Qwen3) as an ONNX decoder with KV cache in the
 * layout transformers.js runs for `llama`-style models (the inputs and outputs optimum's
 * `text-generation-with-past` export gives them):
 *
 * | name | type | shape |
 * |---|---|---|
 * | `input_ids` | int64 | `[batch_size, sequence_length]` |
 * | `attention_mask` | int64 | `[batch_size, total_sequence_length]` (past + new; 0 = padding) |
 * | `position_ids` | int64 | `[batch_size, sequence_length]` |
 * | `past_key_values.N.key` / `.value` | f32 | `[batch_size, KV, past_sequence_length, hd]` |
 * | → `logits` | f32 | `[batch_size, sequence_length, vocab]` |
 * | → `present.N.key` / `.value` | f32 | `[batch_size, KV, total_sequence_length, hd]` |
 *
 * KV heads and hd are fixed numbers and the batch dimension is called `batch_size`: transformers.js
 * builds the empty cache of the first step from these declared shapes. The graph computes
 * quantlab's forward pass (lib/model/llama.ts) with plain operators (`_onnx_llama_ops.ts`): RMSNorm,
 * RoPE from `position_ids` with the inverse frequencies of rope.ts baked in (so linear and
 * llama3 scaling need nothing at run time), the causal + padding (+ sliding-window) mask from
 * `attention_mask`, grouped-query attention, SwiGLU, biases and Qwen3's q/k norms as configured.
 *
 * Weights: the model's f32 weights as they are (fake-quantized ones included), or with
 * `quantized` every decoder linear as `MatMulNBits` from quantlab's packed int4 codes, scales and
 * zero points (`_onnx_linear.ts`), checked to decode exactly to the evaluated weights.
 * {@link writeOnnxDecoder} writes the whole folder transformers.js loads.
 *
 * @module
 */
import type { LlamaModel } from "../model/llama.ts";
import { attentionWindow, hasBias } from "../model/config.ts";
import { ropeInvFreq } from "../model/rope.ts";
import type { QuantizedTensor } from "../quant/quantized_tensor.ts";
import { onlineSteps } from "../rotate/hooked_model.ts";
import { serializeOnnx } from "../onnx/load.ts";
import { attr } from "../onnx/tensor_proto.ts";
import { atomicDir, copySideFiles, exportConfig, modelSourceDir } from "./hf_files.ts";
import { type TokenizerFiles, tokenizerFilesFromDir } from "./tokenizer_files.ts";
import { ELEM, OnnxGraphBuilder, tensorValueInfo } from "./_onnx_graph.ts";
import { checkPackedNames, OnnxDecoderExportError, onnxLinear } from "./_onnx_linear.ts";
import {
  onnxApplyRope,
  onnxAttention,
  onnxAttentionMask,
  onnxRmsNorm,
  onnxRopeTables,
  onnxSwiglu,
} from "./_onnx_llama_ops.ts";

export { OnnxDecoderExportError };

/** Options of {@link buildOnnxDecoder}. */
export interface OnnxDecoderOptions {
  /**
   * Packed int4 linears by name without `.weight` (e.g. `applyRecipe(...).quantized`): every
   * decoder linear (and lm_head when present) is written as MatMulNBits. Absent: f32 MatMul.
   */
  quantized?: ReadonlyMap<string, QuantizedTensor>;
  /** MatMulNBits `accuracy_level` (default 0: f32 compute, so the logits match quantlab's). */
  accuracyLevel?: number;
}

/** An exported decoder. */
export interface OnnxDecoder {
  /** The serialized model. */
  bytes: Uint8Array;
  /** Graph input names, in order. */
  inputNames: string[];
  /** Graph output names, in order (`logits` first). */
  outputNames: string[];
  /** How each linear was stored: `f32` or `MatMulNBits b<block>[ +zp]`. */
  linears: Map<string, string>;
}

/** protobuf messages (an ONNX file without external data) cannot exceed 2 GiB. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

/**
 * Builds the decoder graph of `model` (see the module doc).
 *
 * @param model the model (for an exact q4 export, the quantized model whose weights were evaluated)
 * @param options `quantized` for MatMulNBits linears, `accuracyLevel`
 * @returns the serialized model, its input/output names and each linear's storage
 * @throws {OnnxDecoderExportError} for online steps, a missing packed linear, a weight that does
 *   not map exactly onto MatMulNBits, or a model over protobuf's 2 GiB
 *
 * @example Greedy next token from onnxruntime-web
 * ```ts ignore
 * const dec = buildOnnxDecoder(await loadLlama(BUNDLED_MODEL_DIR));
 * assert.deepEqual(dec.outputNames.slice(0, 2), ["logits", "present.0.key"]);
 * ```
 */
export function buildOnnxDecoder(model: LlamaModel, options: OnnxDecoderOptions = {}): OnnxDecoder {
  const fn = "buildOnnxDecoder", c = model.config, { quantized } = options;
  const steps = onlineSteps(model);
  if (steps.length > 0) {
    throw new OnnxDecoderExportError(
      `${fn}: Cannot export "${model.source}": it runs ${
        steps.join(" and ")
      } that the ONNX graph would skip; rotate without online steps (quarotRotate r3: false, r4: false)`,
    );
  }
  if (quantized) checkPackedNames(c, quantized);
  const g = new OnnxGraphBuilder();
  const H = c.numHeads, KV = c.numKvHeads, hd = c.headDim, d = c.hiddenSize;
  const [inputIds, attentionMask, positionIds] = ["input_ids", "attention_mask", "position_ids"].map((n) =>
    g.fresh(n, true)
  );
  const inputs = [
    tensorValueInfo(inputIds!, ELEM.i64, ["batch_size", "sequence_length"]),
    tensorValueInfo(attentionMask!, ELEM.i64, ["batch_size", "total_sequence_length"]),
    tensorValueInfo(positionIds!, ELEM.i64, ["batch_size", "sequence_length"]),
  ];
  const outputs = [tensorValueInfo("logits", ELEM.f32, ["batch_size", "sequence_length", c.vocabSize])];
  const linears = new Map<string, string>();
  const weight = (name: string) => model.weight(name);
  const linear = (name: string, x: string, out = `${name}.out`): string => {
    const q = quantized?.get(name), accuracyLevel = options.accuracyLevel ?? 0;
    const bias = hasBias(c, name) ? weight(`${name}.bias`) : undefined;
    const r = onnxLinear(g, x, {
      name,
      W: weight(`${name}.weight`),
      ...(bias && { bias }),
      ...(q && { q }),
      accuracyLevel,
      out,
    });
    linears.set(name, r.storage);
    return r.y;
  };
  const norm = (x: string, name: string) =>
    onnxRmsNorm(g, x, g.f32(name, [...weight(name).shape], weight(name).data), c.rmsNormEps, `${name}.out`);

  const embed = g.f32("model.embed_tokens.weight", [c.vocabSize, d], weight("model.embed_tokens.weight").data);
  let hidden = g.op("Gather", [embed, inputIds!], { name: "model.embed_tokens.out" }); // [B, S, d]
  const invFreq = g.f32("rope.inv_freq", [hd / 2], ropeInvFreq(hd, c.ropeTheta, c.ropeScaling));
  const rope = onnxRopeTables(g, positionIds!, invFreq, hd / 2);
  const masks = new Map<number | null, string>();
  const toHeads = (x: string, heads: number, normName?: string) => {
    let y = g.op("Reshape", [x, g.i64([0, 0, heads, hd])]); // [B, S, heads, hd]
    if (normName) y = norm(y, normName); // Qwen3: per-head RMSNorm before RoPE
    return g.op("Transpose", [y], { attrs: [attr.ints("perm", [0, 2, 1, 3])] }); // [B, heads, S, hd]
  };
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`, a = `${p}.self_attn`;
    const win = attentionWindow(c, l);
    if (!masks.has(win)) masks.set(win, onnxAttentionMask(g, inputIds!, attentionMask!, win));
    const x = norm(hidden, `${p}.input_layernorm.weight`);
    const rotated = (qk: "q" | "k", heads: number) =>
      onnxApplyRope(
        g,
        toHeads(linear(`${a}.${qk}_proj`, x), heads, c.qkNorm ? `${a}.${qk}_norm.weight` : undefined),
        rope,
        `${a}.${qk}_rope`,
      );
    const q = rotated("q", H), kNew = rotated("k", KV);
    const vNew = toHeads(linear(`${a}.v_proj`, x), KV);
    const cache = (kind: "key" | "value", fresh: string) => {
      const past = g.fresh(`past_key_values.${l}.${kind}`, true);
      inputs.push(tensorValueInfo(past, ELEM.f32, ["batch_size", KV, "past_sequence_length", hd]));
      const present = g.op("Concat", [past, fresh], {
        attrs: [attr.int("axis", 2)],
        name: `present.${l}.${kind}`,
        exact: true,
      });
      outputs.push(tensorValueInfo(present, ELEM.f32, ["batch_size", KV, "total_sequence_length", hd]));
      return present;
    };
    const k = cache("key", kNew), v = cache("value", vNew);
    const attn = onnxAttention(g, q, k, v, masks.get(win)!, { H, KV, hd }, `${a}.attention`);
    hidden = g.op("Add", [hidden, linear(`${a}.o_proj`, attn)], { name: `${p}.attention_residual` });
    const xm = norm(hidden, `${p}.post_attention_layernorm.weight`);
    const act = onnxSwiglu(g, linear(`${p}.mlp.gate_proj`, xm), linear(`${p}.mlp.up_proj`, xm), `${p}.mlp.act`);
    hidden = g.op("Add", [hidden, linear(`${p}.mlp.down_proj`, act)], { name: `${p}.out` });
  }
  const xf = norm(hidden, "model.norm.weight");
  if (!c.tieWordEmbeddings) linear("lm_head", xf, "logits");
  else if (quantized?.has("lm_head")) {
    throw new OnnxDecoderExportError(`${fn}: Cannot write a packed lm_head: the model ties it to the embedding`);
  } else {
    const embedT = g.op("Transpose", [embed], { attrs: [attr.ints("perm", [1, 0])] }); // [d, vocab], folded by ORT
    g.op("MatMul", [xf, embedT], { name: "logits", exact: true });
  }
  const payload = g.initializers.reduce((s, t) => s + (t.rawData?.length ?? 0), 0);
  if (payload > PROTOBUF_LIMIT) {
    throw new OnnxDecoderExportError(
      `${fn}: Cannot write "${model.source}" as one ONNX file: its tensors take ${payload} bytes, over protobuf's 2 GiB limit; export it with quantized (MatMulNBits) linears`,
    );
  }
  const opsets: Record<string, number> = { "": 18 };
  if (quantized) opsets["com.microsoft"] = 1;
  const proto = g.toModel({ name: `${c.modelType}_decoder`, inputs, outputs, opsets });
  return {
    bytes: serializeOnnx(proto),
    inputNames: inputs.map((i) => i.name),
    outputNames: outputs.map((o) => o.name),
    linears,
  };
}

/** Options of {@link writeOnnxDecoder}. */
export interface WriteOnnxDecoderOptions extends OnnxDecoderOptions {
  /**
   * Checkpoint the model came from (default `model.source` when it is a directory with a
   * config.json): config.json fields, tokenizer and generation config are taken from it.
   */
  sourceDir?: string;
  /** Replace an existing directory (default: refuse). */
  overwrite?: boolean;
  /** Tokenizer files to write instead of the source's (e.g. `byteTokenizerFiles` for a model built in memory). */
  tokenizer?: TokenizerFiles;
}

/** Result of {@link writeOnnxDecoder}. */
export interface OnnxDecoderFolder {
  /** The directory written. */
  dir: string;
  /** Files written, relative to `dir`, with their sizes in bytes. */
  files: Map<string, number>;
  /** The f32 model (`onnx/model.onnx`). */
  fp32: OnnxDecoder;
  /** The MatMulNBits model (`onnx/model_q4.onnx`), when `quantized` was given. */
  q4?: OnnxDecoder;
}

/**
 * Writes the folder transformers.js loads (`AutoModelForCausalLM.from_pretrained`, `dtype: "fp32"`
 * or `"q4"`): `onnx/model.onnx` (the model's f32 weights), `onnx/model_q4.onnx` (MatMulNBits, with
 * `quantized`), `config.json` (the source's, checked against the model, else from the parsed
 * config), `generation_config.json`, `tokenizer.json` and `tokenizer_config.json` (the source's,
 * or the byte-level files of tokenizer_files.ts), and the source's other tokenizer files. The
 * folder appears only when complete.
 *
 * @param dir output directory (must not exist unless `overwrite`)
 * @param model the model; for a q4 export the quantized model whose weights were evaluated
 * @param options `quantized`, `sourceDir`, `tokenizer`, `overwrite`, `accuracyLevel`
 * @returns the files written and both decoders
 * @throws {OnnxDecoderExportError} as {@link buildOnnxDecoder}
 * @throws {RangeError} when no tokenizer is found
 * @throws {Deno.errors.AlreadyExists} when `dir` exists and `overwrite` is not set
 *
 * @example
 * ```ts ignore
 * const r = await applyRecipe(model, getRecipe("GPTQ"), { format: "int4-g32-asym", calibration, seqLen: 256 });
 * await writeOnnxDecoder("build/sotu-onnx", r.model, { quantized: r.quantized, sourceDir: BUNDLED_MODEL_DIR });
 * ```
 */
export async function writeOnnxDecoder(
  dir: string,
  model: LlamaModel,
  options: WriteOnnxDecoderOptions = {},
): Promise<OnnxDecoderFolder> {
  const source = modelSourceDir(model, options.sourceDir);
  const config = await exportConfig(model.config, "float32", source);
  if (!source && !options.tokenizer) {
    throw new RangeError(
      `writeOnnxDecoder: Cannot find the tokenizer of "${model.source}": pass sourceDir (the checkpoint directory) or tokenizer`,
    );
  }
  const tokenizer = options.tokenizer ?? await tokenizerFilesFromDir(source!, model.config.maxPositions);
  const files = new Map<string, number>();
  const written = await atomicDir(dir, options.overwrite ?? false, async (tmp) => {
    const fp32 = buildOnnxDecoder(model, { ...options, quantized: undefined });
    const q4 = options.quantized ? buildOnnxDecoder(model, options) : undefined;
    const copied = source ? await copySideFiles(source, tmp) : [];
    const json = (name: string, value: unknown) => Deno.writeTextFile(`${tmp}/${name}`, JSON.stringify(value, null, 2));
    await json("config.json", config);
    await json("tokenizer.json", tokenizer.tokenizerJson); // over the source's: byte-level models have none
    await json("tokenizer_config.json", tokenizer.tokenizerConfig);
    if (!copied.includes("generation_config.json")) {
      const ids = ["bos_token_id", "eos_token_id", "pad_token_id"].filter((k) => k in config);
      await json("generation_config.json", Object.fromEntries(ids.map((k) => [k, config[k]])));
    }
    await Deno.mkdir(`${tmp}/onnx`);
    await Deno.writeFile(`${tmp}/onnx/model.onnx`, fp32.bytes);
    if (q4) await Deno.writeFile(`${tmp}/onnx/model_q4.onnx`, q4.bytes);
    const names = new Set([
      ...copied,
      "config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "generation_config.json",
    ]);
    for (const f of [...[...names].sort(), "onnx/model.onnx", ...(q4 ? ["onnx/model_q4.onnx"] : [])]) {
      files.set(f, (await Deno.stat(`${tmp}/${f}`)).size);
    }
    return { fp32, q4 };
  });
  return { dir: dir.replace(/\/+$/, ""), files, fp32: written.fp32, ...(written.q4 && { q4: written.q4 }) };
}
