// SPDX-License-Identifier: MIT
/**
 * The fuzzed loaders: for each, a valid fixture (written into a directory once), the file that
 * gets mutated, the error classes the loader documents, and a `load` that runs the public loader
 * and checks that what it returned matches what the file declares.
 *
 * | target      | loader                          | allowed errors                                  |
 * | ----------- | ------------------------------- | ----------------------------------------------- |
 * | safetensors | openSafetensors + read          | TypeError, RangeError (house-style message)     |
 * | index       | openCheckpoint (sharded) + read | TypeError, RangeError, Deno.errors.NotFound     |
 * | ipc         | loadTensors                     | TensorFileError                                 |
 * | onnx        | loadOnnx (+ external data)      | OnnxFormatError (incl. OnnxExternalDataError)   |
 * | config      | openLlamaCheckpoint             | CheckpointError, UnsupportedModelError          |
 * | tokenizer   | loadTokenizer                   | TokenizerError                                  |
 *
 * Every allowed error must also follow the house style `fn: Cannot ...`, so a library's
 * internal TypeError ("Cannot read properties of undefined") counts as a crash.
 */
// deno-lint-ignore-file camelcase -- tokenizer.json keys are snake_case by format
import { openSafetensors, writeSafetensors } from "../../lib/tensor/safetensors.ts";
import { openCheckpoint } from "../../lib/tensor/safetensors_checkpoint.ts";
import { loadTensors, tensorsToIPC } from "../../lib/tensor/ipc.ts";
import { TensorFileError } from "../../lib/tensor/errors.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { loadOnnx, OnnxFormatError, serializeOnnx } from "../../lib/onnx/load.ts";
import { floatTensorFromProto, protoDims } from "../../lib/onnx/tensor_proto.ts";
import { DataType } from "../../lib/onnx/proto.ts";
import { BUNDLED_MODEL_DIR, CheckpointError, openLlamaCheckpoint } from "../../lib/model/load.ts";
import { UnsupportedModelError } from "../../lib/model/config.ts";
import { loadTokenizer, TokenizerError } from "../../lib/model/tokenizer.ts";
import { ipcFieldPositions } from "../tensor/_ipc_fields.ts";
import { externalDataModel } from "../onnx/_graphs.ts";
import type { LengthField } from "./_mutate.ts";

/** Names of the fuzzed loaders. */
export const TARGETS = ["safetensors", "index", "ipc", "onnx", "config", "tokenizer"] as const;
/** One fuzzed loader. */
export type TargetName = (typeof TARGETS)[number];

/** What a fixture directory holds: the files (original bytes) and which may be mutated. */
export interface Fixture {
  /** File name → original bytes, written into every case directory. */
  files: Record<string, Uint8Array>;
  /** Files a mutation may hit (one per case). */
  mutable: string[];
  /** Known length fields per mutable file (binary formats). */
  fields: Record<string, LengthField[]>;
  /** Whether a mutable file is JSON text. */
  text: Record<string, boolean>;
  /** Files linked (not copied) into every case directory: large and never mutated. */
  links: Record<string, string>;
}

const enc = new TextEncoder();

function ramp(dtype: "f32" | "i8" | "i32" | "f16", shape: number[], k: number): Tensor {
  const t = new Tensor(dtype, shape);
  for (let i = 0; i < t.size; i++) t.data[i] = dtype === "f16" ? 0x3c00 + ((i * k) & 0xff) : ((i * k) % 97) - 40;
  return t;
}

/** The tensors of the safetensors, index and IPC fixtures (several dtypes and ranks). */
export function fixtureTensors(): Record<string, Tensor> {
  return {
    "layers.0.weight": ramp("f32", [6, 10], 3),
    "layers.0.bias": ramp("f16", [10], 5),
    "codes": ramp("i8", [3, 4, 5], 7),
    "index": ramp("i32", [7], 11),
  };
}

