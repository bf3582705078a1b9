// SPDX-License-Identifier: MIT
/**
 * Unpacking u32 words back into u8 codes on WebGPU (kernel: `unpack.wgsl`), the inverse of
 * `pack.ts`.
 *
 * @module
 */
import type { PackedCodes } from "../lib/ops/ops.ts";
import { checkPacked } from "../lib/ops/ts/pack.ts";
import { formatShape, type Tensor } from "../lib/tensor/tensor.ts";
import { emptyTensor, type GpuTensor, upload } from "./runtime/buffers.ts";
import type { GpuContext } from "./runtime/device.ts";
import { grid, type KernelSpec, runKernels } from "./runtime/dispatch.ts";
import { defineParams } from "./runtime/params.ts";
import { codesPerWord, matrix } from "./_checks.ts";
import { UNPACK_WGSL } from "./_wgsl.gen.ts";

const WG = 256;

/** The `unpack.wgsl` kernel and its `Params` layout. */
export const UNPACK_KERNEL: KernelSpec = {
  name: "unpack",
  code: UNPACK_WGSL,
  bindings: ["read", "rw", "uniform"],
  params: defineParams([
    ["cols", "u32"],
    ["bits", "u32"],
    ["per_word", "u32"],
    ["words_per_row", "u32"],
    ["total", "u32"],
  ]),
};

/** Checks the layout of packed device words; returns `[rows, wordsPerRow, perWord]`. */
export function packedLayout(fn: string, words: GpuTensor, bits: number, cols: number) {
  const perWord = codesPerWord(fn, bits);
  if (!Number.isInteger(cols) || cols < 0) {
    throw new RangeError(`${fn}: Cannot use packed codes with cols ${cols}: cols must be a non-negative integer`);
  }
  const [rows, wordsPerRow] = matrix(fn, "packed.words", words, "u32");
  if (Math.ceil(cols / perWord) !== wordsPerRow) {
    throw new TypeError(
      `${fn}: Cannot unpack words of shape ${formatShape(words.shape)} as ${cols} codes of ${bits} bits: ` +
        `expected ${Math.ceil(cols / perWord)} words per row`,
    );
  }
  return [rows, wordsPerRow, perWord] as const;
}

/**
 * Unpacks device words.
 *
 * @param ctx device context
 * @param words u32 `[rows, ceil(cols / floor(32 / bits))]`
 * @param bits 2, 3, 4 or 8
 * @param cols codes per row
 * @returns u8 `[rows, cols]` (caller disposes)
 */
export async function unpackGpu(
  ctx: GpuContext,
  words: GpuTensor,
  bits: number,
  cols: number,
): Promise<GpuTensor<"u8">> {
  const [rows, wordsPerRow, perWord] = packedLayout("unpack", words, bits, cols);
  const codes = emptyTensor(ctx, "u8", [rows, cols]);
  const total = rows * cols;
  if (total === 0) return codes;
  try {
    await runKernels(ctx, "unpack", [{
      kernel: UNPACK_KERNEL,
      tensors: [words, codes],
      params: { cols, bits, per_word: perWord, words_per_row: wordsPerRow, total },
      workgroups: grid(ctx, Math.ceil(total / 4 / WG)),
    }]);
  } catch (e) {
    codes.dispose();
    throw e;
  }
  return codes;
}

/**
 * Unpacks u32 words into u8 codes (same contract as `Ops.unpack`).
 *
 * @param ctx device context
 * @param packed `{ words: u32 [rows, wordsPerRow], bits, cols }`
 * @returns u8 `[rows, cols]`
 */
export async function unpack(ctx: GpuContext, packed: PackedCodes): Promise<Tensor<"u8">> {
  checkPacked("unpack", packed);
  using gw = upload(ctx, packed.words);
  using codes = await unpackGpu(ctx, gw, packed.bits, packed.cols);
  return await codes.read();
}
