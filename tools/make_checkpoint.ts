// SPDX-License-Identifier: MIT
/**
 * `deno run -A tools/make_checkpoint.ts --out DIR [--arch llama] [--hidden 2048] [--ffn 5632]
 * [--heads 32] [--kv-heads 4] [--layers 4] [--vocab 32000] [--dtype bf16] [--shards 2] [--seed 0]
 * [--tokenizer DIR]`: writes a random-weight checkpoint in the Hugging Face layout
 * (`config.json`, sharded safetensors with `model.safetensors.index.json`) of any supported
 * shape and architecture, for benchmarks and tests at real scale.
 *
 * Weights are drawn like a fresh Hugging Face model (`initializer_range` 0.02): linears and
 * embeddings N(0, 0.02²), norms 1, biases N(0, 0.02²) so that they matter, which keeps
 * activations in a realistic range. The tensor list comes from the config (`expectedShapes`), so
 * every architecture the loader knows is generated the way the loader expects it.
 *
 * Memory: tensors are generated one at a time directly in their stored dtype and appended through
 * the streaming safetensors writer, so a 1.1B-shaped slice never sits in memory (peak: the
 * largest tensor in its stored dtype, e.g. 131 MB for a 32000×2048 bf16 embedding).
 *
 * @module
 */
import { createSafetensorsWriter, type SafetensorsEntry } from "../lib/tensor/safetensors_write.ts";
import { INDEX_FILE } from "../lib/tensor/safetensors_checkpoint.ts";
import { f32ToBf16Bits, f32ToF16Bits } from "../lib/tensor/numeric.ts";
import { Rng } from "../lib/tensor/random.ts";
import { expectedShapes, parseLlamaConfig } from "../lib/model/config.ts";
import { runCli } from "./_cli.ts";

/** Architectures the generator writes configs for. */
export const ARCHS = ["llama", "llama3", "llama-linear", "mistral", "qwen2", "qwen3"] as const;
/** Stored dtypes. */
export const DTYPES = ["bf16", "f16", "f32"] as const;

/** What to generate. */
export interface CheckpointSpec {
  arch: typeof ARCHS[number];
  hidden: number;
  ffn: number;
  heads: number;
  kvHeads: number;
  layers: number;
  vocab: number;
  dtype: typeof DTYPES[number];
  shards: number;
  seed: number;
  /** Sequence length the config allows (default 4096). */
  maxPositions?: number;
}

/** The `config.json` object of a spec (Hugging Face field names). */
export function checkpointConfig(s: CheckpointSpec): Record<string, unknown> {
  const torchDtype = { bf16: "bfloat16", f16: "float16", f32: "float32" }[s.dtype];
  const base: Record<string, unknown> = {
    architectures: ["LlamaForCausalLM"],
    "model_type": "llama",
    "vocab_size": s.vocab,
    "hidden_size": s.hidden,
    "intermediate_size": s.ffn,
    "num_hidden_layers": s.layers,
    "num_attention_heads": s.heads,
    "num_key_value_heads": s.kvHeads,
    "max_position_embeddings": s.maxPositions ?? 4096,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000,
    "hidden_act": "silu",
    "tie_word_embeddings": false,
    "torch_dtype": torchDtype,
  };
  switch (s.arch) {
    case "llama":
      return base;
    case "llama3":
      return {
        ...base,
        "rope_theta": 500000,
        "rope_scaling": {
          "rope_type": "llama3",
          factor: 8,
          "low_freq_factor": 1,
          "high_freq_factor": 4,
          "original_max_position_embeddings": 8192,
        },
      };
    case "llama-linear":
      return { ...base, "rope_scaling": { "rope_type": "linear", factor: 2 } };
    case "mistral":
      return { ...base, architectures: ["MistralForCausalLM"], "model_type": "mistral", "sliding_window": 4096 };
    case "qwen2":
      return { ...base, architectures: ["Qwen2ForCausalLM"], "model_type": "qwen2", "tie_word_embeddings": true };
    case "qwen3":
      return {
        ...base,
        architectures: ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "head_dim": s.hidden / s.heads,
        "tie_word_embeddings": true,
      };
  }
}

/** How tensor `name` is initialized: norms 1, everything else N(0, 0.02²). */
function initOf(name: string): "ones" | "normal" {
  return /norm\.weight$/.test(name) ? "ones" : "normal";
}

/**
 * Writes the checkpoint of `s` into `dir` (created).
 *
 * @param dir output directory
 * @param s the shape, architecture, dtype, shard count and seed
 * @returns the shard files written
 * @throws UnsupportedModelError when the config is not one the loader accepts
 */
