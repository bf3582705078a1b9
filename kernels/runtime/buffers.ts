// SPDX-License-Identifier: MIT
/**
 * Device buffers as tensors: {@link GpuTensor} (a storage buffer with a dtype and shape,
 * disposable with `using`), {@link upload} from a host {@link Tensor}, and {@link readTensors}
 * which brings several tensors back with a single `mapAsync` round trip.
 *
 * u8 tensors are stored as bytes packed into u32 words (WGSL has no 8-bit storage type);
 * every buffer is padded to a multiple of 4 bytes and is at least 4 bytes long.
 *
 * @module
 */
import { formatShape, shapeSize, Tensor } from "../../lib/tensor/tensor.ts";
import type { GpuContext } from "./device.ts";
import { GpuUnavailableError } from "./errors.ts";

/** Element types a {@link GpuTensor} can hold. */
export type GpuDType = "f32" | "u32" | "i32" | "u8";

const BYTES: Record<GpuDType, number> = { f32: 4, u32: 4, i32: 4, u8: 1 };

/** Usage of every tensor buffer: bindable as storage, copyable both ways. */
const TENSOR_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Rounds a byte count up to the 4-byte multiple WebGPU copies and bindings require. */
export function paddedBytes(byteLength: number): number {
  return Math.max(4, Math.ceil(byteLength / 4) * 4);
}

/**
 * A tensor living in a GPU storage buffer. Kernels chained on `GpuTensor`s keep the data on
 * the device; `read()` is the explicit (slow) trip back to the host.
 *
 * @example Upload, run, read back
 * ```ts ignore
 * using gx = upload(ctx, x);           // x f32 [rows, n]
 * using gy = await fwhtGpu(ctx, gx);   // stays on the device
 * const y = await gy.read();           // Tensor<"f32"> [rows, n]
 * ```
 */
export class GpuTensor<D extends GpuDType = GpuDType> {
  /** The context the buffer belongs to. */
  readonly ctx: GpuContext;
  /** Storage buffer of at least `paddedBytes(byteLength)` bytes. */
  readonly buffer: GPUBuffer;
  /** Element type. */
  readonly dtype: D;
  /** Dimensions, outermost first (row-major contiguous). */
  readonly shape: readonly number[];
  #disposed = false;

  /**
   * Wraps an existing buffer (use {@link upload} or {@link emptyTensor} to create one).
   *
   * @param ctx device context
   * @param buffer storage buffer holding the data
   * @param dtype element type
   * @param shape dimensions
   */
  constructor(ctx: GpuContext, buffer: GPUBuffer, dtype: D, shape: readonly number[]) {
    this.ctx = ctx;
    this.buffer = buffer;
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
  }

  /** Number of elements. */
  get size(): number {
    return shapeSize(this.shape);
  }

  /** Bytes of data (without padding). */
  get byteLength(): number {
    return this.size * BYTES[this.dtype];
  }

  /** Whether {@link dispose} was called. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Copies the data back to a host {@link Tensor} (one `mapAsync` round trip). */
  async read(): Promise<Tensor<D>> {
    const [t] = await readTensors(this.ctx, [this]);
    return t as Tensor<D>;
  }

  /** Frees the buffer now; work already submitted that uses it still completes. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.buffer.destroy();
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** `GpuTensor<f32>[2, 3]`. */
  toString(): string {
    return `GpuTensor<${this.dtype}>${formatShape(this.shape)}`;
  }
}

/** Throws when the context's device was lost (so callers can fall back to the CPU). */
export function assertUsable(ctx: GpuContext, fn: string): void {
  if (ctx.lost !== null) {
    throw new GpuUnavailableError(`${fn}: Cannot use the WebGPU device: it was lost (${ctx.lost.reason})`);
  }
}

function createTensorBuffer(ctx: GpuContext, fn: string, byteLength: number, mapped: boolean): GPUBuffer {
  assertUsable(ctx, fn);
  const size = paddedBytes(byteLength);
  const max = ctx.limits.maxBufferSize;
  if (size > max) {
    throw new RangeError(`${fn}: Cannot allocate a GPU buffer of ${size} bytes: maxBufferSize is ${max}`);
  }
  return ctx.device.createBuffer({ size, usage: TENSOR_USAGE, mappedAtCreation: mapped });
}

/**
 * Uploads a host tensor into a new storage buffer.
 *
 * @param ctx device context
 * @param t tensor of dtype f32, u32, i32 or u8 (any shape)
 * @returns a {@link GpuTensor} with the same dtype and shape
 */
export function upload<D extends GpuDType>(ctx: GpuContext, t: Tensor<D>): GpuTensor<D> {
  if (!(t.dtype in BYTES)) {
    throw new TypeError(`upload: Cannot upload a tensor of dtype "${t.dtype}": expected f32, u32, i32 or u8`);
  }
  const src = t.data;
  const buffer = createTensorBuffer(ctx, "upload", src.byteLength, true);
  new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
  buffer.unmap();
  return new GpuTensor(ctx, buffer, t.dtype, t.shape);
}

/**
 * Allocates a zero-filled tensor on the device (WebGPU zero-initializes new buffers).
 *
 * @param ctx device context
 * @param dtype element type
 * @param shape dimensions
 */
export function emptyTensor<D extends GpuDType>(ctx: GpuContext, dtype: D, shape: readonly number[]): GpuTensor<D> {
  const buffer = createTensorBuffer(ctx, "emptyTensor", shapeSize(shape) * BYTES[dtype], false);
  return new GpuTensor(ctx, buffer, dtype, shape);
}

/**
 * Reads several tensors back with one staging buffer and one `mapAsync`.
 *
 * @param ctx device context
 * @param tensors tensors to read (not disposed)
 * @returns host tensors in the same order, with the same dtypes and shapes
 */
export async function readTensors(ctx: GpuContext, tensors: readonly GpuTensor[]): Promise<Tensor[]> {
  assertUsable(ctx, "readTensors");
  const offsets: number[] = [];
  let total = 0;
  for (const t of tensors) {
    if (t.disposed) throw new TypeError(`readTensors: Cannot read ${t}: it was disposed`);
    offsets.push(total);
    total += paddedBytes(t.byteLength);
  }
  const staging = ctx.device.createBuffer({
    size: Math.max(4, total),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = ctx.device.createCommandEncoder();
    tensors.forEach((t, i) => {
      encoder.copyBufferToBuffer(t.buffer, 0, staging, offsets[i] as number, paddedBytes(t.byteLength));
    });
    ctx.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const bytes = new Uint8Array(staging.getMappedRange());
    const out = tensors.map((t, i) => {
      const offset = offsets[i] as number;
      const copy = bytes.slice(offset, offset + t.byteLength).buffer;
      return new Tensor(t.dtype, t.shape, typedView(t.dtype, copy, t.size));
    });
    staging.unmap();
    return out;
  } finally {
    staging.destroy();
  }
}

function typedView(dtype: GpuDType, buffer: ArrayBuffer, size: number) {
  switch (dtype) {
    case "f32":
      return new Float32Array(buffer, 0, size);
    case "u32":
      return new Uint32Array(buffer, 0, size);
    case "i32":
      return new Int32Array(buffer, 0, size);
    case "u8":
      return new Uint8Array(buffer, 0, size);
  }
}
