// SPDX-License-Identifier: MIT
/**
 * Hidden states of many sequences kept between decoder blocks, as batches of `b` sequences.
 * The streaming pipeline holds the calibration set (and the evaluation windows) this way for
 * the whole run, so this is the term of its memory that grows with the data: `N·T·d` values.
 * They can be stored in f32 (exact: results equal the in-memory driver's), or as bf16/f16 bits
 * (half the memory; GPTQ itself keeps `inps` in the model's f16). Reading a batch widens it to
 * f32; writing rounds to nearest even.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from "../tensor/numeric.ts";
import type { HiddenBatches } from "./block.ts";

/** Storage dtype of kept activations. */
export type ActivationDType = "f32" | "bf16" | "f16";

/** Bytes per stored value of each {@link ActivationDType}. */
export const ACTIVATION_BYTES: Readonly<Record<ActivationDType, number>> = { f32: 4, bf16: 2, f16: 2 };

/** Batches of hidden states f32 `[b·seqLen, d]` stored in an {@link ActivationDType}. */
export class ActivationStore implements HiddenBatches {
  /** Storage dtype. */
  readonly dtype: ActivationDType;
  /** Hidden size d. */
  readonly width: number;
  private readonly batches: (Float32Array | Uint16Array)[] = [];

  /**
   * An empty store of `[rows, width]` batches kept in `dtype`.
   *
   * @param dtype storage dtype
   * @param width hidden size d
   */
  constructor(dtype: ActivationDType, width: number) {
    this.dtype = dtype;
    this.width = width;
  }

  /** Number of batches. */
  get length(): number {
    return this.batches.length;
  }

  /** Bytes held. */
  get bytes(): number {
    let n = 0;
    for (const b of this.batches) n += b.byteLength;
    return n;
  }

  /** Appends a batch f32 `[rows, d]`. */
  push(hidden: Tensor<"f32">): void {
    this.check("push", hidden);
    this.batches.push(this.encode(hidden.data));
  }

  /** Batch i as f32 `[rows, d]` (a copy when stored compactly, the stored array in f32). */
  get(i: number): Tensor<"f32"> {
    const b = this.batches[i];
    if (b === undefined) {
      throw new RangeError(`ActivationStore.get: Cannot read batch ${i}: the store holds ${this.length} batches`);
    }
    const rows = b.length / this.width;
    if (b instanceof Float32Array) return new Tensor("f32", [rows, this.width], b);
    const out = new Float32Array(b.length);
    const decode = this.dtype === "bf16" ? bf16BitsToF32 : f16BitsToF32;
    for (let j = 0; j < b.length; j++) out[j] = decode(b[j] as number);
    return new Tensor("f32", [rows, this.width], out);
  }

  /** Replaces batch i by f32 `[rows, d]` of the same number of rows. */
  set(i: number, hidden: Tensor<"f32">): void {
    const b = this.batches[i];
    if (b === undefined || b.length !== hidden.size) {
      throw new RangeError(
        `ActivationStore.set: Cannot replace batch ${i} with shape [${hidden.shape.join(", ")}]: ${
          b === undefined ? `the store holds ${this.length} batches` : `the batch holds ${b.length / this.width} rows`
        }`,
      );
    }
    this.check("set", hidden);
    this.batches[i] = this.encode(hidden.data);
  }

  /** A copy of this store (same dtype). */
  clone(): ActivationStore {
    const c = new ActivationStore(this.dtype, this.width);
    for (const b of this.batches) c.batches.push(b.slice());
    return c;
  }

  /** Throws unless `hidden` is f32 `[rows, width]` (`fn` names the caller). */
  private check(fn: string, hidden: Tensor<"f32">): void {
    if (hidden.shape.length !== 2 || hidden.shape[1] !== this.width) {
      throw new TypeError(
        `ActivationStore.${fn}: Cannot store hidden of shape [${
          hidden.shape.join(", ")
        }]: expected [rows, ${this.width}]`,
      );
    }
  }

  /** Converts f32 values to the storage dtype (f16/bf16 bits, or f32 as is). */
  private encode(x: Float32Array): Float32Array | Uint16Array {
    if (this.dtype === "f32") return x;
    const out = new Uint16Array(x.length);
    const encode = this.dtype === "bf16" ? f32ToBf16Bits : f32ToF16Bits;
    for (let j = 0; j < x.length; j++) out[j] = encode(x[j] as number);
    return out;
  }
}
