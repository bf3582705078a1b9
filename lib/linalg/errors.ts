// SPDX-License-Identifier: MIT
/**
 * Domain errors of the linear-algebra layer. Callers (GPTQ, whitening) catch
 * {@link NotPositiveDefiniteError} to retry with more damping.
 *
 * @module
 */

/** Default hint attached to {@link NotPositiveDefiniteError}: the usual fix in GPTQ-style code. */
export const DEFAULT_NOT_PD_HINT = "increase dampRatio";

/**
 * Thrown by Cholesky factorizations when the matrix is not (numerically) positive definite.
 *
 * @example Catch and inspect the pivot
 * ```ts
 * import { NotPositiveDefiniteError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new NotPositiveDefiniteError("cholesky", 4, 2, -1e-3);
 * assert.ok(e instanceof RangeError);
 * assert.equal(e.pivot, 2);
 * assert.match(e.message, /not positive definite at pivot 2/);
 * ```
 */
export class NotPositiveDefiniteError extends RangeError {
  /** Zero-based index of the diagonal element where the factorization broke down. */
  readonly pivot: number;
  /** The non-positive (or non-finite) value found on the diagonal at `pivot`. */
  readonly value: number;
  /** What the caller can do about it. */
  readonly hint: string;

  /**
   * Builds the error and its message.
   *
   * @param fn name of the failing function (for the message)
   * @param n order of the matrix (it has shape `[n, n]`)
   * @param pivot zero-based pivot index
   * @param value the offending diagonal value
   * @param hint remedy shown in the message (default {@link DEFAULT_NOT_PD_HINT})
   */
  constructor(fn: string, n: number, pivot: number, value: number, hint: string = DEFAULT_NOT_PD_HINT) {
    super(
      `${fn}: Cannot factor A of shape [${n}, ${n}]: not positive definite at pivot ${pivot} (value ${
        formatValue(value)
      }); hint: ${hint}`,
    );
    this.name = "NotPositiveDefiniteError";
    this.pivot = pivot;
    this.value = value;
    this.hint = hint;
  }
}

/** Thrown when a triangular matrix has a zero (or non-finite) diagonal element. */
export class SingularMatrixError extends RangeError {
  /** Zero-based index of the zero diagonal element. */
  readonly index: number;

  /**
   * Builds the error and its message.
   *
   * @param fn name of the failing function
   * @param n order of the matrix
   * @param index zero-based index of the zero diagonal element
   */
  constructor(fn: string, n: number, index: number) {
    super(`${fn}: Cannot invert T of shape [${n}, ${n}]: diagonal element ${index} is zero (matrix is singular)`);
    this.name = "SingularMatrixError";
    this.index = index;
  }
}

function formatValue(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  const a = Math.abs(v);
  return a < 1e-3 || a >= 1e6 ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}
