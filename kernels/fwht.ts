// SPDX-License-Identifier: MIT
/**
 * Fast Walsh–Hadamard transform along rows on WebGPU, for n = m · 2^k with
 * H_n = H_m ⊗ H_{2^k} (QuaRot's `matmul_hadU` factorization):
 *
 *   y[a·p + b] = scale · Σ_{a', b'} Hm[a, a'] · H_p[b, b'] · signs[a'·p + b'] · x[a'·p + b']
 *
 * with p = 2^k and Sylvester H_p[b, b'] = (−1)^popcount(b & b'). Three kernels share the work:
 * - `fwht_local.wgsl`: butterflies of a block of the row in workgroup memory; when the whole
 *   row fits (n ≤ block), also the H_m factor, so one dispatch does everything;
 * - `fwht_global.wgsl`: one butterfly stage in global memory per index bit ≥ block (p up to
 *   32768 and beyond), in place;
 * - `fwht_kron.wgsl`: the H_m factor for rows that do not fit in workgroup memory.
 *
 * @module
 */
import { matrix as checkMatrix } from "../lib/ops/ts/_check.ts";
import { fwhtFactors } from "../lib/ops/ts/fwht.ts";
import { formatShape, Tensor } from "../lib/tensor/tensor.ts";
import { emptyTensor, type GpuTensor, upload } from "./runtime/buffers.ts";
import type { GpuContext } from "./runtime/device.ts";
import { type DispatchStep, grid, type KernelSpec, runKernels } from "./runtime/dispatch.ts";
import { defineParams } from "./runtime/params.ts";
import { matrix } from "./_checks.ts";
import { FWHT_GLOBAL_WGSL, FWHT_KRON_WGSL, FWHT_LOCAL_WGSL } from "./_wgsl.gen.ts";

const WG = 256;
/** Upper bound of the workgroup block (elements); the device's workgroup storage may lower it. */
const MAX_BLOCK = 8192;

/** The `fwht_local.wgsl` kernel and its `Params` layout. */
export const FWHT_LOCAL_KERNEL: KernelSpec = {
  name: "fwht_local",
  code: FWHT_LOCAL_WGSL,
  bindings: ["read", "read", "read", "rw", "uniform"],
  params: defineParams([
    ["rows", "u32"],
    ["n", "u32"],
    ["p", "u32"],
    ["m", "u32"],
    ["block", "u32"],
    ["blocks_per_row", "u32"],
    ["span", "u32"],
    ["use_signs", "u32"],
    ["fuse_kron", "u32"],
    ["scale", "f32"],
  ]),
};

/** The `fwht_global.wgsl` kernel and its `Params` layout. */
export const FWHT_GLOBAL_KERNEL: KernelSpec = {
  name: "fwht_global",
  code: FWHT_GLOBAL_WGSL,
  bindings: ["rw", "uniform"],
  params: defineParams([["rows", "u32"], ["n", "u32"], ["h", "u32"], ["total", "u32"], ["scale", "f32"]]),
};

/** The `fwht_kron.wgsl` kernel and its `Params` layout. */
export const FWHT_KRON_KERNEL: KernelSpec = {
  name: "fwht_kron",
  code: FWHT_KRON_WGSL,
  bindings: ["read", "read", "rw", "uniform"],
  params: defineParams([["rows", "u32"], ["n", "u32"], ["m", "u32"], ["p", "u32"], ["total", "u32"], ["scale", "f32"]]),
};

/** Options of {@link fwht} (as `Ops.fwht`). */
export interface FwhtOptions {
  /** ±1 `[n]`, multiplied into x first. */
  signs?: Float32Array;
  /** H_m, ±1 f32 `[m, m]`, when n is not a power of two. */
  hadamardM?: Tensor<"f32">;
  /** Output scale; default `1 / √n`. */
  scale?: number;
  /** f32 `[rows, n]` host tensor that receives the result (may be x itself). */
  out?: Tensor<"f32">;
}

