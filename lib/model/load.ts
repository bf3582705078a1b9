// SPDX-License-Identifier: MIT
/**
 * Loads a local Hugging Face–style Llama checkpoint directory: `config.json` plus
 * `model.safetensors` or sharded `model.safetensors.index.json`. Tensors are read lazily
 * one by one (never a whole file at once), converted to f32, and checked against the
 * shapes the config implies.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { formatShape } from "../tensor/tensor.ts";
import { astype } from "../tensor/manip.ts";
import { openCheckpoint } from "../tensor/safetensors.ts";
import type { Ops } from "../ops/ops.ts";
import { expectedShapes, parseLlamaConfig } from "./config.ts";
import { LlamaModel } from "./llama.ts";

/** Options of {@link loadLlama}. */
export interface LoadOptions {
  /** Backend of the forward pass (required: pass `await getBackend()` or `tsOps`). */
  ops: Ops;
  /** Called after each tensor with (loaded, total, name). */
  onProgress?: (done: number, total: number, name: string) => void;
}

/** Thrown when a checkpoint's files contradict its config or each other. */
export class CheckpointError extends RangeError {
  override name = "CheckpointError";
}

/**
 * Loads a Llama-family model from a local directory.
 *
 * @param dir directory holding `config.json` and the safetensors file(s)
 * @returns the model, ready for `forward`
 * @throws UnsupportedModelError for unsupported configs; CheckpointError for missing or
 *   mis-shaped tensors; safetensors errors (with the file name) for damaged files
 */
export async function loadLlama(dir: string, options: LoadOptions): Promise<LlamaModel> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  } catch (e) {
    throw new CheckpointError(`loadLlama: Cannot read "${dir}/config.json": a Hugging Face config is required`, {
      cause: e,
    });
  }
  const config = parseLlamaConfig(raw);
  const expected = expectedShapes(config);
  const ckpt = await openCheckpoint(dir);
  try {
    const weights = new Map<string, Tensor<"f32">>();
    let done = 0;
    for (const [name, shape] of expected) {
      if (!ckpt.names.includes(name)) {
        throw new CheckpointError(
          `loadLlama: Cannot find tensor "${name}" in "${dir}": the config (${config.numLayers} layers) requires it`,
        );
      }
      const t = await ckpt.read(name);
      if (formatShape(t.shape) !== formatShape(shape)) {
        throw new CheckpointError(
          `loadLlama: Cannot use tensor "${name}" of shape ${formatShape(t.shape)}: the config implies ${
            formatShape(shape)
          }`,
        );
      }
      weights.set(name, t.dtype === "f32" ? (t as Tensor<"f32">) : astype(t, "f32"));
      options.onProgress?.(++done, expected.size, name);
    }
    return new LlamaModel(config, weights, options.ops, dir);
  } finally {
    ckpt.close();
  }
}

/** Path of the bundled model shipped in `data/models/`. */
export const BUNDLED_MODEL_DIR: string = new URL("../../data/models/sotu-llama-d256-l4", import.meta.url).pathname;
