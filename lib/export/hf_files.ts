// SPDX-License-Identifier: MIT
/**
 * The parts of a Hugging Face checkpoint directory every exporter writes the same way:
 *
 * - {@link exportConfig}: `config.json` copied from the source checkpoint (architectures,
 *   bos/eos ids and every other field as they were, never forced), checked against the model's
 *   parsed config, with only `torch_dtype` set; {@link toHfConfig} when there is no source;
 * - {@link copySideFiles}: tokenizer files and `generation_config.json` copied unchanged;
 * - {@link toF16Checked}: f32 → f16 (round to nearest even) refusing values beyond ±65504;
 * - {@link writeShardedSafetensors}: size-bounded shards as `save_pretrained` writes them — one
 *   `model.safetensors`, or `model-0000i-of-0000N.safetensors` plus
 *   `model.safetensors.index.json` — with metadata `{"format": "pt"}`.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { f16BitsToF32, f32ToF16Bits } from "../tensor/numeric.ts";
import { type SafetensorsValue, writeSafetensors } from "../tensor/safetensors_write.ts";
import { INDEX_FILE, SINGLE_FILE } from "../tensor/safetensors_checkpoint.ts";
import { type LlamaConfig, parseLlamaConfig } from "../model/config.ts";
import { toHfConfig } from "../model/hf_config.ts";
import { readConfigJson } from "../model/load.ts";
import type { LlamaModel } from "../model/llama.ts";

/** Thrown when a model cannot be written in a Hugging Face layout as asked. */
export class HfExportError extends RangeError {
  /** Error name. */
  override name = "HfExportError";
}

/** Files copied unchanged from the source checkpoint when present. */
export const TOKENIZER_FILES: readonly string[] = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "tokenizer.model",
  "vocab.json",
  "merges.txt",
  "added_tokens.json",
  "chat_template.jinja",
  "generation_config.json",
];

/** `save_pretrained`'s default bound on a shard's tensor bytes ("5GB", decimal). */
export const DEFAULT_MAX_SHARD_SIZE = 5_000_000_000;

/** Largest finite f16 value. */
const F16_MAX = 65504;

/** Whether anything (file, directory, link) exists at `path`; other stat errors are thrown. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) =>
      x !== null && typeof x === "object" && !Array.isArray(x)
        ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : x,
  ) ?? "undefined";
}

/**
 * The `config.json` object of an export.
 *
 * @param config the exported model's parsed config
 * @param torchDtype `torch_dtype` to record (`float16`, `float32`); `dtype` too when the source has it
 * @param sourceDir checkpoint the model came from; its `config.json` is copied field for field
 * @returns a JSON-ready object without `quantization_config`
 * @throws {HfExportError} when the source config describes another model than `config`
 */
export async function exportConfig(
  config: LlamaConfig,
  torchDtype: string,
  sourceDir?: string,
): Promise<Record<string, unknown>> {
  if (sourceDir === undefined) return { ...toHfConfig(config), "torch_dtype": torchDtype };
  const raw = { ...await readConfigJson(sourceDir) };
  const src = parseLlamaConfig(raw) as unknown as Record<string, unknown>;
  const own = config as unknown as Record<string, unknown>;
  const differ = [...new Set([...Object.keys(src), ...Object.keys(own)])]
    .filter((k) => canonicalJson(src[k]) !== canonicalJson(own[k]));
  if (differ.length > 0) {
    const k = differ[0]!;
    throw new HfExportError(
      `exportConfig: Cannot copy "${sourceDir}/config.json": it describes another model (${
        differ.join(", ")
      } differ; ${k} is ${canonicalJson(src[k])} there, ${canonicalJson(own[k])} in the exported model)`,
    );
  }
  delete raw["quantization_config"];
  raw["torch_dtype"] = torchDtype;
  if ("dtype" in raw) raw["dtype"] = torchDtype; // transformers ≥ 4.56 writes `dtype` and reads it first
  return raw;
}

/**
 * The checkpoint an export copies its config and tokenizer files from.
 *
 * @param model the exported model
 * @param sourceDir an explicit source directory, returned as is
 * @returns `sourceDir`, else `model.source` when it is a directory holding a config.json, else undefined
 */
export function modelSourceDir(model: LlamaModel, sourceDir?: string): string | undefined {
  if (sourceDir !== undefined) return sourceDir;
  try {
    return Deno.statSync(`${model.source}/config.json`).isFile ? model.source : undefined;
  } catch {
    return undefined; // "memory" or a description: the config comes from model.config
  }
}

/**
 * Copies {@link TOKENIZER_FILES} present in `sourceDir` into `dir`.
 *
 * @param sourceDir the source checkpoint
 * @param dir the export directory (exists)
 * @returns the names copied
 */
export async function copySideFiles(sourceDir: string, dir: string): Promise<string[]> {
  const copied: string[] = [];
  for (const f of TOKENIZER_FILES) {
    if (!await exists(`${sourceDir}/${f}`)) continue;
    await Deno.copyFile(`${sourceDir}/${f}`, `${dir}/${f}`);
    copied.push(f);
  }
  return copied;
}

