// SPDX-License-Identifier: MIT
/** The WebGPU runtime: device context, pipeline cache, compile errors, limits, GpuTensor. */
import assert from "node:assert/strict";
import { emptyTensor, type GpuTensor, readTensors, upload } from "../../kernels/runtime/buffers.ts";
import { type GpuContext, requireDevice } from "../../kernels/runtime/device.ts";
import { type KernelSpec, runKernels } from "../../kernels/runtime/dispatch.ts";
import { ShaderCompileError } from "../../kernels/runtime/errors.ts";
import { defineParams } from "../../kernels/runtime/params.ts";
import { MATMUL_KERNEL } from "../../kernels/matmul.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertThrowsMessage } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";

/** A kernel whose line 4 does not type-check. */
const BROKEN: KernelSpec = {
  name: "broken_test_kernel",
  code: [
    "@group(0) @binding(0) var<storage, read_write> y: array<f32>;",
    "@compute @workgroup_size(1)",
    "fn main() {",
    "  let x: u32 = 1.5;",
    "  y[0] = f32(x);",
    "}",
  ].join("\n"),
  bindings: ["rw"],
  params: defineParams([]),
};

/** A copy of the context with some limits lowered, to exercise the checks cheaply. */
function withLimits(ctx: GpuContext, lowered: Record<string, number>): GpuContext {
  const limits: Record<string, number> = {};
  for (const key in ctx.limits) limits[key] = (ctx.limits as unknown as Record<string, number>)[key] as number;
  return { ...ctx, limits: { ...limits, ...lowered } as unknown as GPUSupportedLimits };
}

gpuTest("getDevice() describes the adapter and raises the limits kernels need", (ctx) => {
  assert.equal(typeof ctx.adapterInfo.description, "string");
  assert.equal(typeof ctx.isFallbackAdapter, "boolean");
  if (/llvmpipe|lavapipe|swiftshader/i.test(ctx.adapterInfo.description)) assert.equal(ctx.isFallbackAdapter, true);
  assert.ok(ctx.limits.maxStorageBuffersPerShaderStage >= 8, "gptq_block binds 8 storage buffers");
  assert.ok(ctx.limits.maxComputeWorkgroupStorageSize >= 16384);
  assert.equal(ctx.lost, null);
});

gpuTest("PipelineCache compiles once per (kernel, constants) and shares in-flight compiles", async (ctx) => {
  const before = ctx.pipelines.size;
  const [a, b] = await Promise.all([
    ctx.pipelines.get(MATMUL_KERNEL, { WG: 8 }),
    ctx.pipelines.get(MATMUL_KERNEL, { WG: 8 }),
  ]);
  assert.equal(a, b);
  assert.equal(await ctx.pipelines.get(MATMUL_KERNEL, { WG: 8 }), a);
  assert.notEqual(await ctx.pipelines.get(MATMUL_KERNEL, { WG: 4 }), a);
  assert.equal(ctx.pipelines.size, before + 2);
});

gpuTest("a WGSL error throws ShaderCompileError with line:col messages and the source", async (ctx) => {
  const before = ctx.pipelines.size;
  const e = await assertThrowsMessage(() => ctx.pipelines.get(BROKEN), ShaderCompileError, "broken_test_kernel");
  assert.ok(e instanceof ShaderCompileError);
  assert.equal(e.source, BROKEN.code);
  assert.ok(e.messages.length >= 1);
  assert.match(e.messages[0] as string, /^4:\d+ /, `got ${JSON.stringify(e.messages)}`);
  assert.match(e.message, /\[error at 4:\d+ /);
  assert.equal(ctx.pipelines.size, before, "failures are not cached");
  assert.deepEqual(ctx.warnings, [], "a captured compile error is not an uncaptured warning");
});

gpuTest("runKernels() checks device limits before dispatch, with the numbers", async (ctx) => {
  using a = upload(ctx, new Tensor("f32", [2, 2], new Float32Array(4)));
  using c = emptyTensor(ctx, "f32", [2, 2]);
  const step = {
    kernel: MATMUL_KERNEL,
    tensors: [a, a, c],
    params: { m: 2, n: 2, k: 2, trans_a: 0, trans_b: 0, stride_a: 0, stride_b: 0 },
    workgroups: [1, 1, 1],
  };
  await assertThrowsMessage(
    () => runKernels(withLimits(ctx, { maxStorageBufferBindingSize: 8 }), "test", [step]),
    RangeError,
    "(16 bytes)",
    "maxStorageBufferBindingSize is 8",
  );
  await assertThrowsMessage(
    () => runKernels(ctx, "test", [{ ...step, workgroups: [1, 1, 70000] }]),
    RangeError,
    "[1, 1, 70000]",
    `maxComputeWorkgroupsPerDimension is ${ctx.limits.maxComputeWorkgroupsPerDimension}`,
  );
  await assertThrowsMessage(
    () => runKernels(withLimits(ctx, { maxStorageBuffersPerShaderStage: 2 }), "test", [step]),
    RangeError,
    "binds 3 storage buffers",
  );
});

gpuTest("GpuTensor round-trips every dtype, reads several at once and is disposable", async (ctx) => {
  const tensors = [
    new Tensor("f32", [2, 3], new Float32Array([1.5, -2, 3, 4, 5, 6])),
    new Tensor("u32", [3], new Uint32Array([0, 1, 4294967295])),
    new Tensor("i32", [1, 2], new Int32Array([-7, 7])),
    new Tensor("u8", [5], new Uint8Array([1, 2, 3, 250, 255])),
    new Tensor("f32", [0, 4]),
  ];
  const gpuTensors = tensors.map((t) => upload(ctx, t));
  const back = await readTensors(ctx, gpuTensors);
  back.forEach((t, i) => {
    assert.equal(t.dtype, tensors[i]!.dtype);
    assert.deepEqual(t.shape, tensors[i]!.shape);
    assert.deepEqual(Array.from(t.data), Array.from(tensors[i]!.data));
  });
  let escaped: GpuTensor | undefined;
  {
    using g = upload(ctx, tensors[0]!);
    escaped = g;
    assert.equal(String(g), "GpuTensor<f32>[2, 3]");
  }
  assert.ok(escaped.disposed);
  await assertThrowsMessage(() => escaped.read(), TypeError, "disposed");
  for (const g of gpuTensors) g.dispose();
});

gpuTest("a lost device makes the runtime throw GpuUnavailableError", async () => {
  const ctx = await requireDevice();
  ctx.device.destroy();
  await ctx.device.lost;
  assert.equal(ctx.lost?.reason, "destroyed");
  assert.throws(() => upload(ctx, new Tensor("f32", [1])), /was lost \(destroyed\)/);
});
