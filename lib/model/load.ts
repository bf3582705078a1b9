// SPDX-License-Identifier: MIT
/**
 * Opens a local Hugging Face–style checkpoint directory (`config.json` plus
 * `model.safetensors` or a sharded `model.safetensors.index.json`) and checks it against the
 * architecture its config describes *before* reading any weight: every tensor the
 * architecture consumes must be present with the implied shape, and every tensor present
 * must be consumed. Tensors are then read lazily one by one in their stored dtype and
 * converted to f32 only when asked for ({@link LlamaCheckpoint.read}), so a streaming
 * pipeline holds one decoder layer at a time; {@link loadLlama} reads them all.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { formatShape } from "../tensor/tensor.ts";
import { astype } from "../tensor/manip.ts";
import { type Checkpoint, openCheckpoint } from "../tensor/safetensors.ts";
import type { Ops } from "../ops/ops.ts";
import { getCpuOps } from "../ops/backend.ts";
import { expectedShapes, type LlamaConfig, parseLlamaConfig } from "./config.ts";
import { LlamaModel } from "./llama.ts";

/** Options of {@link loadLlama}. */
export interface LoadOptions {
  /** Backend of the forward pass (default: `getCpuOps()`, OpenBLAS when present, else TypeScript). */
  ops?: Ops;
  /** Called after each tensor with (loaded, total, name). */
  onProgress?: (done: number, total: number, name: string) => void;
}

/** Thrown when a checkpoint's files contradict its config or each other. */
export class CheckpointError extends RangeError {
  /** Error name. */
  override name = "CheckpointError";
}

/** A validated, lazily read checkpoint (see {@link openLlamaCheckpoint}). */
export interface LlamaCheckpoint {
  /** The directory it was opened from. */
  readonly dir: string;
  /** The parsed config. */
  readonly config: LlamaConfig;
  /** The raw `config.json` object (for exports that copy it). */
  readonly rawConfig: Readonly<Record<string, unknown>>;
  /** Every tensor the architecture consumes, with its shape, in load order. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** The underlying safetensors checkpoint (stored dtypes, shard layout). */
  readonly files: Checkpoint;
  /** Reads tensor `name` and converts it to f32 (only its bytes are read). */
  read(name: string): Promise<Tensor<"f32">>;
  /** Reads every tensor whose name starts with `prefix` (e.g. `model.layers.3.`), as f32. */
  readPrefix(prefix: string): Promise<Map<string, Tensor<"f32">>>;
  /** Closes the shards. */
  close(): void;
  /** Same as close, for `using`. */
  [Symbol.dispose](): void;
}

/** Reads and parses `dir/config.json`, reporting a JSON syntax error as such. */
export async function readConfigJson(dir: string): Promise<Record<string, unknown>> {
  const path = `${dir}/config.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new CheckpointError(`loadLlama: Cannot read "${path}": a Hugging Face config.json is required`, {
      cause: e,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`loadLlama: Cannot parse "${path}": ${(e as Error).message}`, { cause: e });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new CheckpointError(`loadLlama: Cannot use "${path}": expected a JSON object, got ${typeof raw}`);
  }
  return raw as Record<string, unknown>;
}

/**
 * Opens and validates a checkpoint directory without reading any weight.
 *
 * @param dir directory holding `config.json` and the safetensors file(s)
 * @throws UnsupportedModelError for unsupported configs; CheckpointError for a missing, extra
 *   or mis-shaped tensor (naming it); safetensors errors (with the file name) for damaged files
 */
export async function openLlamaCheckpoint(dir: string): Promise<LlamaCheckpoint> {
  const rawConfig = await readConfigJson(dir);
  const config = parseLlamaConfig(rawConfig);
  const shapes = expectedShapes(config);
  const files = await openCheckpoint(dir);
  try {
    const present = new Set(files.names);
    for (const [name, shape] of shapes) {
      if (!present.has(name)) {
        throw new CheckpointError(
          `loadLlama: Cannot find tensor "${name}" in "${dir}": the ${config.modelType} config (${config.numLayers} layers) requires it`,
        );
      }
      const info = await files.info(name);
      if (formatShape(info.shape) !== formatShape(shape)) {
        throw new CheckpointError(
          `loadLlama: Cannot use tensor "${name}" of shape ${formatShape(info.shape)}: the config implies ${
            formatShape(shape)
          }`,
        );
      }
    }
    const extra = files.names.filter((n) => !shapes.has(n));
    if (extra.length > 0) {
      throw new CheckpointError(
        `loadLlama: Cannot use tensor "${extra[0]}"${
          extra.length > 1 ? ` (and ${extra.length - 1} more)` : ""
        } in "${dir}": the ${config.modelType} architecture does not consume it, and nothing is ignored silently`,
      );
    }
  } catch (e) {
    files.close();
    throw e;
  }
  const read = async (name: string): Promise<Tensor<"f32">> => {
    if (!shapes.has(name)) {
      throw new CheckpointError(`LlamaCheckpoint.read: Cannot read "${name}": not a tensor of this architecture`);
    }
    const t = await files.read(name);
    return t.dtype === "f32" ? (t as Tensor<"f32">) : astype(t, "f32");
  };
  return {
    dir,
    config,
    rawConfig,
    shapes,
    files,
    read,
    async readPrefix(prefix: string) {
      const out = new Map<string, Tensor<"f32">>();
      for (const name of shapes.keys()) if (name.startsWith(prefix)) out.set(name, await read(name));
      return out;
    },
    close: () => files.close(),
    [Symbol.dispose]: () => files.close(),
  };
}

/**
 * Loads a Llama-family model from a local directory, every weight in f32 in memory. For
 * models larger than memory use {@link openLlamaCheckpoint} and the streaming pipeline.
 *
 * @param dir directory holding `config.json` and the safetensors file(s)
 * @param options `ops` (default `getCpuOps()`), `onProgress`
 * @returns the model, ready for `forward`
 * @throws UnsupportedModelError for unsupported configs; CheckpointError for missing, extra or
 *   mis-shaped tensors; safetensors errors (with the file name) for damaged files
 */
export async function loadLlama(dir: string, options: LoadOptions = {}): Promise<LlamaModel> {
  using ckpt = await openLlamaCheckpoint(dir);
  const weights = new Map<string, Tensor<"f32">>();
  let done = 0;
  for (const name of ckpt.shapes.keys()) {
    weights.set(name, await ckpt.read(name));
    options.onProgress?.(++done, ckpt.shapes.size, name);
  }
  return new LlamaModel(ckpt.config, weights, options.ops ?? getCpuOps(), dir);
}

/** Path of the bundled model shipped in `data/models/`. */
export const BUNDLED_MODEL_DIR: string = new URL("../../data/models/sotu-llama-d256-l4", import.meta.url).pathname;