async function fileBytes(write: (path: string) => Promise<void>): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "quantlab_fuzz_fixture_" });
  try {
    await write(`${dir}/f`);
    return await Deno.readFile(`${dir}/f`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Builds the valid fixture of a target. */
export async function buildFixture(target: TargetName): Promise<Fixture> {
  const none = { fields: {}, text: {}, links: {} };
  const t = fixtureTensors();
  switch (target) {
    case "safetensors": {
      const bytes = await fileBytes((p) => writeSafetensors(p, t, { format: "pt" }));
      return {
        ...none,
        files: { "model.safetensors": bytes },
        mutable: ["model.safetensors"],
        fields: {
          "model.safetensors": [{ at: 0, size: 8 }],
        },
      };
    }
    case "index": {
      const [a, b] = [Object.entries(t).slice(0, 2), Object.entries(t).slice(2)];
      const shardA = await fileBytes((p) => writeSafetensors(p, Object.fromEntries(a as [string, Tensor][])));
      const shardB = await fileBytes((p) => writeSafetensors(p, Object.fromEntries(b as [string, Tensor][])));
      const weightMap = Object.fromEntries([
        ...a.map(([n]) => [n, "model-00001-of-00002.safetensors"]),
        ...b.map(([n]) => [n, "model-00002-of-00002.safetensors"]),
      ]);
      const index = enc.encode(JSON.stringify({ metadata: { total_size: 1234 }, weight_map: weightMap }, null, 2));
      return {
        ...none,
        files: {
          "model.safetensors.index.json": index,
          "model-00001-of-00002.safetensors": shardA,
          "model-00002-of-00002.safetensors": shardB,
        },
        mutable: ["model.safetensors.index.json"],
        text: { "model.safetensors.index.json": true },
      };
    }
    case "ipc": {
      const bytes = tensorsToIPC(t);
      const p = ipcFieldPositions(bytes);
      const fields: LengthField[] = [
        ...[...p.vectorCounts, ...p.lengths].map((at) => ({ at, size: 4 as const })),
        ...[p.batchLength, ...p.nodeAndBufferFields].map((at) => ({ at, size: 8 as const })),
      ];
      return { ...none, files: { "t.arrow": bytes }, mutable: ["t.arrow"], fields: { "t.arrow": fields } };
    }
    case "onnx": {
      const { model, data } = externalDataModel("weights.bin");
      return {
        ...none,
        // Plain copies: serializeOnnx returns a Node Buffer, whose slice() would alias.
        files: { "model.onnx": new Uint8Array(serializeOnnx(model)), "weights.bin": new Uint8Array(data) },
        mutable: ["model.onnx", "weights.bin"],
      };
    }
    case "config": {
      const config = await Deno.readFile(`${BUNDLED_MODEL_DIR}/config.json`);
      return {
        ...none,
        files: { "config.json": config },
        mutable: ["config.json"],
        text: { "config.json": true },
        links: { "model.safetensors": `${BUNDLED_MODEL_DIR}/model.safetensors` },
      };
    }
    case "tokenizer":
      return {
        ...none,
        files: { "tokenizer.json": enc.encode(JSON.stringify(TOKENIZER, null, 1)) },
        mutable: ["tokenizer.json"],
        text: { "tokenizer.json": true },
      };
  }
}

/** A small byte-level BPE tokenizer.json (Hugging Face format). */
const TOKENIZER = {
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: [{ id: 34, content: "<s>", single_word: false, lstrip: false, rstrip: false, special: true }],
  normalizer: null,
  pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: null,
  decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  model: {
    type: "BPE",
    dropout: null,
    unk_token: null,
    fuse_unk: false,
    byte_fallback: false,
    vocab: Object.fromEntries(
      [..."abcdefghijklmnopqrstuvwxyz", "Ġ", "th", "the", "Ġthe", "at", "Ġc", "Ġcat", "."].map((s, i) => [s, i]),
    ),
    merges: ["t h", "th e", "Ġ the", "a t", "Ġ c", "Ġc at"],
  },
};

/** The outcome of one load. */
export type Outcome =
  | { kind: "ok" }
  | { kind: "typed"; message: string }
  | { kind: "crash" | "wrong"; message: string };

const HOUSE_STYLE = /^[A-Za-z_.]+: Cannot /;

function classify(e: unknown, allowed: readonly (new (...a: never[]) => Error)[]): Outcome {
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const ok = allowed.some((C) => e instanceof C) && HOUSE_STYLE.test((e as Error).message);
  return ok ? { kind: "typed", message } : { kind: "crash", message };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Tensor dtype of a safetensors dtype as `read()` returns it. */
const READ_DTYPE: Record<string, string> = {
  F32: "f32",
  F64: "f64",
  F16: "f16",
  BF16: "f32",
  I8: "i8",
  U8: "u8",
  I32: "i32",
  U32: "u32",
};

/** Declared entries of a safetensors file, parsed independently of the loader (undefined: not parseable). */
function declaredSafetensors(bytes: Uint8Array): Map<string, { dtype: string; shape: number[] }> | undefined {
  try {
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    return new Map(Object.entries(header).filter(([k]) => k !== "__metadata__") as [string, never][]);
  } catch {
    return undefined;
  }
}

/** Runs the target's loader on a case directory and judges the result. */
export async function loadCase(target: TargetName, dir: string): Promise<Outcome> {
  const expected = fixtureTensors();
  const check = (name: string, t: Tensor, want: { dtype: string; shape: readonly number[] } | undefined) =>
    want === undefined || t.dtype !== want.dtype || !sameShape(t.shape, want.shape)
      ? `"${name}" loaded as ${t.dtype} [${t.shape}], declared ${want?.dtype} [${want?.shape ?? "absent"}]`
      : undefined;
  switch (target) {
    case "safetensors": {
      let problem: string | undefined;
      try {
        using f = await openSafetensors(`${dir}/model.safetensors`);
        const declared = declaredSafetensors(await Deno.readFile(`${dir}/model.safetensors`));
        for (const name of f.names) {
          const d = declared?.get(name);
          const t = await f.read(name);
          problem ??= check(name, t, d && { dtype: READ_DTYPE[d.dtype] ?? "?", shape: d.shape });
        }
      } catch (e) {
        return classify(e, [TypeError, RangeError]);
      }
      return problem === undefined ? { kind: "ok" } : { kind: "wrong", message: problem };
    }
    case "index": {
      let problem: string | undefined;
      try {
        using ck = await openCheckpoint(dir);
        for (const name of ck.names) problem ??= check(name, await ck.read(name), expected[name]);
      } catch (e) {
        return classify(e, [TypeError, RangeError, Deno.errors.NotFound]);
      }
      return problem === undefined ? { kind: "ok" } : { kind: "wrong", message: problem };
    }
    case "ipc": {
      let got: Record<string, Tensor>;
      try {
        got = await loadTensors(`${dir}/t.arrow`);
      } catch (e) {
        // The verification must catch everything: an apache-arrow exception getting through is a gap.
        if (e instanceof TensorFileError && e.field === "apache-arrow") return { kind: "crash", message: e.message };
        return classify(e, [TensorFileError]);
      }
      const names = Object.keys(got);
      if (names.join() !== Object.keys(expected).join()) return { kind: "wrong", message: `names ${names}` };
      const problem = names.map((n) => check(n, got[n] as Tensor, expected[n])).find((p) => p !== undefined);
      return problem === undefined ? { kind: "ok" } : { kind: "wrong", message: problem };
    }
    case "onnx": {
      try {
        const m = await loadOnnx(`${dir}/model.onnx`);
        const floats = [DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16] as number[];
        for (const init of m.graph.initializer) {
          if (!floats.includes(init.dataType ?? 0)) continue;
          const t = floatTensorFromProto(init);
          if (!sameShape(t.shape, protoDims(init)) || t.data.length !== t.size) {
            return { kind: "wrong", message: `"${init.name}" loaded as [${t.shape}], declared [${protoDims(init)}]` };
          }
        }
      } catch (e) {
        return classify(e, [OnnxFormatError]);
      }
      return { kind: "ok" };
    }
    case "config": {
      try {
        using ck = await openLlamaCheckpoint(dir);
        for (const [name, shape] of ck.shapes) {
          const info = await ck.files.info(name);
          if (!sameShape(info.shape, shape)) {
            return { kind: "wrong", message: `"${name}" [${info.shape}] vs [${shape}]` };
          }
        }
        // A config that loads must describe a model whose forward pass is finite.
        const c = ck.config;
        const positive = { eps: c.rmsNormEps, theta: c.ropeTheta, layers: c.numLayers, positions: c.maxPositions };
        for (const [k, v] of Object.entries(positive)) {
          if (!(Number.isFinite(v) && v > 0)) return { kind: "wrong", message: `config ${k} = ${v} accepted` };
        }
      } catch (e) {
        return classify(e, [CheckpointError, UnsupportedModelError]);
      }
      return { kind: "ok" };
    }
    case "tokenizer": {
      let tok;
      try {
        tok = await loadTokenizer(dir);
      } catch (e) {
        return classify(e, [TokenizerError]);
      }
      try {
        const ids = tok.encode("the cat. the hat");
        const bad = [...ids].find((id) => !(id >= 0 && id < tok.vocabSize));
        if (bad !== undefined) return { kind: "wrong", message: `id ${bad} outside vocab of ${tok.vocabSize}` };
        tok.decode(ids);
      } catch (e) {
        return { kind: "wrong", message: `loaded, then encode/decode threw ${(e as Error).message}` };
      }
      return { kind: "ok" };
    }
  }
}
