// SPDX-License-Identifier: MIT
/**
 * Private helper: the activation capture specialised to GPTQ Hessians, for the sequential
 * pipeline (block by block, one capture per group of linears). A thin layer over
 * {@link ActivationCapture} with one `xtxAccumulator()`; sharing of q/k/v and gate/up inputs and
 * the early end of a pass are the capture's.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import type { ForwardHooks } from "../model/llama.ts";
import { ActivationCapture, StopForward } from "./activation_capture.ts";
import { xtxAccumulator } from "./accumulators/xtx.ts";

export { StopForward };

/** Collects Hessians `H = 2/N·ΣXᵀX` (f64 running mean) of the linears in `names` through a forward hook. */
export class HessianCapture {
  private readonly capture: ActivationCapture<{ H: ReturnType<typeof xtxAccumulator> }>;

  /**
   * @param names linears to capture (without `.weight`)
   * @param ops backend of the accumulation
   * @param stopEarly throw {@link StopForward} once all `names` were seen in a pass
   */
  constructor(names: Iterable<string>, ops: Ops, stopEarly = false) {
    this.capture = new ActivationCapture(names, { H: xtxAccumulator() }, { ops, stopEarly });
  }

  /** Call before each forward pass (batch). */
  beginPass(): void {
    this.capture.beginPass();
  }

  /** Hooks to pass to `forward`/`block`, composed after `inner` (whose replacement is what gets captured). */
  hooks(inner?: ForwardHooks): ForwardHooks {
    return this.capture.hooks(inner);
  }

  /** Tokens accumulated per input (the most of any, for progress reporting). */
  get tokens(): number {
    return this.capture.tokens;
  }

  /**
   * One Hessian per captured name (shared inputs give equal, independent copies; the last of them
   * takes the accumulator's own buffer, so the capture is spent afterwards).
   * @throws {RangeError} when a name was never reached
   */
  results(): Map<string, Tensor<"f64">> {
    return new Map([...this.capture.results({ release: true })].map(([name, s]) => [name, s.H]));
  }
}
