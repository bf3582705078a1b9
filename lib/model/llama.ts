// SPDX-License-Identifier: MIT
/**
 * A Llama-family decoder (Llama, Mistral, Qwen2, Qwen3: the flags of {@link LlamaConfig} say
 * which biases, q/k norms, RoPE scaling and sliding windows apply) held as named f32 weights
 * (Hugging Face names), with a forward pass on an injected {@link Ops} backend and hooks for PTQ:
 * (a) `linearInput` sees — and may replace — the input of every linear layer (capture for
 *     calibration, activation quantization, online rotations);
 * (b) {@link LlamaModel.withWeights} swaps any weights for quantized ones without copying the rest;
 * (c) {@link LlamaModel.block} runs one decoder block on given hidden states (sequential
 *     layer-by-layer calibration, as GPTQ's `llama_sequential`).
 *
 * Shapes: B sequences of T tokens are processed together as hidden `[B·T, d]`.
 *
 * A model may hold only some weights: the streaming pipeline builds one per decoder layer.
 * `embed` reads only `model.embed_tokens`, `block(l)` only layer l's tensors, `head` only
 * `model.norm` and `lm_head` (or the tied embedding).
 *
 * @module
 */
import { formatShape, Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import { attentionWindow, hasBias, type LlamaConfig } from "./config.ts";
import { addBias, addInPlace, causalSoftmax, gatherHead, headRmsNorm, rmsNorm, swiglu } from "./layers.ts";
import { applyRope, ropeInvFreq, type RopeTables, ropeTables } from "./rope.ts";

/** Hooks into the forward pass (all optional). */
export interface ForwardHooks {
  /**
   * Called with the input X f32 `[B·T, in]` of the linear layer `name` (e.g.
   * `model.layers.0.self_attn.q_proj`) before it is applied. Returning a tensor of the same
   * shape replaces the input for this linear only.
   */
  linearInput?: (name: string, X: Tensor<"f32">) => Tensor<"f32"> | void | Promise<Tensor<"f32"> | void>;
  /** Called with the residual stream f32 `[B·T, d]` after each decoder block. */
  blockOutput?: (layer: number, hidden: Tensor<"f32">) => void | Promise<void>;
  /**
   * Called in attention right after RoPE, once per sequence, with that sequence's queries
   * `q` f32 `[T, nHeads·headDim]` and keys `k` f32 `[T, nKvHeads·headDim]` (views into the
   * batch); changes made in place are what the attention scores use (online rotation of
   * Q/K — QuaRot's R3 — or KV-cache quantization).
   */
  queryKey?: (
    layer: number,
    q: Float32Array,
    k: Float32Array,
    T: number,
    nHeads: number,
    nKvHeads: number,
    headDim: number,
  ) => void | Promise<void>;
}

/** Options of a forward call. */
export interface ForwardOptions {
  hooks?: ForwardHooks;
  /** Backend override for this call (default: the model's). */
  ops?: Ops;
}

/** A loaded Llama-family model. Immutable: transforms return new models. */
export class LlamaModel {
  /** Parsed configuration. */
  readonly config: LlamaConfig;
  /** Weights by Hugging Face name, f32 (`[out, in]` for linears, `[n]` for norms and biases). */
  readonly weights: ReadonlyMap<string, Tensor<"f32">>;
  /** Default backend of the forward pass. */
  readonly ops: Ops;
  /** Where the model came from (directory or description), for results tables. */
  readonly source: string;
  private ropeCache = new Map<number, RopeTables>();
  private invFreq: Float32Array | undefined;

  constructor(config: LlamaConfig, weights: ReadonlyMap<string, Tensor<"f32">>, ops: Ops, source = "memory") {
    this.config = config;
    this.weights = weights;
    this.ops = ops;
    this.source = source;
  }

  /** The weight named `name` (throws with the list of known names' pattern when missing). */
  weight(name: string): Tensor<"f32"> {
    const w = this.weights.get(name);
    if (!w) {
      throw new RangeError(`LlamaModel.weight: Cannot find weight "${name}" (${this.weights.size} weights loaded)`);
    }
    return w;
  }

  /**
   * A new model with some weights replaced (shapes must match): linear weights and biases, norm
   * scales (including q_norm/k_norm), embeddings. Other weights are shared.
   */
  withWeights(overrides: ReadonlyMap<string, Tensor<"f32">>, ops: Ops = this.ops): LlamaModel {
    const next = new Map(this.weights);
    for (const [name, w] of overrides) {
      const old = this.weight(name);
      if (formatShape(old.shape) !== formatShape(w.shape)) {
        throw new TypeError(
          `LlamaModel.withWeights: Cannot replace "${name}" of shape ${formatShape(old.shape)} with shape ${
            formatShape(w.shape)
          }`,
        );
      }
      next.set(name, w);
    }
    return new LlamaModel(this.config, next, ops, this.source);
  }

  /** The same weights on another backend. */
  withOps(ops: Ops): LlamaModel {
    return new LlamaModel(this.config, this.weights, ops, this.source);
  }

  /** Looks up token embeddings: ids `[B·T]` → hidden f32 `[B·T, d]`. */
  embed(ids: ArrayLike<number>): Tensor<"f32"> {
    const d = this.config.hiddenSize, V = this.config.vocabSize;
    const E = this.weight("model.embed_tokens.weight").data;
    const out = new Float32Array(ids.length * d);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (!Number.isInteger(id) || id < 0 || id >= V) {
        throw new RangeError(`LlamaModel.embed: Cannot embed token id ${id} at position ${i}: vocab size is ${V}`);
      }
      out.set(E.subarray(id * d, (id + 1) * d), i * d);
    }
    return new Tensor("f32", [ids.length, d], out);
  }

  /**
   * y = X·Wᵀ (+ b where the architecture gives linear `name` a bias) for linear `name` (without
   * `.weight`), calling the `linearInput` hook first.
   */
  async linear(name: string, X: Tensor<"f32">, options: ForwardOptions = {}): Promise<Tensor<"f32">> {
    const replaced = await options.hooks?.linearInput?.(name, X);
    const input = replaced ?? X;
    const y = await (options.ops ?? this.ops).matmul(input, this.weight(`${name}.weight`), { transB: true });
    if (hasBias(this.config, name)) addBias(y, this.weight(`${name}.bias`));
    return y;
  }

  /**
   * Runs decoder block `layer` on hidden f32 `[B·T, d]` (B sequences of `seqLen` tokens).
   * @returns the new residual stream f32 `[B·T, d]`
   */
  async block(
    layer: number,
    hidden: Tensor<"f32">,
    seqLen: number,
    options: ForwardOptions = {},
  ): Promise<Tensor<"f32">> {
    const c = this.config;
    if (!(layer >= 0 && layer < c.numLayers)) {
      throw new RangeError(`LlamaModel.block: Cannot run layer ${layer}: the model has ${c.numLayers} layers`);
    }
    const [rows, d] = hidden.shape as [number, number];
    if (d !== c.hiddenSize || rows % seqLen !== 0) {
      throw new TypeError(
        `LlamaModel.block: Cannot run hidden of shape ${
          formatShape(hidden.shape)
        } with seqLen ${seqLen}: expected [B·${seqLen}, ${c.hiddenSize}]`,
      );
    }
    const p = `model.layers.${layer}`;
    const h = new Tensor("f32", hidden.shape, hidden.data.slice());
    const xAttn = rmsNorm(h, this.weights.get(`${p}.input_layernorm.weight`), c.rmsNormEps);
    const attn = await this.attention(layer, xAttn, seqLen, options);
    addInPlace(h, await this.linear(`${p}.self_attn.o_proj`, attn, options));
    const xMlp = rmsNorm(h, this.weights.get(`${p}.post_attention_layernorm.weight`), c.rmsNormEps);
    const gate = await this.linear(`${p}.mlp.gate_proj`, xMlp, options);
    const up = await this.linear(`${p}.mlp.up_proj`, xMlp, options);
    addInPlace(h, await this.linear(`${p}.mlp.down_proj`, swiglu(gate, up), options));
    await options.hooks?.blockOutput?.(layer, h);
    return h;
  }

  /**
   * Causal self-attention of block `layer` on normed input `[B·T, d]` (biases, q/k norms, RoPE,
   * sliding window as configured); returns `[B·T, H·hd]` before o_proj.
   */
  private async attention(layer: number, x: Tensor<"f32">, T: number, options: ForwardOptions): Promise<Tensor<"f32">> {
    const c = this.config, ops = options.ops ?? this.ops;
    const p = `model.layers.${layer}.self_attn`;
    const H = c.numHeads, KV = c.numKvHeads, hd = c.headDim, B = (x.shape[0] as number) / T;
    const q = await this.linear(`${p}.q_proj`, x, options); // [B·T, H·hd]
    const k = await this.linear(`${p}.k_proj`, x, options); // [B·T, KV·hd]
    const v = await this.linear(`${p}.v_proj`, x, options); // [B·T, KV·hd]
    if (c.qkNorm) {
      // Qwen3: RMSNorm over each head's hd values, after the projection (and bias), before RoPE
      headRmsNorm(q, this.weight(`${p}.q_norm.weight`), c.rmsNormEps);
      headRmsNorm(k, this.weight(`${p}.k_norm.weight`), c.rmsNormEps);
    }
    const rope = this.rope(T);
    const Qh = new Float32Array(B * H * T * hd),
      Kh = new Float32Array(B * H * T * hd),
      Vh = new Float32Array(B * H * T * hd);
    for (let b = 0; b < B; b++) {
      const qs = q.data.subarray(b * T * H * hd, (b + 1) * T * H * hd);
      const ks = k.data.subarray(b * T * KV * hd, (b + 1) * T * KV * hd);
      applyRope(qs, T, H, hd, rope);
      applyRope(ks, T, KV, hd, rope);
      await options.hooks?.queryKey?.(layer, qs, ks, T, H, KV, hd);
      const vs = v.data.subarray(b * T * KV * hd, (b + 1) * T * KV * hd);
      for (let h = 0; h < H; h++) {
        const kvh = Math.floor(h / (H / KV)); // grouped-query attention: heads share K/V
        const o = (b * H + h) * T * hd;
        gatherHead(qs, T, H * hd, h, hd, Qh, o);
        gatherHead(ks, T, KV * hd, kvh, hd, Kh, o);
        gatherHead(vs, T, KV * hd, kvh, hd, Vh, o);
      }
    }
    const shape3 = [B * H, T, hd];
    const S = await ops.matmul(new Tensor("f32", shape3, Qh), new Tensor("f32", shape3, Kh), { transB: true }); // [B·H, T, T]
    const scale = 1 / Math.sqrt(hd), window = attentionWindow(c, layer);
    for (let bh = 0; bh < B * H; bh++) causalSoftmax(S.data, bh * T * T, T, scale, window);
    const O = await ops.matmul(S, new Tensor("f32", shape3, Vh)); // [B·H, T, hd]
    const out = new Float32Array(B * T * H * hd);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const o = (b * H + h) * T * hd;
        for (let t = 0; t < T; t++) {
          out.set(O.data.subarray(o + t * hd, o + (t + 1) * hd), (b * T + t) * H * hd + h * hd);
        }
      }
    }
    return new Tensor("f32", [B * T, H * hd], out);
  }

  /** Final norm and lm_head: hidden `[B·T, d]` → logits f32 `[B·T, vocab]`. */
  async head(hidden: Tensor<"f32">, options: ForwardOptions = {}): Promise<Tensor<"f32">> {
    const xn = rmsNorm(hidden, this.weights.get("model.norm.weight"), this.config.rmsNormEps);
    const name = this.config.tieWordEmbeddings ? "model.embed_tokens" : "lm_head";
    return await this.linear(name, xn, options);
  }

  /**
   * Full forward pass.
   * @param ids token ids `[B·T]` (B sequences of `seqLen` tokens, concatenated)
   * @returns logits f32 `[B·T, vocab]`
   */
  async forward(ids: ArrayLike<number>, seqLen: number, options: ForwardOptions = {}): Promise<Tensor<"f32">> {
    if (seqLen <= 0 || ids.length % seqLen !== 0) {
      throw new RangeError(
        `LlamaModel.forward: Cannot split ${ids.length} token ids into sequences of ${seqLen}: length must be a multiple of seqLen`,
      );
    }
    if (seqLen > this.config.maxPositions) {
      throw new RangeError(
        `LlamaModel.forward: Cannot run seqLen ${seqLen}: the model supports at most ${this.config.maxPositions} positions`,
      );
    }
    let h = this.embed(ids);
    for (let l = 0; l < this.config.numLayers; l++) h = await this.block(l, h, seqLen, options);
    return await this.head(h, options);
  }

  private rope(T: number): RopeTables {
    let r = this.ropeCache.get(T);
    if (!r) {
      this.invFreq ??= ropeInvFreq(this.config.headDim, this.config.ropeTheta, this.config.ropeScaling);
      r = ropeTables(T, this.invFreq);
      this.ropeCache.set(T, r);
    }
    return r;
  }
}
