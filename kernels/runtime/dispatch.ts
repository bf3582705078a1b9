// SPDX-License-Identifier: MIT
/**
 * Running kernels: {@link runKernels} checks device limits, fetches the cached pipelines,
 * encodes every step into one compute pass (dispatches in a pass execute in order, each
 * seeing the previous one's writes) and submits once, inside validation and out-of-memory
 * error scopes so that a bad dispatch throws instead of silently producing zeros.
 *
 * @module
 */
import type { GpuTensor } from "./buffers.ts";
import { assertUsable } from "./buffers.ts";
import type { GpuContext } from "./device.ts";
import { encodeParams, type ParamsLayout } from "./params.ts";
import type { KernelDef, OverrideConstants } from "./pipeline_cache.ts";

/** A kernel with its `Params` layout: what a wrapper needs to dispatch it. */
export interface KernelSpec<K extends string = string> extends KernelDef {
  readonly params: ParamsLayout<K>;
}

/** One dispatch of a kernel. */
export interface DispatchStep<K extends string = string> {
  kernel: KernelSpec<K>;
  /** Tensors for the storage bindings in binding order (the uniform slot is filled from `params`). */
  tensors: readonly GpuTensor[];
  params: Readonly<Record<K, number>>;
  /** Workgroup counts `[x, y, z]` (missing entries are 1). */
  workgroups: readonly number[];
  /** Override constants for the pipeline. */
  constants?: OverrideConstants;
}

/**
 * Splits a 1-D workgroup count into `[x, y]` that respects `maxComputeWorkgroupsPerDimension`;
 * kernels recover the linear index as `wid.y * num_workgroups.x + wid.x` and skip indices past
 * the real count.
 */
export function grid(ctx: GpuContext, groups: number): [number, number] {
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= maxDim) return [Math.max(1, groups), 1];
  const y = Math.ceil(groups / maxDim);
  return [Math.ceil(groups / y), y];
}

/** Checks a step against the device limits, with the numbers in the message. */
function checkLimits(ctx: GpuContext, fn: string, step: DispatchStep): void {
  const { kernel } = step;
  const limits = ctx.limits;
  const storage = kernel.bindings.filter((b) => b !== "uniform").length;
  if (storage > limits.maxStorageBuffersPerShaderStage) {
    throw new RangeError(
      `${fn}: Cannot run kernel "${kernel.name}": it binds ${storage} storage buffers, ` +
        `maxStorageBuffersPerShaderStage is ${limits.maxStorageBuffersPerShaderStage}`,
    );
  }
  if (step.tensors.length !== storage) {
    throw new TypeError(
      `${fn}: Cannot run kernel "${kernel.name}": got ${step.tensors.length} tensors for ${storage} storage bindings`,
    );
  }
  for (const t of step.tensors) {
    if (t.disposed) throw new TypeError(`${fn}: Cannot run kernel "${kernel.name}": ${t} was disposed`);
    if (t.buffer.size > limits.maxStorageBufferBindingSize) {
      throw new RangeError(
        `${fn}: Cannot bind ${t} (${t.buffer.size} bytes) to kernel "${kernel.name}": ` +
          `maxStorageBufferBindingSize is ${limits.maxStorageBufferBindingSize}`,
      );
    }
  }
  const maxDim = limits.maxComputeWorkgroupsPerDimension;
  for (const n of step.workgroups) {
    if (n > maxDim) {
      throw new RangeError(
        `${fn}: Cannot dispatch [${step.workgroups.join(", ")}] workgroups of kernel "${kernel.name}": ` +
          `maxComputeWorkgroupsPerDimension is ${maxDim}`,
      );
    }
  }
}

/**
 * Dispatches `steps` in order in a single submission. Resolves once the work is submitted
 * and validated (not when it finishes; reading a result waits for it).
 *
 * @param ctx device context
 * @param fn calling function's name, for error messages
 * @param steps dispatches, executed in order
 * @throws {RangeError} when a step exceeds a device limit
 * @throws {Error} when the device reports a validation or out-of-memory error
 */
export async function runKernels(ctx: GpuContext, fn: string, steps: readonly DispatchStep[]): Promise<void> {
  assertUsable(ctx, fn);
  for (const step of steps) checkLimits(ctx, fn, step);
  const paramBytes = steps.map((s) => new Uint8Array(encodeParams(s.kernel.name, s.kernel.params, s.params)));
  const compiled = await Promise.all(steps.map((s) => ctx.pipelines.get(s.kernel, s.constants)));
  assertUsable(ctx, fn);
  const { device } = ctx;
  const uniforms: GPUBuffer[] = [];
  // No await between push and pop: error scopes are one stack per device.
  device.pushErrorScope("out-of-memory");
  device.pushErrorScope("validation");
  const encoder = device.createCommandEncoder({ label: fn });
  const pass = encoder.beginComputePass({ label: fn });
  steps.forEach((step, i) => {
    const { pipeline, layout } = compiled[i]!;
    const bytes = paramBytes[i]!;
    const uniform = device.createBuffer({
      size: bytes.byteLength,
      usage: GPUBufferUsage.UNIFORM,
      mappedAtCreation: true,
    });
    new Uint8Array(uniform.getMappedRange()).set(bytes);
    uniform.unmap();
    uniforms.push(uniform);
    let t = 0;
    const entries: GPUBindGroupEntry[] = step.kernel.bindings.map((kind, binding) => ({
      binding,
      resource: { buffer: kind === "uniform" ? uniform : step.tensors[t++]!.buffer },
    }));
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout, entries }));
    const [x = 1, y = 1, z = 1] = step.workgroups;
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
  });
  pass.end();
  device.queue.submit([encoder.finish()]);
  const validation = device.popErrorScope();
  const memory = device.popErrorScope();
  for (const u of uniforms) u.destroy(); // submitted work keeps them alive until it completes
  const [invalid, oom] = await Promise.all([validation, memory]);
  const error = invalid ?? oom;
  if (error !== null) {
    throw new Error(`${fn}: WebGPU rejected the dispatch: ${error.message}`, { cause: error });
  }
}
