// SPDX-License-Identifier: MIT
/**
 * Private helper: returns garbage ArrayBuffers to the system between the big steps of a streamed
 * layer, when the process runs with `--v8-flags=--expose-gc` (the `quantize` and `export` tasks
 * do). V8 frees external memory lazily, so every block forward of a capture pass (ffn activations
 * of 35 MB and more at 1.1B scale) piles up until its heuristics fire; collecting between batches
 * keeps the peak at what is live. Without the flag this is a no-op.
 *
 * @module
 */

const gc = (globalThis as { gc?: () => void }).gc;

/** Collects garbage now if the runtime exposes `gc` (otherwise does nothing). */
export function collectGarbage(): void {
  gc?.();
}
