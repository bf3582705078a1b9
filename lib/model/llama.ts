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
 * Memory: a block's temporaries (normed input, q/k/v, attention output, gate/up) live in a
 * {@link Workspace} the model keeps for its next call (one per concurrent call), the residual
 * stream is updated in place (`h += o_proj(·)` and `h += down_proj(·)` are sgemms with beta = 1),
 * and attention runs per query block without a `[B·H, T, T]` scores tensor (`_attention.ts`).
 * Tensors a hook can see are never reused: with a `linearInput` hook the linear inputs are fresh
 * arrays, with a `queryKey` hook q and k are, and `blockOutput` gets a residual stream that no
 * later block changes.
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
import { Workspace } from "../ops/workspace.ts";
import { addBias, headRmsNorm, rmsNorm, swiglu } from "./layers.ts";
import { applyRope, ropeInvFreq, type RopeTables, ropeTables } from "./rope.ts";
import { causalAttention } from "./_attention.ts";

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
  /** Capture/transform hooks called inside the forward pass (activation capture, fake-quantized activations). */
  hooks?: ForwardHooks;
  /** Backend override for this call (default: the model's). */
  ops?: Ops;
  /**
   * {@link LlamaModel.block} may update `hidden` in place and return it instead of a new tensor
   * (default false; `forward` sets it for its own residual stream). Ignored when a `blockOutput`
   * hook is present, so what that hook receives is never changed by a later block.
   */
  inPlace?: boolean;
}

