// SPDX-License-Identifier: MIT
/**
 * Observers of activation ranges across calibration batches (PyTorch's `MinMaxObserver`
 * and `MovingAverageMinMaxObserver`): running min/max, or an exponential moving average
 * `m ← m + c·(batch − m)` (c = 0.01 by default; the first batch initialises m), per tensor or
 * per channel (column) of X `[tokens, channels]`.
 *
 * @module
 */
import { formatShape, type Tensor } from "../tensor/tensor.ts";

/** Options of the range observers. */
export interface RangeObserverOptions {
  /** One range per channel (column of X) instead of one per tensor (default false). */
  perChannel?: boolean;
}

/** Shared bookkeeping of the range observers: batch min/max, validation, accessors. */
export abstract class RangeObserverBase {
  /** Current minimum per channel (null before the first batch). */
  protected lo: Float64Array | null = null;
  /** Current maximum per channel (null before the first batch). */
  protected hi: Float64Array | null = null;
  /** Batches observed. */
  protected batches = 0;
  /** One range per channel (else one per tensor). */
  readonly perChannel: boolean;

  /**
   * Starts with no range.
   * @param options `perChannel`
   */
  constructor(options: RangeObserverOptions = {}) {
    this.perChannel = options.perChannel ?? false;
  }

  /** Batch min/max `[channels]` or `[1]`. */
  protected batchRange(fn: string, X: Tensor<"f32">): { lo: Float64Array; hi: Float64Array } {
    if (X.rank !== 2 || X.dtype !== "f32") {
      throw new TypeError(
        `${fn}: Cannot observe X of shape ${formatShape(X.shape)} (${X.dtype}): expected f32 [tokens, channels]`,
      );
    }
    const [tokens, ch] = X.shape as [number, number];
    if (tokens === 0) throw new RangeError(`${fn}: Cannot observe an empty batch of shape ${formatShape(X.shape)}`);
    if (this.lo && this.perChannel && this.lo.length !== ch) {
      throw new TypeError(`${fn}: Cannot observe X with ${ch} channels after batches with ${this.lo.length}`);
    }
    const n = this.perChannel ? ch : 1;
    const lo = new Float64Array(n).fill(Infinity), hi = new Float64Array(n).fill(-Infinity);
    for (let t = 0; t < tokens; t++) {
      for (let c = 0; c < ch; c++) {
        const v = X.data[t * ch + c] as number;
        if (!Number.isFinite(v)) {
          throw new RangeError(`${fn}: Cannot observe X: element [${t}, ${c}] is ${v} (NaN/Inf not allowed)`);
        }
        const k = this.perChannel ? c : 0;
        if (v < (lo[k] as number)) lo[k] = v;
        if (v > (hi[k] as number)) hi[k] = v;
      }
    }
    return { lo, hi };
  }

  /** Observes one batch X f32 `[tokens, channels]`. */
  abstract observe(X: Tensor<"f32">): void;

  /** Current minimum `[channels]` (or `[1]`); throws before the first batch. */
  get min(): Float64Array {
    if (!this.lo) {
      throw new RangeError(
        `${this.constructor.name}.min: Cannot read a range before any batch: the calibration set is empty`,
      );
    }
    return this.lo.slice();
  }

  /** Current maximum `[channels]` (or `[1]`); throws before the first batch. */
  get max(): Float64Array {
    if (!this.hi) {
      throw new RangeError(
        `${this.constructor.name}.max: Cannot read a range before any batch: the calibration set is empty`,
      );
    }
    return this.hi.slice();
  }

  /** Batches observed. */
  get count(): number {
    return this.batches;
  }
}

/**
 * Running min/max over all batches.
 *
 * @example
 * ```ts
 * import { RunningMinMax } from "./running.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const o = new RunningMinMax();
 * o.observe(new Tensor("f32", [1, 2], new Float32Array([-1, 2])));
 * o.observe(new Tensor("f32", [1, 2], new Float32Array([3, 0])));
 * assert.deepEqual([o.min[0], o.max[0]], [-1, 3]);
 * ```
 */
export class RunningMinMax extends RangeObserverBase {
  /** Observes one batch X f32 `[tokens, channels]`. */
  observe(X: Tensor<"f32">): void {
    const { lo, hi } = this.batchRange("RunningMinMax.observe", X);
    if (!this.lo || !this.hi) {
      this.lo = lo;
      this.hi = hi;
    } else {
      for (let k = 0; k < lo.length; k++) {
        this.lo[k] = Math.min(this.lo[k] as number, lo[k] as number);
        this.hi[k] = Math.max(this.hi[k] as number, hi[k] as number);
      }
    }
    this.batches++;
  }
}

/**
 * Exponential moving average of batch min/max.
 *
 * @example
 * ```ts
 * import { MovingAverageMinMax } from "./running.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const o = new MovingAverageMinMax({ averagingConstant: 0.5 });
 * o.observe(new Tensor("f32", [1, 2], new Float32Array([0, 2])));
 * o.observe(new Tensor("f32", [1, 2], new Float32Array([0, 4])));
 * assert.equal(o.max[0], 3);
 * ```
 */
export class MovingAverageMinMax extends RangeObserverBase {
  /** Weight c of the new batch. */
  readonly averagingConstant: number;

  /**
   * Starts with no range.
   * @param options `perChannel`, `averagingConstant` (weight of the new batch, default 0.01)
   */
  constructor(options: RangeObserverOptions & { averagingConstant?: number } = {}) {
    super(options);
    this.averagingConstant = options.averagingConstant ?? 0.01;
    if (!(this.averagingConstant > 0 && this.averagingConstant <= 1)) {
      throw new RangeError(
        `MovingAverageMinMax: Cannot average with constant ${this.averagingConstant}: expected (0, 1]`,
      );
    }
  }

  /** Observes one batch X f32 `[tokens, channels]`. */
  observe(X: Tensor<"f32">): void {
    const { lo, hi } = this.batchRange("MovingAverageMinMax.observe", X);
    const c = this.averagingConstant;
    if (!this.lo || !this.hi) {
      this.lo = lo;
      this.hi = hi;
    } else {
      for (let k = 0; k < lo.length; k++) {
        this.lo[k] = (this.lo[k] as number) + c * ((lo[k] as number) - (this.lo[k] as number));
        this.hi[k] = (this.hi[k] as number) + c * ((hi[k] as number) - (this.hi[k] as number));
      }
    }
    this.batches++;
  }
}
