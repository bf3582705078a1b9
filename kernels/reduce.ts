// SPDX-License-Identifier: MIT
/**
 * Reductions of a 2-D f32 tensor on WebGPU (kernel: `reduce.wgsl`): min, max, absmax, sum,
 * sumsq, mean and population std along rows, columns, groups of a row, or everything.
 * Long segments run in two passes (partial states per chunk, then a merge), so a
 * whole-tensor reduction still spreads over many workgroups.
 *
 * @module
 */
import type { ReduceAxis, ReduceOp } from "../lib/ops/ops.ts";
import { formatShape, type Tensor } from "../lib/tensor/tensor.ts";
import { emptyTensor, type GpuTensor, upload } from "./runtime/buffers.ts";
import type { GpuContext } from "./runtime/device.ts";
import { type DispatchStep, grid, type KernelSpec, runKernels } from "./runtime/dispatch.ts";
import { defineParams } from "./runtime/params.ts";
import { matrix } from "./_checks.ts";
import { REDUCE_WGSL } from "./_wgsl.gen.ts";

/** Reductions in the order of the kernel's `op` codes. */
const REDUCE_OPS: readonly ReduceOp[] = ["min", "max", "absmax", "sum", "sumsq", "mean", "std"];

/** Elements per workgroup in the first pass when a segment is split. */
const CHUNK = 4096;
/** Segments below this count are split into chunks to keep enough workgroups busy. */
const MIN_PARALLEL_SEGMENTS = 64;

/** The `reduce.wgsl` kernel and its `Params` layout. */
export const REDUCE_KERNEL: KernelSpec = {
  name: "reduce",
  code: REDUCE_WGSL,
  bindings: ["read", "rw", "uniform"],
  params: defineParams([
    ["segments", "u32"],
    ["seg_len", "u32"],
    ["outer_stride", "u32"],
    ["inner_stride", "u32"],
    ["op", "u32"],
    ["chunk_len", "u32"],
    ["chunks", "u32"],
    ["from_states", "u32"],
    ["finalize", "u32"],
  ]),
};

/** Segment geometry of a reduction: element i of segment s is `x[s·outer + i·inner]`. */
interface Segments {
  segments: number;
  len: number;
  outer: number;
  inner: number;
  shape: number[];
}

function segmentsOf(x: { shape: readonly number[] }, op: ReduceOp, axis: ReduceAxis): Segments {
  const fn = "reduce";
  const rows = x.shape[0] as number;
  const cols = x.shape[1] as number;
  if (!REDUCE_OPS.includes(op)) {
    throw new RangeError(`${fn}: Cannot apply op "${op}": expected one of ${REDUCE_OPS.join(", ")}`);
  }
  let s: Segments;
  if (axis === "rows") s = { segments: rows, len: cols, outer: cols, inner: 1, shape: [rows] };
  else if (axis === "cols") s = { segments: cols, len: rows, outer: 1, inner: cols, shape: [cols] };
  else if (axis === "all") s = { segments: 1, len: rows * cols, outer: 0, inner: 1, shape: [1] };
  else if (typeof axis === "object" && axis !== null && "groupSize" in axis) {
    const g = axis.groupSize;
    if (!Number.isInteger(g) || g < 1 || cols % g !== 0) {
      throw new RangeError(
        `${fn}: Cannot group ${cols} columns into groups of ${g}: groupSize must be a positive divisor of cols`,
      );
    }
    s = { segments: rows * (cols / g), len: g, outer: g, inner: 1, shape: [rows, cols / g] };
  } else {
    throw new RangeError(
      `${fn}: Cannot reduce along ${JSON.stringify(axis)}: expected "rows", "cols", "all" or { groupSize }`,
    );
  }
  if (s.segments > 0 && s.len === 0) {
    throw new RangeError(
      `${fn}: Cannot compute "${op}" of x of shape ${formatShape(x.shape)} along ${JSON.stringify(axis)}: ` +
        `the reduced set has 0 elements`,
    );
  }
  return s;
}

/**
 * Reduction on a device tensor.
 *
 * @param ctx device context
 * @param x f32 `[rows, cols]`
 * @param op min, max, absmax, sum, sumsq, mean or std (population)
 * @param axis "rows" → `[rows]`, "cols" → `[cols]`, `{ groupSize }` → `[rows, cols / groupSize]`,
 *   "all" → `[1]`
 * @returns f32 result (caller disposes)
 * @throws {RangeError} for an unknown op or axis, a bad groupSize, or an empty reduced set
 */
export async function reduceGpu(
  ctx: GpuContext,
  x: GpuTensor,
  op: ReduceOp,
  axis: ReduceAxis,
): Promise<GpuTensor<"f32">> {
  matrix("reduce", "x", x);
  const s = segmentsOf(x, op, axis);
  const out = emptyTensor(ctx, "f32", s.shape);
  if (s.segments === 0) return out;
  const opCode = REDUCE_OPS.indexOf(op);
  const chunks = s.segments >= MIN_PARALLEL_SEGMENTS ? 1 : Math.ceil(s.len / CHUNK);
  const base = { segments: s.segments, "outer_stride": s.outer, "inner_stride": s.inner, op: opCode };
  if (chunks === 1) {
    try {
      await runKernels(ctx, "reduce", [{
        kernel: REDUCE_KERNEL,
        tensors: [x, out],
        params: { ...base, seg_len: s.len, chunk_len: s.len, chunks: 1, from_states: 0, finalize: 1 },
        workgroups: grid(ctx, s.segments),
      }]);
    } catch (e) {
      out.dispose();
      throw e;
    }
    return out;
  }
  using states = emptyTensor(ctx, "f32", [s.segments, chunks, 3]);
  const steps: DispatchStep[] = [
    {
      kernel: REDUCE_KERNEL,
      tensors: [x, states],
      params: { ...base, seg_len: s.len, chunk_len: CHUNK, chunks, from_states: 0, finalize: 0 },
      workgroups: grid(ctx, s.segments * chunks),
    },
    {
      kernel: REDUCE_KERNEL,
      tensors: [states, out],
      params: { ...base, seg_len: chunks, chunk_len: chunks, chunks: 1, from_states: 1, finalize: 1 },
      workgroups: grid(ctx, s.segments),
    },
  ];
  try {
    await runKernels(ctx, "reduce", steps);
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

/**
 * Reduction of a 2-D f32 tensor (same contract as `Ops.reduce`; f32 accumulation here).
 *
 * @param ctx device context
 * @param x f32 `[rows, cols]`
 * @param op min, max, absmax, sum, sumsq, mean or std (population)
 * @param axis "rows", "cols", "all" or `{ groupSize }`
 * @returns f32 `[rows]`, `[cols]`, `[1]` or `[rows, cols / groupSize]`
 */
export async function reduce(
  ctx: GpuContext,
  x: Tensor<"f32">,
  op: ReduceOp,
  axis: ReduceAxis,
): Promise<Tensor<"f32">> {
  matrix("reduce", "x", x);
  segmentsOf(x, op, axis); // fail before uploading
  using gx = upload(ctx, x);
  using out = await reduceGpu(ctx, gx, op, axis);
  return await out.read();
}