/** Options of {@link fwhtGpu}: as {@link FwhtOptions} with device tensors. */
export interface FwhtGpuOptions {
  /** f32 `[n]`. */
  signs?: GpuTensor;
  /** f32 `[m, m]`. */
  hadamardM?: GpuTensor;
  /** Output scale; default `1 / √n`. */
  scale?: number;
}

/** Resolves `n = m · p` and checks the options; returns `{ rows, n, m, p }`. */
function fwhtShape(
  x: Tensor | GpuTensor,
  signs: { size: number; dtype: string } | undefined,
  hadamardM: Tensor | GpuTensor | undefined,
) {
  const fn = "fwht";
  const [rows, n] = matrix(fn, "x", x);
  let m = 1;
  if (hadamardM !== undefined) {
    const [mr, mc] = matrix(fn, "hadamardM", hadamardM);
    if (mr !== mc || mr < 1) {
      throw new TypeError(
        `${fn}: Cannot use 'hadamardM' of shape ${formatShape(hadamardM.shape)}: expected a square matrix`,
      );
    }
    m = mr;
  }
  const p = n / m;
  if (n < 1 || !Number.isInteger(p) || (p & (p - 1)) !== 0) {
    throw new TypeError(
      `${fn}: Cannot transform rows of length ${n}: n must be ${m > 1 ? `${m}·2^k` : "a power of 2"} (m = ${m})`,
    );
  }
  if (signs !== undefined && signs.size !== n) {
    throw new TypeError(
      `${fn}: Cannot use 'signs' of length ${signs.size} with x of shape ${formatShape(x.shape)}: expected ${n}`,
    );
  }
  return { rows, n, m, p };
}

/** Largest power-of-two block of f32 that fits the device's workgroup storage (≤ MAX_BLOCK). */
function maxBlock(ctx: GpuContext): number {
  const fit = Math.floor(ctx.limits.maxComputeWorkgroupStorageSize / 4);
  return Math.min(MAX_BLOCK, 2 ** Math.floor(Math.log2(Math.max(fit, 2))));
}

/**
 * Fast Walsh–Hadamard transform of device rows.
 *
 * @param ctx device context
 * @param x f32 `[rows, n]`, n = m · 2^k
 * @param options `signs` f32 `[n]`, `hadamardM` f32 `[m, m]`, `scale` (default 1/√n)
 * @returns f32 `[rows, n]` (caller disposes)
 */
export async function fwhtGpu(
  ctx: GpuContext,
  x: GpuTensor,
  options: FwhtGpuOptions = {},
): Promise<GpuTensor<"f32">> {
  const { rows, n, m, p } = fwhtShape(x, options.signs, options.hadamardM);
  const scale = options.scale ?? 1 / Math.sqrt(n);
  const y = emptyTensor(ctx, "f32", [rows, n]);
  if (rows === 0) return y;
  const temps: GpuTensor[] = [];
  const dummy = () => {
    const t = emptyTensor(ctx, "f32", [1]);
    temps.push(t);
    return t;
  };
  const signs = options.signs ?? dummy();
  const hm = options.hadamardM ?? dummy();
  const BLOCK = maxBlock(ctx);
  const constants = { BLOCK, WG };
  const local = (block: number, span: number, fuse: boolean, out: GpuTensor, s: number): DispatchStep => ({
    kernel: FWHT_LOCAL_KERNEL,
    tensors: [x, signs, hm, out],
    params: {
      rows,
      n,
      p,
      m,
      block,
      blocks_per_row: n / block,
      span,
      use_signs: options.signs ? 1 : 0,
      fuse_kron: fuse ? 1 : 0,
      scale: s,
    },
    workgroups: grid(ctx, rows * (n / block)),
    constants,
  });
  const steps: DispatchStep[] = [];
  if (n <= BLOCK) {
    steps.push(local(n, p, m > 1, y, scale)); // the whole row in one workgroup
  } else {
    // Butterflies over the low bits in blocks, the remaining bits in global passes, then H_m.
    const z = m > 1 ? emptyTensor(ctx, "f32", [rows, n]) : y;
    if (z !== y) temps.push(z);
    let block = Math.min(p, BLOCK);
    if (p <= BLOCK) {
      // Whole segments per workgroup: the largest divisor d of m with p·d ≤ BLOCK.
      let d = Math.min(m, Math.floor(BLOCK / p));
      while (m % d !== 0) d--;
      block = p * d;
    }
    const globalStages: number[] = [];
    for (let h = block; h < p; h *= 2) globalStages.push(h);
    const lastIsLocal = globalStages.length === 0 && m === 1;
    steps.push(local(block, Math.min(p, block), false, z, lastIsLocal ? scale : 1));
    globalStages.forEach((h, i) => {
      steps.push({
        kernel: FWHT_GLOBAL_KERNEL,
        tensors: [z],
        params: { rows, n, h, total: rows * n / 2, scale: i === globalStages.length - 1 && m === 1 ? scale : 1 },
        workgroups: grid(ctx, Math.ceil(rows * n / 2 / WG)),
        constants: { WG },
      });
    });
    if (m > 1) {
      steps.push({
        kernel: FWHT_KRON_KERNEL,
        tensors: [z, hm, y],
        params: { rows, n, m, p, total: rows * n, scale },
        workgroups: grid(ctx, Math.ceil(rows * n / WG)),
        constants: { WG },
      });
    }
  }
  try {
    await runKernels(ctx, "fwht", steps);
  } catch (e) {
    y.dispose();
    throw e;
  } finally {
    for (const t of temps) t.dispose();
  }
  return y;
}

