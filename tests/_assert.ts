// SPDX-License-Identifier: MIT
/**
 * Tensor assertions for tests (JSR's @std/assert is unreachable here; node:assert covers the rest).
 * Closeness follows llm.c: |actual − expected| ≤ atol + rtol·|expected|.
 *
 * @module
 */
import { AssertionError } from "node:assert/strict";
import { formatShape, type Tensor } from "../lib/tensor/tensor.ts";

/** Tolerances of {@link assertAllClose}. */
export interface CloseOptions {
  atol?: number;
  rtol?: number;
  /** Prefix for the failure message. */
  msg?: string;
}

/** Asserts elementwise closeness of two tensors or arrays (shapes must match for tensors). */
export function assertAllClose(
  actual: Tensor | ArrayLike<number>,
  expected: Tensor | ArrayLike<number>,
  options: CloseOptions = {},
): void {
  const { atol = 1e-6, rtol = 1e-6, msg = "" } = options;
  const a = "data" in actual ? actual.data : actual;
  const b = "data" in expected ? expected.data : expected;
  if ("shape" in actual && "shape" in expected && formatShape(actual.shape) !== formatShape(expected.shape)) {
    throw new AssertionError({
      message: `${msg}shapes differ: ${formatShape(actual.shape)} vs ${formatShape(expected.shape)}`,
    });
  }
  if (a.length !== b.length) {
    throw new AssertionError({ message: `${msg}lengths differ: ${a.length} vs ${b.length}` });
  }
  let worst = -1, worstExcess = 0, bad = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number, y = b[i] as number;
    if ((Number.isNaN(x) && Number.isNaN(y)) || x === y) continue;
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (!(excess <= 0)) {
      bad++;
      if (worst < 0 || !(excess <= worstExcess)) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (bad > 0) {
    throw new AssertionError({
      message: `${msg}${bad} of ${a.length} elements differ beyond atol=${atol}, rtol=${rtol}; worst at ${worst}: ${
        a[worst]
      } vs ${b[worst]} (|diff| = ${Math.abs((a[worst] as number) - (b[worst] as number))})`,
    });
  }
}

/** Asserts that `fn` throws (or rejects) an instance of `ErrorClass` whose message contains every `parts` string. */
export async function assertThrowsMessage(
  fn: () => unknown,
  ErrorClass: abstract new (...args: never[]) => Error,
  ...parts: string[]
): Promise<Error> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof ErrorClass)) {
    throw new AssertionError({
      message: `expected ${ErrorClass.name} to be thrown, got ${
        caught instanceof Error ? caught.stack : String(caught)
      }`,
    });
  }
  for (const p of parts) {
    if (!caught.message.includes(p)) {
      throw new AssertionError({
        message: `error message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(p)}`,
      });
    }
  }
  return caught;
}
