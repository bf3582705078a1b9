// SPDX-License-Identifier: MIT
/**
 * Backend selection. {@link getCpuOps} picks the CPU implementation of {@link Ops}: `blas`
 * (OpenBLAS through FFI) when the library loads, else `ts`. The environment variable
 * `QUANTLAB_BACKEND=ts|blas` overrides the choice (any other value, e.g. `webgpu`, is left
 * to the full `getBackend`, which falls back to this function for the CPU).
 *
 * @module
 */
import type { Ops } from "./ops.ts";
import { loadBlasOps, requireBlasOps } from "./blas/mod.ts";
import { tsOps } from "./ts/mod.ts";

/** Environment variable that forces a backend. */
export const BACKEND_ENV = "QUANTLAB_BACKEND";

/** Options of {@link getCpuOps}. */
export interface CpuOpsOptions {
  /**
   * Backend to use. `"blas"` requires OpenBLAS (throws `BlasUnavailableError` otherwise);
   * `"ts"` always works. Default: `QUANTLAB_BACKEND` if it names a CPU backend, else blas
   * when it loads, else ts.
   */
  prefer?: "ts" | "blas";
}

/**
 * The CPU {@link Ops}: blas if it loads, else ts (see {@link CpuOpsOptions.prefer}).
 *
 * @param options `prefer`
 * @returns the chosen backend; its `name` and `info` say which one and which library
 * @throws {BlasUnavailableError} when blas is explicitly requested (option or env) but cannot load
 * @throws {RangeError} on an unknown `prefer`
 *
 * @example Always get a working CPU backend
 * ```ts
 * import { getCpuOps } from "./backend.ts";
 * import assert from "node:assert/strict";
 * const ops = getCpuOps({ prefer: "ts" });
 * assert.equal(ops.name, "ts");
 * ```
 */
export function getCpuOps(options: CpuOpsOptions = {}): Ops {
  const choice = options.prefer ?? envBackend();
  if (choice === "ts") return tsOps;
  if (choice === "blas") return requireBlasOps();
  if (choice !== undefined) {
    throw new RangeError(`getCpuOps: Cannot use backend "${choice}": expected "ts" or "blas"`);
  }
  return loadBlasOps() ?? tsOps;
}

/** QUANTLAB_BACKEND when it names a CPU backend (undefined when unset, unreadable or other). */
function envBackend(): string | undefined {
  let value: string | undefined;
  try {
    value = (globalThis as { Deno?: typeof Deno }).Deno?.env.get(BACKEND_ENV);
  } catch {
    return undefined; // no --allow-env: behave as unset
  }
  return value === "ts" || value === "blas" ? value : undefined;
}