/**
 * Fast Walsh–Hadamard transform along the rows (same contract as `Ops.fwht`):
 * `y = x · diag(signs) · H_n · scale` with `H_n = H_m ⊗ H_{2^k}` as in the module doc.
 *
 * @param ctx device context
 * @param x f32 `[rows, n]`, n = m · 2^k
 * @param options `signs` ±1 `[n]`, `hadamardM` ±1 f32 `[m, m]` (m > 1), `scale` (default 1/√n),
 *   `out` f32 `[rows, n]` that receives the result (read back from the device)
 * @returns f32 `[rows, n]` (`out` when given)
 */
export async function fwht(
  ctx: GpuContext,
  x: Tensor<"f32">,
  options: FwhtOptions = {},
): Promise<Tensor<"f32">> {
  // The CPU backend's validation (same errors): shapes, ±1 entries of H_m, finite signs and scale.
  const [, n] = checkMatrix("fwht", "x", x, "f32");
  const { hadamardM } = options;
  fwhtFactors("fwht", n, hadamardM);
  const signs = options.signs ? new Tensor("f32", [options.signs.length], options.signs) : undefined;
  fwhtShape(x, signs, hadamardM);
  signs?.data.forEach((s, i) => {
    if (!Number.isFinite(s)) {
      throw new RangeError(`fwht: Cannot use 'signs': element ${i} is ${s} (NaN/Inf not allowed)`);
    }
  });
  if (options.scale !== undefined && !Number.isFinite(options.scale)) {
    throw new RangeError(`fwht: Cannot scale by ${options.scale}: scale must be finite`);
  }
  using gx = upload(ctx, x);
  using gs = signs ? upload(ctx, signs) : undefined;
  using gh = hadamardM ? upload(ctx, hadamardM) : undefined;
  using y = await fwhtGpu(ctx, gx, {
    ...(gs ? { signs: gs } : {}),
    ...(gh ? { hadamardM: gh } : {}),
    ...(options.scale !== undefined ? { scale: options.scale } : {}),
  });
  const result = await y.read();
  const out = options.out;
  if (out === undefined) return result;
  if (out.dtype !== "f32" || out.size !== result.size || out.rank !== 2) {
    throw new TypeError(
      `fwht: Cannot write into 'out' of dtype ${out.dtype} and shape [${out.shape.join(", ")}]: expected f32 [${
        result.shape.join(", ")
      }]`,
    );
  }
  out.data.set(result.data); // the contract of Ops.fwht: the result lands in `out`
  return out;
}