export async function writeRandomCheckpoint(dir: string, s: CheckpointSpec): Promise<string[]> {
  const raw = checkpointConfig(s);
  const shapes = expectedShapes(parseLlamaConfig(raw));
  const names = [...shapes.keys()];
  const sizeOf = (n: string) => (shapes.get(n) as readonly number[]).reduce((a, b) => a * b, 1);
  const total = names.reduce((a, n) => a + sizeOf(n), 0);
  // Shards split the tensor list into runs of about total/shards values each.
  const shardOf: number[] = [];
  let acc = 0;
  for (const n of names) {
    shardOf.push(Math.min(s.shards - 1, Math.floor((acc * s.shards) / total)));
    acc += sizeOf(n);
  }
  const files = Array.from(
    { length: s.shards },
    (_, i) => `model-${String(i + 1).padStart(5, "0")}-of-${String(s.shards).padStart(5, "0")}.safetensors`,
  );
  await Deno.mkdir(dir, { recursive: true });
  const stDtype = ({ bf16: "BF16", f16: "F16", f32: "F32" } as const)[s.dtype];
  const bytesPer = s.dtype === "f32" ? 4 : 2;
  const weightMap: Record<string, string> = {};
  const rng = new Rng(s.seed);
  for (let f = 0; f < s.shards; f++) {
    const mine = names.filter((_, i) => shardOf[i] === f);
    const entries: Record<string, SafetensorsEntry> = {};
    for (const n of mine) entries[n] = { dtype: stDtype, shape: shapes.get(n) as readonly number[] };
    const writer = await createSafetensorsWriter(`${dir}/${files[f]}`, entries, { format: "pt" });
    try {
      for (const n of mine) {
        const size = sizeOf(n);
        const bytes = new Uint8Array(size * bytesPer);
        const view = s.dtype === "f32" ? new Float32Array(bytes.buffer) : new Uint16Array(bytes.buffer);
        const ones = initOf(n) === "ones";
        const encode = s.dtype === "f32" ? (x: number) => x : s.dtype === "bf16" ? f32ToBf16Bits : f32ToF16Bits;
        for (let i = 0; i < size; i++) view[i] = encode(ones ? 1 : 0.02 * rng.normal());
        await writer.write(n, { dtype: stDtype, shape: shapes.get(n) as readonly number[], data: bytes });
        weightMap[n] = files[f] as string;
      }
    } catch (e) {
      await writer[Symbol.asyncDispose]();
      throw e;
    }
    await writer.close();
  }
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(raw, null, 2) + "\n");
  await Deno.writeTextFile(
    `${dir}/${INDEX_FILE}`,
    JSON.stringify({ metadata: { "total_size": total * bytesPer }, "weight_map": weightMap }, null, 2) + "\n",
  );
  return files;
}

if (import.meta.main) {
  await runCli({
    task: "make_checkpoint",
    summary:
      "Writes a random-weight Hugging Face-layout checkpoint (config.json, sharded safetensors, index) of any supported shape and architecture, streaming the writes.",
    flags: {
      out: { type: "path", path: "out-dir", required: true, help: "output directory (created)" },
      arch: { type: "enum", choices: ARCHS, default: "llama", help: "architecture and its config fields" },
      hidden: { type: "int", min: 2, default: 2048, help: "hidden size" },
      ffn: { type: "int", min: 1, default: 5632, help: "intermediate (MLP) size" },
      heads: { type: "int", min: 1, default: 32, help: "attention heads" },
      "kv-heads": { type: "int", min: 1, default: 4, help: "key/value heads" },
      layers: { type: "int", min: 1, default: 4, help: "decoder layers" },
      vocab: { type: "int", min: 2, default: 32000, help: "vocabulary size" },
      dtype: { type: "enum", choices: DTYPES, default: "bf16", help: "stored dtype" },
      shards: { type: "int", min: 1, default: 2, help: "safetensors shards" },
      seed: { type: "int", min: 0, default: 0, help: "seed of the weights" },
      tokenizer: {
        type: "path",
        path: "dir",
        help:
          "directory whose tokenizer.json / tokenizer_config.json are copied in (e.g. from tools/make_tokenizer.ts)",
      },
    },
  }, async (v) => {
    const t0 = performance.now();
    const files = await writeRandomCheckpoint(v.out, {
      arch: v.arch,
      hidden: v.hidden,
      ffn: v.ffn,
      heads: v.heads,
      kvHeads: v["kv-heads"],
      layers: v.layers,
      vocab: v.vocab,
      dtype: v.dtype,
      shards: v.shards,
      seed: v.seed,
    });
    if (v.tokenizer) {
      for (const f of ["tokenizer.json", "tokenizer_config.json"]) {
        try {
          await Deno.copyFile(`${v.tokenizer}/${f}`, `${v.out}/${f}`);
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
      }
    }
    console.log(
      `make_checkpoint: ${v.out} (${files.length} shards) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  });
}
