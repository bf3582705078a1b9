// SPDX-License-Identifier: MIT
/**
 * Adapter policy for GPU tests. `gpu` is the device context (or null). {@link gpuTest}
 * registers a test that runs when an adapter exists, is skipped (`ignore`) when none exists,
 * and fails when none exists under CI (`CI=true`), where an adapter is required.
 *
 * Run GPU tests with `XDG_RUNTIME_DIR` set to a 0700 folder to silence lavapipe's warning.
 *
 * @module
 */
import { type GpuContext, requireDevice } from "../kernels/runtime/device.ts";

function envFlag(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: not CI as far as we can tell
  }
}

/** True when running under CI (`CI=true`), where a missing adapter is a failure. */
export const inCI: boolean = envFlag("CI") === "true";

let reason = "";
/** The shared device context for GPU tests, or null when no adapter was found. */
export const gpu: GpuContext | null = await requireDevice().catch((e: Error) => {
  reason = e.message;
  return null;
});

/**
 * Registers a GPU test following the adapter policy.
 *
 * @param name test name
 * @param fn body, given the device context
 */
export function gpuTest(name: string, fn: (ctx: GpuContext) => Promise<void> | void): void {
  Deno.test({
    name,
    ignore: gpu === null && !inCI,
    // Pipelines and buffers outlive a test by design (the cache is shared).
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      if (gpu === null) {
        throw new Error(`WebGPU adapter required in CI: none found (${reason}); install mesa-vulkan-drivers`);
      }
      await fn(gpu);
    },
  });
}
