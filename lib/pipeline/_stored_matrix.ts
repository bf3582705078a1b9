// SPDX-License-Identifier: MIT
/**
 * Private helper: the two vocabulary-sized matrices (embeddings, lm_head) kept in their stored
 * dtype and widened to f32 a few rows at a time, so the streaming pipeline never holds a
 * `[V, d]` f32 copy (262 MB at 32000×2048, 2.1 GB at Llama-3's 128256×4096). Widening bf16/f16
 * to f32 is exact, so the results equal those of the f32 matrix.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { rawToTensor } from "../tensor/safetensors_read.ts";
import { astype } from "../tensor/manip.ts";
import type { RawTensor } from "../tensor/_safetensors_header.ts";
import type { Ops } from "../ops/ops.ts";
import type { LlamaConfig } from "../model/config.ts";
import { rmsNorm } from "../model/layers.ts";

/** Rows of a stored `[V, d]` matrix per f32 chunk (32 MB at d = 2048). */
const CHUNK_ROWS = 4096;

/** A `[rows, cols]` matrix in its stored dtype, read once, widened by row ranges. */
export class StoredMatrix {
  readonly rows: number;
  readonly cols: number;
  private readonly raw: RawTensor;

  /** @param raw the stored bytes (F32, BF16 or F16) of a `[rows, cols]` tensor */
  constructor(raw: RawTensor) {
    if (raw.shape.length !== 2 || !["F32", "BF16", "F16"].includes(raw.dtype)) {
      throw new TypeError(
        `StoredMatrix: Cannot use a ${raw.dtype} tensor of shape [${
          raw.shape.join(", ")
        }]: expected F32, BF16 or F16 [rows, cols]`,
      );
    }
    this.raw = raw;
    this.rows = raw.shape[0] as number;
    this.cols = raw.shape[1] as number;
  }

  /** Rows `[r0, r1)` as f32 `[r1 − r0, cols]`. */
  slice(r0: number, r1: number): Tensor<"f32"> {
    const bytesPer = this.raw.dtype === "F32" ? 4 : 2;
    const data = this.raw.data.subarray(r0 * this.cols * bytesPer, r1 * this.cols * bytesPer);
    const t = rawToTensor("StoredMatrix.slice", { dtype: this.raw.dtype, shape: [r1 - r0, this.cols], data });
    return t.dtype === "f32" ? (t as Tensor<"f32">) : astype(t, "f32");
  }

  /** Embedding lookup: ids `[n]` → f32 `[n, cols]` (as `LlamaModel.embed`). */
  embed(ids: ArrayLike<number>): Tensor<"f32"> {
    const d = this.cols;
    const out = new Float32Array(ids.length * d);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (!Number.isInteger(id) || id < 0 || id >= this.rows) {
        throw new RangeError(
          `quantizeStreaming: Cannot embed token id ${id} at position ${i}: vocab size is ${this.rows}`,
        );
      }
      out.set(this.slice(id, id + 1).data, i * d);
    }
    return new Tensor("f32", [ids.length, d], out);
  }
}

/**
 * Final norm and lm_head (as `LlamaModel.head`), with the head matrix widened in chunks of
 * vocabulary rows: hidden f32 `[n, d]` → logits f32 `[n, V]`.
 */
export async function chunkedHead(
  config: LlamaConfig,
  norm: Tensor<"f32">,
  head: StoredMatrix,
  hidden: Tensor<"f32">,
  ops: Ops,
): Promise<Tensor<"f32">> {
  const xn = rmsNorm(hidden, norm, config.rmsNormEps); // [n, d]
  const n = hidden.shape[0] as number, V = head.rows;
  const logits = new Float32Array(n * V); // [n, V]
  for (let v0 = 0; v0 < V; v0 += CHUNK_ROWS) {
    const v1 = Math.min(V, v0 + CHUNK_ROWS);
    const part = await ops.matmul(xn, head.slice(v0, v1), { transB: true }); // [n, v1 − v0]
    for (let r = 0; r < n; r++) logits.set(part.data.subarray(r * (v1 - v0), (r + 1) * (v1 - v0)), r * V + v0);
  }
  return new Tensor("f32", [n, V], logits);
}
