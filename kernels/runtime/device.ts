// SPDX-License-Identifier: MIT
/**
 * Acquiring a WebGPU device: `getDevice()` returns a {@link GpuContext} (device, adapter
 * description, limits, pipeline cache, warnings) or `null` when there is no adapter. Nothing
 * happens at import time, so CPU-only users can import this module safely.
 *
 * @module
 */
import { GpuUnavailableError } from "./errors.ts";
import { PipelineCache } from "./pipeline_cache.ts";

/** What the adapter says about itself (strings may be empty on some platforms). */
export interface GpuAdapterSummary {
  /** Vendor name or PCI id. */
  vendor: string;
  /** GPU family, e.g. "ampere". */
  architecture: string;
  /** Device name or id. */
  device: string;
  /** Driver's human-readable description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
}

/** Why and when the device was lost. */
export interface GpuLostInfo {
  /** `"destroyed"` or `"unknown"`. */
  reason: string;
  /** The implementation's explanation. */
  message: string;
}

/** A WebGPU device plus what the kernels need to know about it. */
export interface GpuContext {
  /** The device every kernel runs on. */
  readonly device: GPUDevice;
  /** What the adapter says about itself. */
  readonly adapterInfo: GpuAdapterSummary;
  /** True for software adapters (lavapipe, llvmpipe, SwiftShader, or an adapter that says so). */
  readonly isFallbackAdapter: boolean;
  /** Features enabled on the device. */
  readonly features: ReadonlySet<string>;
  /** Limits granted to the device (the adapter's maxima for the limits kernels use). */
  readonly limits: GPUSupportedLimits;
  /** Compiled pipelines, keyed by kernel name and override constants. */
  readonly pipelines: PipelineCache;
  /** Warnings collected from the device (loss, uncaptured errors) and from the ops wrapper. */
  readonly warnings: string[];
  /** Set once `device.lost` resolves; afterwards kernels must not be dispatched. */
  lost: GpuLostInfo | null;
}

/** Options of {@link getDevice}. */
export interface GetDeviceOptions {
  /** Passed to `requestAdapter`. */
  powerPreference?: GPUPowerPreference;
}

/**
 * Limits requested at the adapter's maximum: the WebGPU defaults (128 MiB bindings, 16 KiB
 * workgroup storage, 8 storage buffers) are far below what real and software adapters offer.
 */
const RAISED_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
  "maxUniformBufferBindingSize",
] as const;

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render/i;

/**
 * Requests an adapter and a device with raised limits.
 *
 * @returns the context, or `null` when WebGPU is missing, no adapter is found, or the device
 *   cannot be created (use {@link requireDevice} to get the reason as an error)
 *
 * @example Use the GPU when present
 * ```ts ignore
 * const gpu = await getDevice();
 * if (gpu !== null && !gpu.isFallbackAdapter) {
 *   // dispatch kernels
 * }
 * ```
 */
export async function getDevice(options: GetDeviceOptions = {}): Promise<GpuContext | null> {
  const result = await acquire(options);
  return "ctx" in result ? result.ctx : null;
}

/**
 * Like {@link getDevice} but throws a {@link GpuUnavailableError} naming the reason.
 *
 * @throws {GpuUnavailableError} when no device can be obtained
 */
export async function requireDevice(options: GetDeviceOptions = {}): Promise<GpuContext> {
  const result = await acquire(options);
  if ("ctx" in result) return result.ctx;
  throw new GpuUnavailableError(`getDevice: Cannot get a WebGPU device: ${result.reason}`, {
    cause: result.cause,
  });
}

/**
 * Mesa's Vulkan/GL drivers print "error: XDG_RUNTIME_DIR is invalid or not set" on every adapter
 * request when the variable is missing or not a private directory (containers, CI, cron). The
 * message is noise on a successful run, so give the process a private 0700 directory first; the
 * drivers read the variable when the adapter is created.
 */
function ensurePrivateRuntimeDir(): void {
  try {
    const current = Deno.env.get("XDG_RUNTIME_DIR");
    if (current) {
      const st = Deno.statSync(current);
      if (st.isDirectory && st.mode !== null && (st.mode & 0o077) === 0) return;
    }
    const dir = Deno.makeTempDirSync({ prefix: "quantlab-xdg-" });
    Deno.chmodSync(dir, 0o700);
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // Without env/write permission the warning stays; WebGPU itself still works.
  }
}

type Acquired = { ctx: GpuContext } | { reason: string; cause?: unknown };

async function acquire(options: GetDeviceOptions): Promise<Acquired> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (gpu === undefined) return { reason: "navigator.gpu is not available in this runtime" };
  ensurePrivateRuntimeDir();
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter(
      options.powerPreference ? { powerPreference: options.powerPreference } : undefined,
    );
  } catch (cause) {
    return { reason: "requestAdapter() failed", cause };
  }
  if (adapter === null) return { reason: "requestAdapter() returned no adapter" };
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const value = adapter.limits[name];
    if (typeof value === "number") requiredLimits[name] = value;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits });
  } catch (cause) {
    return { reason: "requestDevice() failed", cause };
  }
  const info = adapter.info;
  const adapterInfo: GpuAdapterSummary = {
    vendor: info?.vendor ?? "",
    architecture: info?.architecture ?? "",
    device: info?.device ?? "",
    description: info?.description ?? "",
  };
  const ctx: GpuContext = {
    device,
    adapterInfo,
    isFallbackAdapter: isSoftwareAdapter(adapter, adapterInfo),
    features: new Set(device.features),
    limits: device.limits,
    pipelines: new PipelineCache(device),
    warnings: [],
    lost: null,
  };
  device.lost.then((lost) => {
    // Recorded, not warned: the ops wrapper emits the one warning when it falls back.
    ctx.lost = { reason: lost.reason ?? "unknown", message: lost.message };
  });
  device.addEventListener("uncapturederror", (event) => {
    ctx.warnings.push(`WebGPU uncaptured error: ${(event as GPUUncapturedErrorEvent).error.message}`);
  });
  return { ctx };
}

/**
 * Software adapters are slower than the CPU backends, so callers treat them as fallbacks.
 * Deno exposes the flag as `adapter.info.isFallbackAdapter` (older: `adapter.isFallbackAdapter`);
 * a Vulkan lavapipe adapter may not set it, so the description and adapter type count too.
 */
function isSoftwareAdapter(adapter: GPUAdapter, info: GpuAdapterSummary): boolean {
  const raw = adapter as unknown as {
    isFallbackAdapter?: boolean;
    info?: { isFallbackAdapter?: boolean; adapterType?: string };
  };
  if (raw.info?.isFallbackAdapter === true || raw.isFallbackAdapter === true) return true;
  if (raw.info?.adapterType === "cpu") return true;
  return SOFTWARE_ADAPTER.test(`${info.description} ${info.device} ${info.architecture}`);
}

/** One-line description of a context for `Ops.info`: `"llvmpipe (LLVM 15) [fallback]"`. */
export function describeContext(ctx: GpuContext): string {
  const { vendor, architecture, description } = ctx.adapterInfo;
  const name = description || [vendor, architecture].filter((s) => s !== "").join(" ") || "unknown adapter";
  return `WebGPU: ${name}${ctx.isFallbackAdapter ? " [fallback]" : ""}`;
}
