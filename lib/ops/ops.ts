// SPDX-License-Identifier: MIT
/**
 * The `Ops` interface: the handful of hot operations that calibration, rotation,
 * reconstruction and the forward pass spend their time in. Three backends implement it:
 * `ts` (lib/ops, the readable specification), `blas` (OpenBLAS/LAPACK through Deno FFI,
 * lib/ops/blas) and `webgpu` (kernels/). Algorithms receive an `ops` by injection.
 *
 * Conventions shared by every backend:
 * - matrices are row-major f32 `[rows, cols]` unless stated; Hessians and factorizations f64;
 * - integer quantization follows GPTQ's asymmetric form with unsigned codes:
 *   `q = clamp(roundHalfEven(w * invScale) + zero, 0, maxq)`, `ŵ = scale * (q - zero)`,
 *   where `invScale = fround(1 / scale)` is computed once per group on the host so all
 *   backends round identically (symmetric quantization is `zero = (maxq + 1) / 2`);
 * - quantization parameters `scale`/`zero` have shape `[R, G]`, `R` ∈ {1, rows} (1 broadcasts
 *   one row of parameters to every row: per-tensor or per-column use), `G` divides `cols`
 *   (group size `cols / G`; `G = 1` is per-channel, or per-token for activations).
 *
 * Every method is async so that a GPU backend can implement it; the CPU backends resolve
 * immediately.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";

/** Which backend implements an {@link Ops}. */
export type BackendName = "ts" | "blas" | "webgpu";

/** Options of {@link Ops.matmul}. */
export interface MatmulOptions {
  /** Use Aᵀ (A given as `[K, M]`). Default false. */
  transA?: boolean;
  /** Use Bᵀ (B given as `[N, K]`). Default false. */
  transB?: boolean;
  /**
   * Write the result into this f32 tensor of the output shape (and return it) instead of a new
   * one: hot loops reuse one buffer instead of paying for fresh pages on every call.
   */
  out?: Tensor<"f32">;
  /** Scale of the product (default 1): `C = alpha·op(A)·op(B) + beta·C`. */
  alpha?: number;
  /** Scale of the previous contents of `out` (default 0; any other value needs `out`). `beta = 1` accumulates. */
  beta?: number;
}

/**
 * A strided window of a row-major f32 matrix: element (i, j) is `data[offset + i·stride + j]`,
 * `0 ≤ i < rows`, `0 ≤ j < cols ≤ stride`. It names a block of a larger matrix (columns
 * `c0..c1` of `[rows, cols]`: `offset = c0`, `stride = cols`) without copying it.
 */
export interface MatrixView {
  /** Storage of the whole underlying matrix (row-major). */
  data: Float32Array;
  /** Index in `data` of element (0, 0) of the view. */
  offset: number;
  /** Rows of the view. */
  rows: number;
  /** Columns of the view (≤ stride). */
  cols: number;
  /** Elements between the starts of consecutive rows (the underlying matrix's row length). */
  stride: number;
}

/** Options of {@link Ops.gemm}. */
export interface GemmOptions {
  /** Use Aᵀ (the view A is `[K, M]`). Default false. */
  transA?: boolean;
  /** Use Bᵀ (the view B is `[N, K]`). Default false. */
  transB?: boolean;
  /** Scale of the product (default 1). */
  alpha?: number;
  /** Scale of C's previous contents (default 0; 1 accumulates, as BLAS beta). */
  beta?: number;
}

/** Options of {@link Ops.accumulateHessian}. */
export interface HessianOptions {
  /**
   * Precision of this call's XᵀX (default "f64"): "f64" sums the exact f32·f32 products in f64;
   * "f32" lets a backend sum them in f32 (blas: ssyrk on X in place, numpy's and PyTorch's
   * arithmetic on f32 X) before adding to H; the ts specification always sums in f64. H itself
   * stays f64: across many calls f32 storage would drop small contributions, and within a call
   * f32 sums lose inputs with a large common offset (tests/ops/hessian_precision_test.ts).
   */
  precision?: "f32" | "f64";
}

