// SPDX-License-Identifier: MIT
/**
 * Matching an ONNX graph's weights to a checkpoint's named weights by value. Exporters such as
 * `torch.onnx.export` rename weights (a Linear's `[out, in]` weight becomes a transposed
 * initializer `onnx::MatMul_123`), so names cannot be trusted; the values can: the ONNX weight
 * read in quantlab's `[out, in]` convention equals the checkpoint tensor exactly.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { OnnxWeight } from "./weights.ts";

function fingerprint(t: Tensor<"f32">): string {
  // Shape plus a few samples: cheap, and exact equality is checked afterwards.
  const n = t.size, idx = [0, 1, n >> 2, n >> 1, (3 * n) >> 2, n - 1].filter((i) => i >= 0 && i < n);
  return `${t.shape.join("x")}:${idx.map((i) => t.data[i]).join(",")}`;
}

function equal(a: Tensor<"f32">, b: Tensor<"f32">): boolean {
  if (a.size !== b.size || a.shape.join() !== b.shape.join()) return false;
  for (let i = 0; i < a.size; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/**
 * Pairs each ONNX weight with the checkpoint weight of identical shape and values.
 *
 * @param onnx ONNX weights with their values `[rows, cols]` (from `readWeight`)
 * @param named checkpoint weights by name, `[out, in]`
 * @returns ONNX weight name → checkpoint name, for the weights that match (others are absent)
 */
export function matchWeightsByValue(
  onnx: readonly { weight: OnnxWeight; W: Tensor<"f32"> }[],
  named: ReadonlyMap<string, Tensor<"f32">>,
): Map<string, string> {
  const byPrint = new Map<string, string[]>();
  for (const [name, t] of named) {
    if (t.rank !== 2) continue;
    const k = fingerprint(t);
    byPrint.set(k, [...(byPrint.get(k) ?? []), name]);
  }
  const out = new Map<string, string>();
  for (const { weight, W } of onnx) {
    const hit = (byPrint.get(fingerprint(W)) ?? []).find((n) => equal(W, named.get(n) as Tensor<"f32">));
    if (hit !== undefined) out.set(weight.name, hit);
  }
  return out;
}