/**
 * Converts a tensor to f16, refusing values whose magnitude rounds beyond the f16 range.
 *
 * @param name tensor name for the message
 * @param t f32 values, any shape
 * @returns f16 bits, same shape (round to nearest even)
 * @throws {HfExportError} naming the tensor, the flat index and the value that overflows (or is not finite)
 */
export function toF16Checked(name: string, t: Tensor<"f32">): Tensor<"f16"> {
  const out = new Uint16Array(t.size);
  for (let i = 0; i < t.size; i++) {
    const v = t.data[i] as number;
    const h = f32ToF16Bits(v);
    if (!Number.isFinite(f16BitsToF32(h))) {
      throw new HfExportError(
        `toF16Checked: Cannot store "${name}" in f16: element ${i} is ${v}, beyond ±${F16_MAX} (rescale the model or keep it f32)`,
      );
    }
    out[i] = h;
  }
  return new Tensor("f16", t.shape, out);
}

/** Bytes of a value's data. */
function byteSize(v: SafetensorsValue): number {
  return v.data.byteLength;
}

/**
 * Splits tensors into shards of at most `maxShardSize` tensor bytes, in order (a tensor larger
 * than the bound gets a shard of its own, as `save_pretrained` does).
 *
 * @param sizes bytes per tensor, in write order
 * @param maxShardSize bound in bytes (> 0)
 * @returns the shard of each tensor
 */
export function planShards(sizes: readonly number[], maxShardSize: number): number[] {
  if (!(maxShardSize > 0)) {
    throw new HfExportError(`planShards: Cannot shard with maxShardSize ${maxShardSize}: it must be positive`);
  }
  const shard: number[] = [];
  let s = 0, used = 0;
  for (const n of sizes) {
    if (used > 0 && used + n > maxShardSize) {
      s++;
      used = 0;
    }
    shard.push(s);
    used += n;
  }
  return shard;
}

/**
 * Writes tensors as `model.safetensors`, or as numbered shards with `model.safetensors.index.json`
 * when they exceed `maxShardSize`.
 *
 * @param dir output directory (exists)
 * @param entries `[name, value]` in write order
 * @param options `maxShardSize` (bytes, default {@link DEFAULT_MAX_SHARD_SIZE}), extra `metadata` strings
 * @returns the files written (shards, then the index if any)
 */
export async function writeShardedSafetensors(
  dir: string,
  entries: readonly (readonly [string, SafetensorsValue])[],
  options: { maxShardSize?: number; metadata?: Record<string, string> } = {},
): Promise<string[]> {
  const shardOf = planShards(entries.map(([, v]) => byteSize(v)), options.maxShardSize ?? DEFAULT_MAX_SHARD_SIZE);
  const N = (shardOf.at(-1) ?? 0) + 1;
  const metadata = { ...options.metadata, format: "pt" };
  const file = (i: number) =>
    N === 1 ? SINGLE_FILE : `model-${String(i + 1).padStart(5, "0")}-of-${String(N).padStart(5, "0")}.safetensors`;
  const weightMap: Record<string, string> = {};
  const files: string[] = [];
  let total = 0;
  for (let i = 0; i < N; i++) {
    const record: Record<string, SafetensorsValue> = {};
    entries.forEach(([name, v], k) => {
      if (shardOf[k] !== i) return;
      record[name] = v;
      weightMap[name] = file(i);
      total += byteSize(v);
    });
    await writeSafetensors(`${dir}/${file(i)}`, record, metadata);
    files.push(file(i));
  }
  if (N > 1) {
    const index = { metadata: { "total_size": total }, "weight_map": weightMap };
    await Deno.writeTextFile(`${dir}/${INDEX_FILE}`, JSON.stringify(index, null, 2) + "\n");
    files.push(INDEX_FILE);
  }
  return files;
}

/**
 * Runs `fill(tmp)` on a fresh `<dir>.partial` and renames it to `dir` when it succeeds, so a failed
 * export never leaves a directory that looks complete.
 *
 * @param dir final directory
 * @param overwrite replace an existing `dir` (default: refuse)
 * @param fill writes the export into the temporary directory
 * @throws {Deno.errors.AlreadyExists} when `dir` exists and `overwrite` is false
 */
export async function atomicDir<T>(dir: string, overwrite: boolean, fill: (tmp: string) => Promise<T>): Promise<T> {
  const finalDir = dir.replace(/\/+$/, "");
  if (!overwrite && await exists(finalDir)) {
    throw new Deno.errors.AlreadyExists(
      `atomicDir: Cannot write to "${finalDir}": it exists (remove it, choose another directory, or pass overwrite)`,
    );
  }
  const tmp = `${finalDir}.partial`;
  if (await exists(tmp)) await Deno.remove(tmp, { recursive: true }); // left by a crashed run
  await Deno.mkdir(tmp, { recursive: true });
  try {
    const r = await fill(tmp);
    if (await exists(finalDir)) await Deno.remove(finalDir, { recursive: true });
    await Deno.rename(tmp, finalDir);
    return r;
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
}
