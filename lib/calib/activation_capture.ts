// SPDX-License-Identifier: MIT
/**
 * The mechanism of the activation capture (see `capture.ts` for the model-facing functions):
 * named inputs X `[tokens, cols]` reduced batch by batch into the statistics the caller names
 * (pluggable accumulators, `accumulators/`), fed through a `linearInput` hook or directly.
 *
 * Linears that read the very same input tensor in a pass (q/k/v read the normed residual;
 * gate/up the post-attention norm) share one set of accumulators. Sharing is decided by object
 * identity, so it is correct by construction: a hook that replaces one linear's input simply
 * un-shares it.
 *
 * @module
 */
import { formatShape, type Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import { tsOps } from "../ops/ts/mod.ts";
import type { ForwardHooks } from "../model/llama.ts";
import type { AccumulatedStats, Accumulator, AccumulatorSet } from "./accumulators/accumulator.ts";

/** Thrown by a capture hook to end a forward pass once every wanted input was seen. */
export class StopForward extends Error {
  /** Error name. */
  override name = "StopForward";
}

/** Checks that X is f32 `[tokens, cols]` (what every accumulator's `add` may assume; any cols when undefined). */
function checkBatch(fn: string, X: Tensor, cols?: number): void {
  if (X.dtype !== "f32" || X.rank !== 2 || (cols !== undefined && X.shape[1] !== cols)) {
    throw new TypeError(
      `${fn}: Cannot add X of dtype ${X.dtype} and shape ${formatShape(X.shape)}: expected f32 [tokens, ${
        cols ?? "cols"
      }]`,
    );
  }
}

/** Options of {@link ActivationCapture}. */
export interface ActivationCaptureOptions {
  /** Backend of op-based accumulators (XᵀX, histogram; default `tsOps`). */
  ops?: Ops;
  /** Throw {@link StopForward} from the hook once all names were seen in a pass (default false). */
  stopEarly?: boolean;
}

/** Accumulators of one distinct input (shared by the names that read it). */
interface Owner {
  cols: number;
  tokens: number;
  accs: [string, Accumulator<unknown>][];
}

/**
 * Accumulates statistics of named inputs, pass by pass. Feed it through {@link hooks} (a model's
 * forward pass) or {@link add} (any other source, e.g. onnxruntime outputs); call
 * {@link beginPass} before each pass (inputs are shared by identity within a pass).
 *
 * @example
 * ```ts ignore
 * const capture = new ActivationCapture(["model.layers.0.mlp.up_proj"], { absmax: absmaxAccumulator() }, { ops });
 * capture.beginPass();
 * await model.forward(ids, seqLen, { hooks: capture.hooks() });
 * capture.results().get("model.layers.0.mlp.up_proj")!.absmax; // f32 [d]
 * ```
 */
export class ActivationCapture<S extends AccumulatorSet> {
  private readonly wanted: ReadonlySet<string>;
  private readonly accumulators: S;
  private readonly ops: Ops;
  private readonly stopEarly: boolean;
  /** Owner name (the first name that saw a shared input) → its accumulators. */
  private readonly owners = new Map<string, Owner>();
  /** Name → owner name. */
  private readonly owner = new Map<string, string>();
  /** Per pass: input tensor → owner name. */
  private seen = new Map<Tensor<"f32">, string>();
  private seenNames = new Set<string>();

  /**
   * A capture of the inputs `names`, each fed to fresh accumulators from `accumulators`.
   *
   * @param names inputs to capture (linear names without `.weight`, or any keys fed to {@link add})
   * @param accumulators result key → factory, e.g. `{ H: xtxAccumulator() }`
   * @param options `ops`, `stopEarly`
   * @throws {RangeError} on an empty accumulator set or the reserved key `tokens`
   */
  constructor(names: Iterable<string>, accumulators: S, options: ActivationCaptureOptions = {}) {
    const keys = Object.keys(accumulators);
    if (keys.length === 0 || keys.includes("tokens")) {
      throw new RangeError(
        `ActivationCapture: Cannot capture with accumulators {${keys.join(", ")}}: ` +
          `give at least one, and none named "tokens" (the token count's key)`,
      );
    }
    this.wanted = new Set(names);
    this.accumulators = accumulators;
    this.ops = options.ops ?? tsOps;
    this.stopEarly = options.stopEarly ?? false;
  }

  /** Call before each pass (forward call or model run). */
  beginPass(): void {
    this.seen = new Map();
    this.seenNames = new Set();
  }

  /** Hooks for `forward`/`block`, composed after `inner` (whose replacement is what gets captured). */
  hooks(inner?: ForwardHooks): ForwardHooks {
    return {
      ...inner,
      linearInput: async (name, X) => {
        const replaced = (await inner?.linearInput?.(name, X)) ?? undefined;
        if (this.wanted.has(name)) await this.add(name, replaced ?? X);
        if (this.stopEarly && this.seenNames.size === this.wanted.size) throw new StopForward();
        return replaced;
      },
    };
  }

  /**
   * Adds one batch of the input `name`. An X already added under another name in this pass is
   * not counted twice: `name` shares that name's statistics.
   *
   * @param name one of the constructor's names
   * @param X f32 `[tokens, cols]`, cols fixed per name
   * @throws {RangeError} on an unknown name, or a name that shared its input in an earlier pass but not now
   * @throws {TypeError} when X is not f32 `[tokens, cols]`
   */
  async add(name: string, X: Tensor<"f32">): Promise<void> {
    const fn = "ActivationCapture.add";
    if (!this.wanted.has(name)) {
      throw new RangeError(`${fn}: Cannot add input "${name}": it is not among the ${this.wanted.size} captured names`);
    }
    const sharedWith = this.seen.get(X), prev = this.owner.get(name);
    if (sharedWith !== undefined && (prev === undefined || prev === sharedWith)) {
      this.seenNames.add(name);
      this.owner.set(name, sharedWith);
      return;
    }
    // Own accumulators: the first reader of X in this pass (or a name that always owned them).
    if (prev !== undefined && prev !== name) {
      throw new RangeError(
        `${fn}: Cannot add input "${name}": it shared its input with "${prev}" in an earlier pass but not in this one`,
      );
    }
    let o = this.owners.get(name);
    checkBatch(fn, X, o?.cols);
    this.seenNames.add(name);
    if (sharedWith === undefined) this.seen.set(X, name);
    this.owner.set(name, name);
    if (!o) {
      const context = { name, cols: X.shape[1] as number, ops: this.ops };
      const accs = Object.entries(this.accumulators).map(([k, f]) =>
        [k, f.create(context)] as [string, Accumulator<unknown>]
      );
      o = { cols: context.cols, tokens: 0, accs };
      this.owners.set(name, o);
    }
    for (const [, a] of o.accs) await a.add(X);
    o.tokens += X.shape[0] as number;
  }

  /** Most tokens accumulated by any input so far (for progress reporting). */
  get tokens(): number {
    let t = 0;
    for (const o of this.owners.values()) t = Math.max(t, o.tokens);
    return t;
  }

  /**
   * The statistics per name, in constructor order; names that shared an input get equal but
   * independent objects.
   *
   * @returns name → each accumulator's result under its key, plus `tokens`
   * @throws {RangeError} when a name was never reached or saw no tokens
   */
  results(options: { release?: boolean } = {}): Map<string, AccumulatedStats<S>> {
    const out = new Map<string, AccumulatedStats<S>>();
    // With `release`, the last name reading each shared input takes the accumulators' own storage
    // (where they offer `release`); the others get copies made before it is handed over.
    const lastReader = new Map<string, string>();
    for (const name of this.wanted) {
      const key = this.owner.get(name);
      if (key !== undefined) lastReader.set(key, name);
    }
    for (const name of this.wanted) {
      const key = this.owner.get(name), o = key === undefined ? undefined : this.owners.get(key);
      if (!o || o.tokens === 0) {
        throw new RangeError(
          `ActivationCapture: Cannot return statistics of "${name}": ${
            o ? "it saw 0 tokens" : "the forward pass never reached it"
          } (empty calibration set, or a name the model does not have)`,
        );
      }
      const handOver = options.release === true && lastReader.get(key as string) === name;
      const r: Record<string, unknown> = { tokens: o.tokens };
      for (const [k, a] of o.accs) r[k] = handOver && a.release ? a.release() : a.result();
      out.set(name, r as AccumulatedStats<S>);
    }
    return out;
  }
}
