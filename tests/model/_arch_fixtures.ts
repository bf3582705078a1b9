// SPDX-License-Identifier: MIT
/**
 * The committed architecture fixtures of `tests/fixtures/arch/` (made by
 * `tools/make_arch_fixtures.py`): a tiny random checkpoint per variant and golden logits from an
 * independent f32 PyTorch forward pass written from the transformers conventions.
 *
 * @module
 */
import { openSafetensors } from "../../lib/tensor/safetensors_read.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";

/** Every fixture variant. */
export const ARCH_VARIANTS = [
  "llama-plain",
  "llama-llama3",
  "llama-linear",
  "llama-tied",
  "llama-bias",
  "mistral-window",
  "qwen2",
  "qwen2-window",
  "qwen3",
] as const;

/** A variant name. */
export type ArchVariant = typeof ARCH_VARIANTS[number];

/** Directory of a variant's checkpoint. */
export function fixtureDir(variant: ArchVariant): string {
  return new URL(`../fixtures/arch/${variant}`, import.meta.url).pathname;
}

/** Golden input ids `[B·T]`, the sequence length T and logits f32 `[B·T, vocab]`. */
export async function golden(variant: ArchVariant): Promise<{ ids: Int32Array; T: number; logits: Tensor<"f32"> }> {
  using f = await openSafetensors(`${fixtureDir(variant)}/golden.safetensors`);
  const ids = (await f.read("input_ids")) as Tensor<"i32">; // [B, T]
  return { ids: ids.data, T: ids.shape[1] as number, logits: (await f.read("logits")) as Tensor<"f32"> };
}

/** max |a − b| (NaN if any element is NaN). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= m)) m = d;
  }
  return m;
}