/** Reductions offered by {@link Ops.reduce}. `std` is the population standard deviation. */
export type ReduceOp = "min" | "max" | "absmax" | "sum" | "sumsq" | "mean" | "std";

/**
 * Axis of a reduction over a 2-D tensor `[rows, cols]`:
 * `"rows"` reduces each row (result `[rows]`), `"cols"` each column (result `[cols]`),
 * `{ groupSize }` each contiguous group of a row (result `[rows, cols / groupSize]`),
 * `"all"` everything (result `[1]`).
 */
export type ReduceAxis = "rows" | "cols" | "all" | { groupSize: number };

/** Integer quantization parameters (see the module doc for the formula and shapes). */
export interface IntQuantParams {
  /** f32 `[R, G]` step sizes (> 0). */
  scale: Tensor<"f32">;
  /** f32 `[R, G]` zero points (integers stored as floats, in [0, maxq]). */
  zero: Tensor<"f32">;
  /** Largest code, `2^bits - 1`. */
  maxq: number;
}

/** Packed integer codes: `bits` ∈ {2, 3, 4, 8}; codes never straddle a u32 word (3-bit: 10 per word). */
export interface PackedCodes {
  /** u32 `[rows, wordsPerRow]`. */
  words: Tensor<"u32">;
  /** Packing width in bits per code: 2, 3, 4 or 8. */
  bits: number;
  /** Logical number of codes per row. */
  cols: number;
}

/** Result of one GPTQ block sweep. */
export interface GptqBlockResult {
  /** f32 `[rows, B]`: dequantized weights of the block. */
  Q: Tensor<"f32">;
  /** f32 `[rows, B]`: scaled errors `(w - q) / Hinv[j, j]` (GPTQ's `Err1`). */
  err: Tensor<"f32">;
  /** u8 `[rows, B]` integer codes. */
  codes: Tensor<"u8">;
}

/** The operation set every backend implements. */
export interface Ops {
  /** Backend identifier. */
  readonly name: BackendName;
  /** Human-readable description (library path, adapter info). */
  readonly info: string;

  /**
   * C = alpha·op(A)·op(B) + beta·C, f32. A `[M, K]`, B `[K, N]` (or transposed per options), C `[M, N]`.
   * Also 3-D batched `[batch, ., .]`. C is `options.out` when given (returned), else a new tensor.
   */
  matmul(A: Tensor<"f32">, B: Tensor<"f32">, options?: MatmulOptions): Promise<Tensor<"f32">>;

  /**
   * In place `C = alpha·op(A)·op(B) + beta·C` on strided windows ({@link MatrixView}) of larger
   * matrices: BLAS `sgemm` with leading dimensions, so blocked algorithms (GPTQ's lazy batch
   * updates) update a panel of a matrix without copying it. C must not overlap A or B.
   */
  gemm(C: MatrixView, A: MatrixView, B: MatrixView, options?: GemmOptions): Promise<void>;

  /**
   * In place `H += alpha · XᵀX`; H f64 `[n, n]` (full symmetric), X f32 `[tokens, n]`; the sum over
   * tokens in f64 on the CPU unless `options.precision` is "f32".
   */
  accumulateHessian(H: Tensor<"f64">, X: Tensor<"f32">, alpha?: number, options?: HessianOptions): Promise<void>;

  /** Reduction of a 2-D f32 tensor along an axis; result f32 (f64 accumulation on the CPU). */
  reduce(x: Tensor<"f32">, op: ReduceOp, axis: ReduceAxis): Promise<Tensor<"f32">>;

  /** Histogram of all elements into `bins` equal bins over [lo, hi]; values outside are clamped into the end bins. Result u32 `[bins]`. */
  histogram(x: Tensor<"f32">, bins: number, lo: number, hi: number): Promise<Tensor<"u32">>;

  /** Quantize then dequantize a 2-D f32 tensor with integer parameters. */
  fakeQuantize(w: Tensor<"f32">, params: IntQuantParams): Promise<Tensor<"f32">>;

