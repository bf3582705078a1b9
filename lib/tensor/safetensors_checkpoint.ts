// SPDX-License-Identifier: MIT
/**
 * Hugging Face–style checkpoints, single-file or sharded, behind one lazy interface.
 *
 * A checkpoint is either a `.safetensors` file, or a directory holding `model.safetensors`, or a
 * directory holding `model.safetensors.index.json` (`{"metadata": {...}, "weight_map": {tensor:
 * shard file}}`) and its shards. Opening reads the index (or the single header) and checks that
 * every shard file exists; each shard is opened, header only, the first time one of its tensors is
 * needed, and each tensor is read by byte offset (see `safetensors_read.ts`).
 *
 * @module
 */
import type { RawTensor, SafetensorsInfo } from "./_safetensors_header.ts";
import { openSafetensors, rawToTensor, type SafetensorsFile } from "./safetensors_read.ts";
import type { Tensor } from "./tensor.ts";

/** File name of a sharded checkpoint's index. */
export const INDEX_FILE = "model.safetensors.index.json";
/** File name of a single-file checkpoint. */
export const SINGLE_FILE = "model.safetensors";

/** A lazily read checkpoint (see {@link openCheckpoint}). */
export interface Checkpoint {
  /** The path it was opened from (file or directory). */
  readonly path: string;
  /** All tensor names, in index (or header) order. */
  readonly names: readonly string[];
  /** Shard file names, in order of first appearance. */
  readonly shards: readonly string[];
  /** The index's `metadata` object, or the single file's `__metadata__`. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The shard file holding `name`. */
  shardOf(name: string): string;
  /** Header entry of `name` (opens its shard on first use). */
  info(name: string): Promise<SafetensorsInfo>;
  /** Reads `name` as a Tensor (BF16 → f32), reading only its bytes. */
  read(name: string): Promise<Tensor>;
  /** Reads the raw bytes of `name` in its safetensors dtype. */
  readRaw(name: string): Promise<RawTensor>;
  /** Closes every opened shard. */
  close(): void;
  /** Same as close, for `using`. */
  [Symbol.dispose](): void;
}

