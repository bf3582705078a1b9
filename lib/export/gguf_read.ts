// SPDX-License-Identifier: MIT
/**
 * Reading a GGUF export back into quantlab: the file is parsed by `@huggingface/gguf` (an
 * independent reader of the container), each tensor is decoded with ggml's formulas
 * (ggml_blocks.ts) and the Q/K row permutation is undone, giving the f32 weights llama.cpp
 * computes with under their Hugging Face names — quantlab's forward on them is the reference
 * llama.cpp's outputs are compared with.
 *
 * @module
 */
import { gguf } from "@huggingface/gguf";
import { Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import { expectedShapes, type LlamaConfig } from "../model/config.ts";
import { LlamaModel } from "../model/llama.ts";
import { GGML_TYPES, type GgmlType } from "./ggml_blocks.ts";
import { dequantizeGgml } from "./ggml_decode.ts";
import { ggufArchitecture, GgufExportError, ggufTensorName, ropeRowPermutation } from "./gguf_llama.ts";
import { ggufTensorBytes } from "./gguf_writer.ts";

/**
 * The weights stored in a GGUF file, decoded to f32 under their Hugging Face names.
 *
 * @param path the `.gguf` file
 * @param config the model's config (names, shapes, permutation)
 * @returns weights by Hugging Face name
 * @throws {GgufExportError} when a tensor of the architecture is missing, mis-shaped or of an unsupported type
 */
export async function readGgufWeights(path: string, config: LlamaConfig): Promise<Map<string, Tensor<"f32">>> {
  const fn = "readGgufWeights";
  const parsed = await gguf(path, { allowLocalFile: true });
  const infos = new Map(parsed.tensorInfos.map((t) => [t.name, t]));
  const typeOf = new Map(Object.entries(GGML_TYPES).map(([k, v]) => [v.id, k as GgmlType]));
  const { permuteQK } = ggufArchitecture(config);
  using file = await Deno.open(path, { read: true });
  const out = new Map<string, Tensor<"f32">>();
  for (const [name, shape] of expectedShapes(config)) {
    const info = infos.get(ggufTensorName(name));
    const type = info ? typeOf.get(info.dtype as number) : undefined;
    const ne = info?.shape.map(Number).reverse(); // ne[0] is innermost
    if (!info || !type || JSON.stringify(ne) !== JSON.stringify(shape)) {
      throw new GgufExportError(
        `${fn}: Cannot read "${name}" from "${path}": expected ${ggufTensorName(name)} [${shape}] of a supported type`,
      );
    }
    const bytes = new Uint8Array(ggufTensorBytes(type, shape));
    await file.seek(Number(parsed.tensorDataOffset + info.offset), Deno.SeekMode.Start);
    for (let done = 0; done < bytes.length;) {
      const n = await file.read(bytes.subarray(done));
      if (n === null) throw new GgufExportError(`${fn}: Cannot read "${name}" from "${path}": the file is truncated`);
      done += n;
    }
    let x = dequantizeGgml(type, bytes);
    if (permuteQK && /\.self_attn\.(q|k)_proj\.(weight|bias)$/.test(name)) {
      const perm = ropeRowPermutation(shape[0], name.includes(".q_proj.") ? config.numHeads : config.numKvHeads);
      const cols = shape.length === 1 ? 1 : shape[1] as number, back = new Float32Array(x.length);
      for (let r = 0; r < perm.length; r++) back.set(x.subarray(r * cols, (r + 1) * cols), (perm[r] as number) * cols);
      x = back;
    }
    out.set(name, new Tensor("f32", [...shape], x));
  }
  return out;
}

/**
 * A {@link LlamaModel} with the weights of a GGUF file (see {@link readGgufWeights}).
 *
 * @param path the `.gguf` file
 * @param config the model's config
 * @param ops backend of the forward pass
 * @returns the model
 */
export async function loadGgufModel(path: string, config: LlamaConfig, ops: Ops): Promise<LlamaModel> {
  return new LlamaModel(config, await readGgufWeights(path, config), ops, path);
}