/** Where a block's temporaries go: workspace slots, or fresh arrays for tensors hooks can keep. */
type Alloc = (slot: string, rows: number, cols: number, visible: boolean) => Tensor<"f32">;

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
  /** Idle workspaces of finished calls (a call takes one, or a new one when calls overlap). */
  private scratch: Workspace[] = [];

  /** Wraps parsed config, f32 weights by Hugging Face name, the default backend and a source label (no copies). */
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
    return await this.project(name, X, options);
  }

  /**
   * {@link LlamaModel.linear} into `out` when given: `out = X·Wᵀ (+ b)`, or with `accumulate`
   * `out += X·Wᵀ (+ b)` (sgemm with beta = 1: the residual connection without a temporary).
   */
  private async project(
    name: string,
    X: Tensor<"f32">,
    options: ForwardOptions,
    out?: Tensor<"f32">,
    accumulate = false,
  ): Promise<Tensor<"f32">> {
    const replaced = await options.hooks?.linearInput?.(name, X);
    const input = replaced ?? X;
    const W = this.weight(`${name}.weight`);
    const y = await (options.ops ?? this.ops).matmul(input, W, { transB: true, out, beta: accumulate ? 1 : 0 });
    if (hasBias(this.config, name)) addBias(y, this.weight(`${name}.bias`));
    return y;
  }

  /**
   * Runs `fn` with a workspace from this model's pool and an allocator over it that gives fresh
   * arrays for tensors a hook can see (`visible`; see the module doc).
   */
  private async withScratch<T>(fn: (alloc: Alloc, ws: Workspace) => Promise<T>): Promise<T> {
    const ws = this.scratch.pop() ?? new Workspace();
    const alloc: Alloc = (slot, rows, cols, visible) =>
      new Tensor("f32", [rows, cols], visible ? new Float32Array(rows * cols) : ws.f32(slot, rows * cols));
    try {
      return await fn(alloc, ws);
    } finally {
      this.scratch.push(ws);
    }
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
    const p = `model.layers.${layer}`, hooks = options.hooks;
    const h = options.inPlace && !hooks?.blockOutput ? hidden : new Tensor("f32", hidden.shape, hidden.data.slice());
    const seesInputs = hooks?.linearInput !== undefined, ffn = c.intermediateSize;
    await this.withScratch(async (alloc, ws) => {
      const x = alloc("x", rows, d, seesInputs);
      rmsNorm(h, this.weights.get(`${p}.input_layernorm.weight`), c.rmsNormEps, x);
      const attn = await this.attention(layer, x, seqLen, options, alloc, ws);
      await this.project(`${p}.self_attn.o_proj`, attn, options, h, true);
      const xMlp = seesInputs ? alloc("x", rows, d, true) : x; // x is free again once q/k/v exist
      rmsNorm(h, this.weights.get(`${p}.post_attention_layernorm.weight`), c.rmsNormEps, xMlp);
      const gate = await this.project(`${p}.mlp.gate_proj`, xMlp, options, alloc("gate", rows, ffn, false));
      const up = await this.project(`${p}.mlp.up_proj`, xMlp, options, alloc("up", rows, ffn, false));
      const act = swiglu(gate, up, seesInputs ? alloc("act", rows, ffn, true) : gate);
      await this.project(`${p}.mlp.down_proj`, act, options, h, true);
    });
    await hooks?.blockOutput?.(layer, h);
    return h;
  }

  /**
   * Causal self-attention of block `layer` on normed input `[B·T, d]` (biases, q/k norms, RoPE,
   * sliding window as configured); returns `[B·T, H·hd]` before o_proj.
   */
  private async attention(
    layer: number,
    x: Tensor<"f32">,
    T: number,
    options: ForwardOptions,
    alloc: Alloc,
    ws: Workspace,
  ): Promise<Tensor<"f32">> {
    const c = this.config, ops = options.ops ?? this.ops, hooks = options.hooks;
    const p = `model.layers.${layer}.self_attn`;
    const H = c.numHeads, KV = c.numKvHeads, hd = c.headDim, rows = x.shape[0] as number, B = rows / T;
    const seesQk = hooks?.queryKey !== undefined;
    const q = await this.project(`${p}.q_proj`, x, options, alloc("q", rows, H * hd, seesQk)); // [B·T, H·hd]
    const k = await this.project(`${p}.k_proj`, x, options, alloc("k", rows, KV * hd, seesQk)); // [B·T, KV·hd]
    const v = await this.project(`${p}.v_proj`, x, options, alloc("v", rows, KV * hd, false)); // [B·T, KV·hd]
    if (c.qkNorm) {
      // Qwen3: RMSNorm over each head's hd values, after the projection (and bias), before RoPE
      headRmsNorm(q, this.weight(`${p}.q_norm.weight`), c.rmsNormEps);
      headRmsNorm(k, this.weight(`${p}.k_norm.weight`), c.rmsNormEps);
    }
    const rope = this.rope(T);
    for (let b = 0; b < B; b++) {
      const qs = q.data.subarray(b * T * H * hd, (b + 1) * T * H * hd);
      const ks = k.data.subarray(b * T * KV * hd, (b + 1) * T * KV * hd);
      applyRope(qs, T, H, hd, rope);
      applyRope(ks, T, KV, hd, rope);
      await hooks?.queryKey?.(layer, qs, ks, T, H, KV, hd);
    }
    const out = alloc("attention", rows, H * hd, hooks?.linearInput !== undefined);
    const shape = { B, T, H, KV, hd, window: attentionWindow(c, layer) };
    await causalAttention(ops, q.data, k.data, v.data, out.data, shape, ws);
    return out;
  }

  /** Final norm and lm_head: hidden `[B·T, d]` → logits f32 `[B·T, vocab]`. */
  async head(hidden: Tensor<"f32">, options: ForwardOptions = {}): Promise<Tensor<"f32">> {
    const name = this.config.tieWordEmbeddings ? "model.embed_tokens" : "lm_head";
    const [rows, d] = hidden.shape as [number, number];
    return await this.withScratch(async (alloc) => {
      const xn = alloc("x", rows, d, options.hooks?.linearInput !== undefined);
      rmsNorm(hidden, this.weights.get("model.norm.weight"), this.config.rmsNormEps, xn);
      return await this.project(name, xn, options);
    });
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
    let h = this.embed(ids); // ours: the blocks may update it in place
    const inPlace = { ...options, inPlace: true };
    for (let l = 0; l < this.config.numLayers; l++) h = await this.block(l, h, seqLen, inPlace);
    return await this.head(h, options);
  }

  /** Rotary cos/sin tables for T positions, cached per T. */
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
