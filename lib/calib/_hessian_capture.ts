// SPDX-License-Identifier: MIT
/**
 * Private helper: a `linearInput` hook that feeds the inputs of selected linears into
 * {@link HessianAccumulator}s, sharing one accumulator among linears that read the very same
 * input tensor (q/k/v read the normed residual; gate/up read the post-attention norm).
 * Sharing is decided by object identity of X inside a forward pass, so it is correct by
 * construction: a hook that replaces one linear's input simply un-shares it.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import type { ForwardHooks } from "../model/llama.ts";
import { HessianAccumulator } from "./hessian.ts";

/** Thrown by a capture hook to end a forward pass once every wanted input was seen. */
export class StopForward extends Error {
  override name = "StopForward";
}

/** Collects Hessians of the linears in `names` through a forward hook. */
export class HessianCapture {
  private readonly names: ReadonlySet<string>;
  private readonly ops: Ops;
  /** Owner name → accumulator (the first name that saw a shared input owns it). */
  private readonly acc = new Map<string, HessianAccumulator>();
  /** Name → owner name. */
  private readonly owner = new Map<string, string>();
  /** Per forward pass: input tensor → owner name. */
  private seen = new Map<Tensor<"f32">, string>();
  private seenNames = new Set<string>();
  private readonly stopEarly: boolean;

  /**
   * @param names linears to capture (without `.weight`)
   * @param ops backend of the accumulation
   * @param stopEarly throw {@link StopForward} once all `names` were seen in a pass
   */
  constructor(names: Iterable<string>, ops: Ops, stopEarly = false) {
    this.names = new Set(names);
    this.ops = ops;
    this.stopEarly = stopEarly;
  }

  /** Call before each forward pass (batch). */
  beginPass(): void {
    this.seen = new Map();
    this.seenNames = new Set();
  }

  /** Hooks to pass to `forward`/`block`, composed after `inner` (whose replacement is what gets captured). */
  hooks(inner?: ForwardHooks): ForwardHooks {
    return {
      ...inner,
      linearInput: async (name, X) => {
        const replaced = (await inner?.linearInput?.(name, X)) ?? undefined;
        const input = replaced ?? X;
        if (this.names.has(name)) await this.capture(name, input);
        if (this.stopEarly && this.seenNames.size === this.names.size) throw new StopForward();
        return replaced;
      },
    };
  }

  private async capture(name: string, X: Tensor<"f32">): Promise<void> {
    this.seenNames.add(name);
    const sharedWith = this.seen.get(X);
    if (sharedWith !== undefined) {
      const prev = this.owner.get(name);
      if (prev === undefined || prev === sharedWith) {
        this.owner.set(name, sharedWith);
        return;
      }
    }
    // Own accumulator: the first reader of X in this pass (or a name that always owned one).
    if (sharedWith === undefined) this.seen.set(X, name);
    if (this.owner.get(name) !== undefined && this.owner.get(name) !== name) {
      throw new Error(
        `HessianCapture: linear "${name}" shared its input with "${
          this.owner.get(name)
        }" in an earlier batch but not in this one`,
      );
    }
    this.owner.set(name, name);
    let a = this.acc.get(name);
    if (!a) {
      a = new HessianAccumulator(X.shape[1] as number, { ops: this.ops });
      this.acc.set(name, a);
    }
    await a.addBatch(X);
  }

  /** Tokens accumulated per owner (for progress reporting). */
  get tokens(): number {
    let t = 0;
    for (const a of this.acc.values()) t = Math.max(t, a.count);
    return t;
  }

  /** One Hessian copy per captured name (shared inputs give equal, independent copies). */
  results(): Map<string, Tensor<"f64">> {
    const out = new Map<string, Tensor<"f64">>();
    for (const name of this.names) {
      const o = this.owner.get(name);
      if (o === undefined) {
        throw new RangeError(
          `HessianCapture: Cannot return a Hessian for "${name}": the forward pass never reached this linear`,
        );
      }
      out.set(name, (this.acc.get(o) as HessianAccumulator).hessian);
    }
    return out;
  }
}
