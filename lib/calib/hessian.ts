// SPDX-License-Identifier: MIT
/**
 * The layer-wise proxy Hessian `H = 2/N · Σ_batches XᵀX` of a linear layer, accumulated as
 * GPTQ's running mean (`add_batch` in IST-DASLab/gptq `gptq.py`) in f64:
 *
 *     H ← H · n/(n+b);   H ← H + (2/(n+b)) · XᵀX;   n ← n + b
 *
 * where `b` is the number of tokens in the batch X `[b, in]`. The running mean keeps H at
 * the same magnitude whatever the number of batches, so damping ratios stay meaningful.
 * (GPTQ counts sequences rather than tokens; the two differ by the constant factor seqLen,
 * which every H-based algorithm is invariant to.)
 *
 * Symbols: `X` layer input `[tokens, in]`, `H` `[in, in]` f64, `n` tokens seen so far.
 *
 * @module
 */
import { formatShape, Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import { tsOps } from "../ops/ts/mod.ts";

/** Options of {@link HessianAccumulator}. */
export interface HessianAccumulatorOptions {
  /** Backend of the `XᵀX` accumulation (default `tsOps`). */
  ops?: Ops;
}

/**
 * Running-mean accumulator of `H = 2/N · XᵀX` over batches of layer inputs (f64).
 *
 * Calls of {@link HessianAccumulator.addBatch} are serialized internally, so un-awaited
 * concurrent calls are safe.
 *
 * @example Two batches give the same H as one
 * ```ts
 * import { HessianAccumulator } from "./hessian.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const acc = new HessianAccumulator(2);
 * await acc.addBatch(new Tensor("f32", [1, 2], new Float32Array([1, 2])));
 * await acc.addBatch(new Tensor("f32", [1, 2], new Float32Array([3, 0])));
 * assert.equal(acc.count, 2);
 * assert.deepEqual(Array.from(acc.hessian.data), [10, 2, 2, 4]); // 2/2·(XᵀX)
 * ```
 */
export class HessianAccumulator {
  /** Input dimension n (H is `[n, n]`). */
  readonly n: number;
  private readonly ops: Ops;
  private readonly H: Tensor<"f64">; // [n, n] running mean 2/N·ΣXᵀX
  private tokens = 0;
  private released = false;
  private queue: Promise<void> = Promise.resolve();

  /**
   * Starts an empty accumulator.
   * @param n input dimension of the layer (columns of X, of W)
   * @param options `ops` backend (default `tsOps`)
   */
  constructor(n: number, options: HessianAccumulatorOptions = {}) {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(
        `HessianAccumulator: Cannot accumulate a Hessian of size ${n}: n must be a positive integer`,
      );
    }
    this.n = n;
    this.ops = options.ops ?? tsOps;
    this.H = new Tensor("f64", [n, n]);
  }

  /**
   * Adds a batch of layer inputs. A batch of zero tokens changes nothing.
   *
   * @param X f32 `[tokens, n]`, finite
   * @throws {TypeError} when X is not `[tokens, n]` f32; {RangeError} on NaN/Inf (from the backend)
   */
  addBatch(X: Tensor<"f32">): Promise<void> {
    if (X.dtype !== "f32" || X.rank !== 2 || X.shape[1] !== this.n) {
      return Promise.reject(
        new TypeError(
          `HessianAccumulator.addBatch: Cannot add X of dtype ${X.dtype} and shape ${
            formatShape(X.shape)
          }: expected f32 [tokens, ${this.n}]`,
        ),
      );
    }
    if (this.released) {
      return Promise.reject(
        new RangeError(`HessianAccumulator.addBatch: Cannot add a batch: the Hessian was released`),
      );
    }
    const run = this.queue.then(() => this.#add(X));
    this.queue = run.catch(() => {}); // a failed batch must not poison later ones
    return run;
  }

  async #add(X: Tensor<"f32">): Promise<void> {
    const b = X.shape[0] as number;
    if (b === 0) return;
    const total = this.tokens + b;
    const decay = this.tokens / total;
    const h = this.H.data;
    if (decay !== 1) { for (let i = 0; i < h.length; i++) h[i] = (h[i] as number) * decay; }
    try {
      await this.ops.accumulateHessian(this.H, X, 2 / total);
    } catch (e) {
      // Undo the decay so a rejected batch (NaN/Inf) leaves the running mean unchanged.
      if (decay !== 0) { for (let i = 0; i < h.length; i++) h[i] = (h[i] as number) / decay; }
      throw e;
    }
    this.tokens = total;
  }

  /**
   * Hands over the accumulated `H = 2/N · Σ XᵀX` itself, without a copy: at n = 5632 a copy is
   * 254 MB more at the peak of a streamed GPTQ layer. The accumulator cannot be used afterwards.
   * Await pending {@link HessianAccumulator.addBatch} calls before releasing.
   *
   * @throws {RangeError} when no token has been added, or when already released
   */
  release(): Tensor<"f64"> {
    if (this.tokens === 0) {
      throw new RangeError(
        `HessianAccumulator.release: Cannot release the Hessian of size ${this.n}: no tokens were added (empty calibration set)`,
      );
    }
    const H = this.hessianOrThrow("release");
    this.released = true;
    return H;
  }

  /**
   * A copy of the current `H = 2/N · Σ XᵀX`, f64 `[n, n]` (callers may modify it, e.g. damp it).
   * Await pending {@link HessianAccumulator.addBatch} calls before reading.
   *
   * @throws {RangeError} when no token has been added (empty calibration set)
   */
  get hessian(): Tensor<"f64"> {
    if (this.tokens === 0) {
      throw new RangeError(
        `HessianAccumulator.hessian: Cannot read the Hessian of size ${this.n}: no tokens were added (empty calibration set)`,
      );
    }
    const H = this.hessianOrThrow("hessian");
    return new Tensor("f64", [this.n, this.n], H.data.slice());
  }

  /** The accumulator's own H, or a RangeError naming `what` once it was released. */
  private hessianOrThrow(what: string): Tensor<"f64"> {
    if (this.released) {
      throw new RangeError(`HessianAccumulator.${what}: Cannot read the Hessian: it was released to its consumer`);
    }
    return this.H;
  }

  /** Number of tokens (rows of X) accumulated so far. */
  get count(): number {
    return this.tokens;
  }
}
