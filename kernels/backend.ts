// SPDX-License-Identifier: MIT
/**
 * `getBackend()`: the one place that chooses the {@link Ops} implementation.
 * webgpu on a real (non-fallback) GPU adapter, else blas when OpenBLAS loads, else ts.
 * Software adapters (lavapipe, llvmpipe) are slower than plain TypeScript here, so they are
 * only used when asked for explicitly. `QUANTLAB_BACKEND=ts|blas|webgpu` or the `prefer`
 * option override the choice; the result's `name` and `info` say what was chosen.
 *
 * @module
 */
import type { BackendName, Ops } from "../lib/ops/ops.ts";
import { BACKEND_ENV, getCpuOps } from "../lib/ops/backend.ts";
import { getDevice } from "./runtime/device.ts";
import { GpuUnavailableError } from "./runtime/errors.ts";
import { createWebgpuOps } from "./webgpu_ops.ts";

/** Options of {@link getBackend}. */
export interface BackendOptions {
  /** Force a backend (default: `QUANTLAB_BACKEND`, else automatic). */
  prefer?: BackendName;
  /** Receives warnings (device loss fallback). */
  onWarning?: (message: string) => void;
}

function envPreference(): BackendName | undefined {
  try {
    const v = Deno.env.get(BACKEND_ENV);
    if (v === undefined || v === "") return undefined;
    if (v === "ts" || v === "blas" || v === "webgpu") return v;
    throw new RangeError(`getBackend: Cannot use ${BACKEND_ENV}="${v}": expected ts, blas or webgpu`);
  } catch (e) {
    if (e instanceof RangeError) throw e;
    return undefined; // no --allow-env
  }
}

/**
 * Picks the backend (see the module doc).
 *
 * @example
 * ```ts ignore
 * const ops = await getBackend();
 * console.log(ops.name, ops.info); // "blas", "OpenBLAS 0.3.21 (/usr/lib/...)"
 * ```
 * @throws GpuUnavailableError when webgpu is requested and no adapter exists;
 *   BlasUnavailableError when blas is requested and OpenBLAS does not load
 */
export async function getBackend(options: BackendOptions = {}): Promise<Ops> {
  const prefer = options.prefer ?? envPreference();
  if (prefer === "ts" || prefer === "blas") return getCpuOps({ prefer });
  const cpu = getCpuOps();
  const ctx = await getDevice();
  const warn = options.onWarning ? { onWarning: options.onWarning } : {};
  if (prefer === "webgpu") {
    if (!ctx) throw new GpuUnavailableError("getBackend: Cannot use the webgpu backend: no WebGPU adapter was found");
    return createWebgpuOps(ctx, { cpu, ...warn });
  }
  if (ctx && !ctx.isFallbackAdapter) return createWebgpuOps(ctx, { cpu, ...warn });
  return cpu;
}