/**
 * Opens a single-file or sharded safetensors checkpoint.
 *
 * @param path a `.safetensors` file, or a directory with `model.safetensors.index.json` or
 *   `model.safetensors`
 * @throws Deno.errors.NotFound naming the missing file (and a tensor mapped to a missing shard);
 *   TypeError for a malformed index
 *
 * @example Sharded checkpoint
 * ```ts
 * import { openCheckpoint, writeSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await writeSafetensors(`${dir}/a.safetensors`, { x: new Tensor("f32", [1], new Float32Array([1])) });
 * await writeSafetensors(`${dir}/b.safetensors`, { y: new Tensor("f32", [1], new Float32Array([2])) });
 * await Deno.writeTextFile(
 *   `${dir}/model.safetensors.index.json`,
 *   JSON.stringify({ metadata: {}, weight_map: { x: "a.safetensors", y: "b.safetensors" } }),
 * );
 * using ckpt = await openCheckpoint(dir);
 * assert.deepEqual(ckpt.names, ["x", "y"]);
 * assert.equal(ckpt.shardOf("y"), "b.safetensors");
 * assert.deepEqual([...(await ckpt.read("y")).data], [2]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openCheckpoint(path: string): Promise<Checkpoint> {
  const fail = (why: string) => `openCheckpoint: Cannot open "${path}": ${why}`;
  const stat = await Deno.stat(path);
  if (stat.isFile) return singleFile(path, path.split("/").at(-1) as string, await openSafetensors(path));
  const dir = path.replace(/\/+$/, "");
  if (await exists(`${dir}/${INDEX_FILE}`)) return await sharded(path, dir, fail);
  if (await exists(`${dir}/${SINGLE_FILE}`)) {
    return singleFile(path, SINGLE_FILE, await openSafetensors(`${dir}/${SINGLE_FILE}`));
  }
  throw new Deno.errors.NotFound(fail(`found neither "${INDEX_FILE}" nor "${SINGLE_FILE}"`));
}

function singleFile(path: string, shard: string, file: SafetensorsFile): Checkpoint {
  return {
    path,
    names: file.names,
    shards: [shard],
    metadata: file.metadata,
    shardOf: (name) => (file.info(name), shard),
    info: (name) => Promise.resolve().then(() => file.info(name)),
    read: (name) => file.read(name),
    readRaw: (name) => file.readRaw(name),
    close: () => file.close(),
    [Symbol.dispose]: () => file.close(),
  };
}

async function sharded(path: string, dir: string, fail: (why: string) => string): Promise<Checkpoint> {
  const text = await Deno.readTextFile(`${dir}/${INDEX_FILE}`);
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch (cause) {
    throw new TypeError(fail(`"${INDEX_FILE}" is not valid JSON`), { cause });
  }
  const { weight_map: map, metadata = {} } = (index ?? {}) as { weight_map?: unknown; metadata?: unknown };
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw new TypeError(fail(`"${INDEX_FILE}" has no "weight_map" object`));
  }
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new TypeError(fail(`"${INDEX_FILE}" has a "metadata" that is not an object`));
  }
  const weightMap = new Map<string, string>();
  const firstTensor = new Map<string, string>(); // shard -> a tensor it holds, for messages
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== "string" || shard === "" || shard.startsWith("/") || shard.split("/").includes("..")) {
      throw new TypeError(
        fail(`"${INDEX_FILE}" maps tensor "${name}" to ${JSON.stringify(shard)}, not a file name inside the directory`),
      );
    }
    weightMap.set(name, shard);
    if (!firstTensor.has(shard)) firstTensor.set(shard, name);
  }
  for (const [shard, name] of firstTensor) {
    if (!(await exists(`${dir}/${shard}`))) {
      throw new Deno.errors.NotFound(
        fail(`shard "${shard}" is missing (it holds tensor "${name}" according to "${INDEX_FILE}")`),
      );
    }
  }
  const opened = new Map<string, Promise<SafetensorsFile>>();
  const handles = new Set<SafetensorsFile>();
  let closed = false;
  const shardOf = (name: string): string => {
    const shard = weightMap.get(name);
    if (shard === undefined) {
      throw new RangeError(`Checkpoint: Cannot find tensor "${name}" in "${path}" (${weightMap.size} tensors)`);
    }
    return shard;
  };
  const fileFor = async (name: string): Promise<SafetensorsFile> => {
    const shard = shardOf(name);
    let file = opened.get(shard);
    if (file === undefined) {
      file = openSafetensors(`${dir}/${shard}`).then((h) => {
        if (closed) h.close();
        else handles.add(h);
        return h;
      });
      opened.set(shard, file);
    }
    let f: SafetensorsFile;
    try {
      f = await file;
    } catch (cause) {
      opened.delete(shard); // a failed open is retried next time, not cached
      const Class = cause instanceof Deno.errors.NotFound ? Deno.errors.NotFound : TypeError;
      throw new Class(
        `Checkpoint: Cannot open shard "${shard}" of "${path}" for tensor "${name}": ${(cause as Error).message}`,
        { cause },
      );
    }
    if (closed) throw new TypeError(`Checkpoint: Cannot read tensor "${name}": "${path}" is closed`);
    if (!f.has(name)) {
      throw new TypeError(
        `Checkpoint: Cannot read tensor "${name}": "${INDEX_FILE}" maps it to shard "${shard}", which does not hold it`,
      );
    }
    return f;
  };
  const close = () => {
    closed = true;
    for (const h of handles) h.close();
    handles.clear();
  };
  return {
    path,
    names: Object.freeze([...weightMap.keys()]),
    shards: Object.freeze([...firstTensor.keys()]),
    metadata: Object.freeze({ ...metadata }),
    shardOf,
    info: async (name) => (await fileFor(name)).info(name),
    read: async (name) =>
      rawToTensor(
        `Checkpoint.read: Cannot read tensor "${name}" from shard "${shardOf(name)}"`,
        await (await fileFor(name)).readRaw(name),
      ),
    readRaw: async (name) => (await fileFor(name)).readRaw(name),
    close,
    [Symbol.dispose]: close,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
