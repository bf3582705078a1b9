// SPDX-License-Identifier: MIT
/**
 * A {@link LlamaModel} that carries forward-pass steps of its own: the online transforms of a
 * rotated model (QuaRot's R3 on Q/K after RoPE, R4 before down_proj) or activation
 * quantization. It is a LlamaModel, so `forward`, `evaluateLm`, `quantizeModelWeights` and
 * calibration capture run it unchanged, and `withWeights` / `withOps` keep the steps (a
 * quantized rotated model still rotates online).
 *
 * Hook order: the model's own hooks run first, then the caller's, so a capture or quantization
 * hook sees the input the linear really consumes (QuaRot quantizes after the online Hadamard).
 * The steps run inside `block` and `head` (hence `forward`); a direct `linear()` call does not
 * apply them.
 *
 * @module
 */
import type { Ops } from "../ops/ops.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { type ForwardHooks, type ForwardOptions, LlamaModel } from "../model/llama.ts";
import type { LlamaConfig } from "../model/config.ts";
import type { Rotation } from "./rotation.ts";

/**
 * Composes hooks: `first` then `second` (linearInput chains the replaced input; blockOutput and
 * queryKey call both in order).
 *
 * @example
 * ```ts
 * import { composeHooks } from "./hooked_model.ts";
 * import assert from "node:assert/strict";
 * const seen: number[] = [];
 * const h = composeHooks({ blockOutput: (l) => void seen.push(l) }, { blockOutput: (l) => void seen.push(10 + l) });
 * await h.blockOutput?.(1, undefined as never);
 * assert.deepEqual(seen, [1, 11]);
 * ```
 */
export function composeHooks(first: ForwardHooks | undefined, second: ForwardHooks | undefined): ForwardHooks {
  if (!first) return second ?? {};
  if (!second) return first;
  const out: ForwardHooks = {};
  if (first.linearInput || second.linearInput) {
    out.linearInput = async (name: string, X: Tensor<"f32">) => {
      const a = (await first.linearInput?.(name, X)) ?? X;
      return (await second.linearInput?.(name, a)) ?? (a === X ? undefined : a);
    };
  }
  if (first.blockOutput || second.blockOutput) {
    out.blockOutput = async (layer, hidden) => {
      await first.blockOutput?.(layer, hidden);
      await second.blockOutput?.(layer, hidden);
    };
  }
  if (first.queryKey || second.queryKey) {
    out.queryKey = async (layer, q, k, T, H, KV, hd) => {
      await first.queryKey?.(layer, q, k, T, H, KV, hd);
      await second.queryKey?.(layer, q, k, T, H, KV, hd);
    };
  }
  return out;
}

/** Rotations a transform applied, for inspection and for the invariance check. */
export interface AppliedRotations {
  /** Residual-stream rotation R1 `[d, d]`: the rotated model's hidden states are `h·R1`. */
  r1?: Rotation;
  /** Per-head value/output rotation R2 `[hd, hd]`. */
  r2?: Rotation;
  /** Online Q/K rotation R3 `[hd, hd]` after RoPE. */
  r3?: Rotation;
  /** Online rotation R4 `[ffn, ffn]` of the down_proj input. */
  r4?: Rotation;
}

/** A LlamaModel whose forward pass includes `online` hooks (see the module doc). */
export class HookedLlamaModel extends LlamaModel {
  /** Forward-pass steps that belong to the model. */
  readonly online: ForwardHooks;
  /** Rotations folded into the weights or applied online (empty for non-rotating hooks). */
  readonly rotations: AppliedRotations;

  /** A model from its parts (see {@link LlamaModel}) plus its online hooks and rotations. */
  constructor(
    config: LlamaConfig,
    weights: ReadonlyMap<string, Tensor<"f32">>,
    ops: Ops,
    source: string,
    online: ForwardHooks,
    rotations: AppliedRotations = {},
  ) {
    super(config, weights, ops, source);
    this.online = online;
    this.rotations = rotations;
  }

  /** Runs block `layer` with the model's hooks, then the caller's. */
  override block(
    layer: number,
    hidden: Tensor<"f32">,
    seqLen: number,
    options: ForwardOptions = {},
  ): Promise<Tensor<"f32">> {
    return super.block(layer, hidden, seqLen, { ...options, hooks: composeHooks(this.online, options.hooks) });
  }

  /** Final norm and lm_head with the model's hooks, then the caller's. */
  override head(hidden: Tensor<"f32">, options: ForwardOptions = {}): Promise<Tensor<"f32">> {
    return super.head(hidden, { ...options, hooks: composeHooks(this.online, options.hooks) });
  }

  /** New weights, same online steps. */
  override withWeights(overrides: ReadonlyMap<string, Tensor<"f32">>, ops: Ops = this.ops): HookedLlamaModel {
    const m = super.withWeights(overrides, ops);
    return new HookedLlamaModel(m.config, m.weights, m.ops, m.source, this.online, this.rotations);
  }

  /** Another backend, same online steps. */
  override withOps(ops: Ops): HookedLlamaModel {
    return new HookedLlamaModel(this.config, this.weights, ops, this.source, this.online, this.rotations);
  }
}

/**
 * The model with `hooks` made part of its forward pass (after any hooks it already has).
 *
 * @param model any LlamaModel (a HookedLlamaModel keeps its hooks and rotations)
 * @param hooks steps to add, e.g. per-token activation quantization
 * @param source optional new `source` label
 *
 * @example
 * ```ts ignore
 * const w8a8 = withOnlineHooks(quantizedModel, activationQuantHooks);
 * const { perplexity } = await evaluateLm(w8a8, tokens, { seqLen: 256 });
 * ```
 */
export function withOnlineHooks(model: LlamaModel, hooks: ForwardHooks, source?: string): HookedLlamaModel {
  const own = model instanceof HookedLlamaModel ? model.online : undefined;
  const rotations = model instanceof HookedLlamaModel ? model.rotations : {};
  return new HookedLlamaModel(
    model.config,
    model.weights,
    model.ops,
    source ?? model.source,
    composeHooks(own, hooks),
    rotations,
  );
}

/**
 * Names of the forward-pass steps `model` carries beyond its weights (empty for a plain model):
 * what an exporter must refuse, since a file of weights cannot hold them.
 *
 * @param model any model
 * @returns one description per kind of online step
 */
export function onlineSteps(model: LlamaModel): string[] {
  if (!(model instanceof HookedLlamaModel)) return [];
  const o = model.online, steps: string[] = [];
  if (o.linearInput) steps.push("a linear-input step (QuaRot's online R4 Hadamard or activation quantization)");
  if (o.queryKey) steps.push("a query/key step (QuaRot's online R3 Hadamard or KV quantization)");
  if (o.blockOutput) steps.push("a block-output step");
  return steps;
}
