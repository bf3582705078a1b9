// SPDX-License-Identifier: MIT
/**
 * Backend policy for CPU-backend tests. The blas backend is optional on a developer machine
 * (its tests are skipped with `ignore` when OpenBLAS is missing) but required under CI
 * (`CI=true`): there a missing library makes every blas test FAIL with the loader's message
 * (which names the Debian package `libopenblas0`), never silently skip.
 *
 * @module
 */
import { type BlasOps, loadBlasOps, requireBlasOps } from "../lib/ops/blas/mod.ts";
import { tsOps } from "../lib/ops/ts/mod.ts";
import type { Ops } from "../lib/ops/ops.ts";

function envFlag(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: not CI as far as we can tell
  }
}

/** True when running under CI (`CI=true`), where every optional backend is required. */
export const inCI: boolean = envFlag("CI") === "true";

/** The blas backend, or null when OpenBLAS cannot be loaded here. */
export function blasOrNull(): BlasOps | null {
  return loadBlasOps();
}

/**
 * The `ignore` flag for a test that needs backend `name`: skip when it is unavailable,
 * except under CI, where the test must run (and fail).
 *
 * @param name backend name, for the caller's messages
 * @param available whether the backend loaded
 * @returns true to skip the test
 */
export function requireInCi(name: string, available: boolean): boolean {
  void name;
  return !available && !inCI;
}

/**
 * Registers a test of the blas backend following the policy: runs with the backend when it
 * loads, is ignored when it does not, and fails under CI with the loader's error.
 *
 * @param name test name
 * @param fn body, given the blas backend
 */
export function blasTest(name: string, fn: (blas: BlasOps) => Promise<void> | void): void {
  const blas = blasOrNull();
  Deno.test({
    name: `blas: ${name}`,
    ignore: requireInCi("blas", blas !== null),
    fn: async () => {
      await fn(blas ?? requireBlasOps()); // requireBlasOps throws BlasUnavailableError here
    },
  });
}

/**
 * The CPU backends a test should cover: ts always, blas when it loads — and under CI blas is
 * required (this throws the loader's error there when OpenBLAS is missing).
 */
export function cpuBackends(): Ops[] {
  const blas = inCI ? requireBlasOps() : blasOrNull();
  return blas ? [tsOps, blas] : [tsOps];
}
