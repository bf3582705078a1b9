// SPDX-License-Identifier: MIT
/**
 * Packing u8 codes into u32 words on WebGPU (kernel: `pack.wgsl`): `floor(32 / bits)` codes
 * per word, code i at bit offset `i · bits`, rows starting on a new word.
 *
 * @module
 */
import type { PackedCodes } from "../lib/ops/ops.ts";
import { matrix as checkMatrix } from "../lib/ops/ts/_check.ts";
import { formatShape, type Tensor } from "../lib/tensor/tensor.ts";
import { emptyTensor, type GpuTensor, upload } from "./runtime/buffers.ts";
import type { GpuContext } from "./runtime/device.ts";
import { grid, type KernelSpec, runKernels } from "./runtime/dispatch.ts";
import { defineParams } from "./runtime/params.ts";
import { codesPerWord, matrix } from "./_checks.ts";
import { PACK_WGSL } from "./_wgsl.gen.ts";

const WG = 256;

/** The `pack.wgsl` kernel and its `Params` layout. */
export const PACK_KERNEL: KernelSpec = {
  name: "pack",
  code: PACK_WGSL,
  bindings: ["read", "rw", "uniform"],
  params: defineParams([
    ["rows", "u32"],
    ["cols", "u32"],
    ["bits", "u32"],
    ["per_word", "u32"],
    ["words_per_row", "u32"],
    ["total_words", "u32"],
  ]),
};

/**
 * Packs device codes.
 *
 * @param ctx device context
 * @param codes u8 `[rows, cols]`, each < 2^bits (not checked on the device)
 * @param bits 2, 3, 4 or 8
 * @returns u32 `[rows, ceil(cols / floor(32 / bits))]` (caller disposes)
 */
export async function packGpu(ctx: GpuContext, codes: GpuTensor, bits: number): Promise<GpuTensor<"u32">> {
  const [rows, cols] = matrix("pack", "codes", codes, "u8");
  const perWord = codesPerWord("pack", bits);
  const wordsPerRow = Math.ceil(cols / perWord);
  const words = emptyTensor(ctx, "u32", [rows, wordsPerRow]);
  const total = rows * wordsPerRow;
  if (total === 0) return words;
  try {
    await runKernels(ctx, "pack", [{
      kernel: PACK_KERNEL,
      tensors: [codes, words],
      params: { rows, cols, bits, per_word: perWord, words_per_row: wordsPerRow, total_words: total },
      workgroups: grid(ctx, Math.ceil(total / WG)),
    }]);
  } catch (e) {
    words.dispose();
    throw e;
  }
  return words;
}

/**
 * Packs u8 codes into u32 words (same contract as `Ops.pack`).
 *
 * @param ctx device context
 * @param codes u8 `[rows, cols]`, each < 2^bits
 * @param bits 2, 3, 4 or 8
 * @returns `{ words: u32 [rows, wordsPerRow], bits, cols }`
 * @throws {RangeError} for unsupported bits or a code that does not fit
 */
export async function pack(ctx: GpuContext, codes: Tensor<"u8">, bits: number): Promise<PackedCodes> {
  const [, cols] = checkMatrix("pack", "codes", codes, "u8");
  codesPerWord("pack", bits);
  const limit = 2 ** bits;
  const d = codes.data;
  for (let i = 0; i < d.length; i++) {
    if ((d[i] as number) >= limit) {
      throw new RangeError(
        `pack: Cannot pack code ${d[i]} at [${Math.floor(i / cols)}, ${i % cols}] of codes of shape ` +
          `${formatShape(codes.shape)} into ${bits} bits: codes must be < ${limit}`,
      );
    }
  }
  using gc = upload(ctx, codes);
  using words = await packGpu(ctx, gc, bits);
  return { words: await words.read(), bits, cols };
}