  /** Integer codes (u8 `[rows, cols]`) of a 2-D f32 tensor. */
  quantizeCodes(w: Tensor<"f32">, params: IntQuantParams): Promise<Tensor<"u8">>;

  /**
   * Codebook quantization: each `x / scale` snapped to the nearest entry of the sorted
   * `levels` (ties to the lower-index level), times `scale`. scale f32 `[R, G]` as for
   * integer params. Returns the dequantized values and the level indices (u8).
   */
  codebookQuantize(
    x: Tensor<"f32">,
    levels: Float32Array,
    scale: Tensor<"f32">,
  ): Promise<{ values: Tensor<"f32">; codes: Tensor<"u8"> }>;

  /** Packs u8 codes `[rows, cols]` (each < 2^bits) into u32 words. */
  pack(codes: Tensor<"u8">, bits: number): Promise<PackedCodes>;
  /** Inverse of {@link Ops.pack}. */
  unpack(packed: PackedCodes): Promise<Tensor<"u8">>;

  /** y = dequant(W)·x for packed W `[rows, cols]`, per-group params `[rows, G]`, x f32 `[cols]` or `[cols, n]`→ y `[rows]`/`[rows, n]`. */
  dequantMatvec(packed: PackedCodes, params: IntQuantParams, x: Tensor<"f32">): Promise<Tensor<"f32">>;

  /**
   * Fast Walsh–Hadamard transform along the rows of x `[rows, n]`: y = x·diag(signs)·H_nᵀ·scale
   * (H_n = H_m ⊗ H_{2^k}; Sylvester factors are symmetric, a stored H_m need not be).
   * n = m·2^k where H_n = H_m ⊗ H_{2^k} (H_m given as `hadamardM` ±1 `[m, m]` when m > 1).
   * Default scale 1/√n (orthonormal). `out` (f32 `[rows, n]`, may be x itself) receives the
   * result instead of a new tensor.
   */
  fwht(
    x: Tensor<"f32">,
    options?: { signs?: Float32Array; hadamardM?: Tensor<"f32">; scale?: number; out?: Tensor<"f32"> },
  ): Promise<Tensor<"f32">>;

  /**
   * One GPTQ block: quantize columns j = 0..B-1 of W `[rows, B]` in order with error feedback
   * `W[:, j+1:] -= err_j · Hinv[j, j+1:]`, Hinv f32 `[B, B]` the block of the upper Cholesky
   * factor of H⁻¹; params per row (`scale`, `zero` f32 `[rows, 1]`, the block lies in one group).
   * The caller applies the trailing update `W[:, end:] -= err · Hinv[block, end:]` with gemm.
   * `out` (tensors of the result shapes) receives the result instead of new tensors; a backend
   * may ignore it, so callers read the returned result.
   */
  gptqBlock(
    W: Tensor<"f32">,
    Hinv: Tensor<"f32">,
    params: IntQuantParams,
    out?: GptqBlockResult,
  ): Promise<GptqBlockResult>;

  /**
   * Lower Cholesky factor L (A = L·Lᵀ) of a symmetric positive-definite f64 `[n, n]`; throws
   * NotPositiveDefiniteError. With `overwrite`, a backend may factor in A's memory and return
   * A itself (A's contents are then unspecified, also after a throw); without it A is untouched.
   */
  cholesky(A: Tensor<"f64">, options?: { overwrite?: boolean }): Promise<Tensor<"f64">>;
  /** Inverse of a triangular f64 `[n, n]` matrix; `overwrite` as for {@link Ops.cholesky}. */
  triangularInverse(T: Tensor<"f64">, options: { lower: boolean; overwrite?: boolean }): Promise<Tensor<"f64">>;
  /** Solves op(T)·X = B for X; T triangular f64 `[n, n]`, B f64 `[n, m]`. */
  triangularSolve(
    T: Tensor<"f64">,
    B: Tensor<"f64">,
    options: { lower: boolean; transpose?: boolean },
  ): Promise<Tensor<"f64">>;
}
