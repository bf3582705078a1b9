// SPDX-License-Identifier: MIT
/**
 * Tensors: the small core type, seeded random creation, shape manipulation, elementwise
 * math, Arrow IPC files and safetensors. Importing this module also registers the rich
 * Jupyter display of tensors. The column-level Arrow interop (`toArrow`/`fromArrow`, which
 * hand out apache-arrow `Field`/`Vector` objects) is the `./arrow` entry point (arrow.ts).
 *
 * @example A tour
 * ```ts
 * import { randn, reshape, stats, transpose } from "./mod.ts";
 * import { fromArrow, toArrow } from "./arrow.ts";
 * import assert from "node:assert/strict";
 *
 * const w = randn([4, 8], { seed: 0 });                // seeded N(0, 1), f32 [4, 8]
 * assert.deepEqual(transpose(w).shape, [8, 4]);
 * assert.deepEqual(reshape(w, [2, -1]).shape, [2, 16]);
 * const { field, vector } = toArrow("w", w);            // zero-copy FixedSizeList column
 * assert.deepEqual(fromArrow(vector, field).data, w.data);
 * assert.ok(Math.abs(stats(w).mean) < 1);
 * ```
 *
 * @module
 */
import "./display.ts";

export * from "./tensor.ts";
export * from "./create.ts";
export * from "./manip.ts";
export * from "./math.ts";
export * from "./numeric.ts";
export * from "./random.ts";
// The functions of arrow.ts take and return apache-arrow objects: they are the `./arrow` entry point.
export {
  EXTENSION_METADATA_KEY,
  EXTENSION_NAME_KEY,
  FIXED_SHAPE_TENSOR,
  LAYOUT_KEY,
  type TensorLayout,
} from "./arrow.ts";
export * from "./ipc.ts";
export * from "./errors.ts";
export * from "./safetensors.ts";
export { formatValue, renderTensorHtml, renderTensorText, tensorDisplayBundle } from "./display.ts";
