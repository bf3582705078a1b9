// SPDX-License-Identifier: MIT
/**
 * Integer quantization specs and their canonical ids, e.g. `int4-g128-asym`, `int8-ch-sym`.
 *
 * @module
 */

/** An integer weight/activation quantization format. */
export interface IntSpec {
  format: "int";
  /** Bits per code, 2–8. */
  bits: number;
  /** Columns per group; 0 means one group per row (per-channel, or per-token for activations). */
  groupSize: number;
  /** Symmetric (zero fixed at the middle code) or asymmetric (zero from the range). */
  symmetric: boolean;
}

/** Validates an integer spec against a row length; returns the number of groups per row. */
export function groupsPerRow(fn: string, spec: IntSpec, cols: number): number {
  if (!Number.isInteger(spec.bits) || spec.bits < 2 || spec.bits > 8) {
    throw new RangeError(`${fn}: Cannot quantize to ${spec.bits} bits: bits must be an integer in 2..8`);
  }
  if (spec.groupSize === 0) return 1;
  if (!Number.isInteger(spec.groupSize) || spec.groupSize < 1 || cols % spec.groupSize !== 0) {
    throw new RangeError(
      `${fn}: Cannot group ${cols} columns into groups of ${spec.groupSize}: cols must be divisible by groupSize`,
    );
  }
  return cols / spec.groupSize;
}

/**
 * Canonical id of a spec.
 *
 * @example
 * ```ts
 * import { formatId } from "./spec.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatId({ format: "int", bits: 4, groupSize: 128, symmetric: false }), "int4-g128-asym");
 * assert.equal(formatId({ format: "int", bits: 8, groupSize: 0, symmetric: true }), "int8-ch-sym");
 * ```
 */
export function formatId(spec: IntSpec): string {
  return `int${spec.bits}-${spec.groupSize === 0 ? "ch" : `g${spec.groupSize}`}-${spec.symmetric ? "sym" : "asym"}`;
}

/** Parses a canonical id back into a spec (`int4-g128-asym`, `int3-ch-sym`). */
export function parseFormatId(id: string): IntSpec {
  const m = /^int([2-8])-(ch|g(\d+))-(sym|asym)$/.exec(id);
  if (!m) {
    throw new RangeError(
      `parseFormatId: Cannot parse format id "${id}": expected e.g. "int4-g128-asym" or "int8-ch-sym"`,
    );
  }
  return { format: "int", bits: Number(m[1]), groupSize: m[3] ? Number(m[3]) : 0, symmetric: m[4] === "sym" };
}

/**
 * Bits per weight of an integer format, codes plus per-group parameters: f16 scale (16 bits)
 * and, for asymmetric formats, a `bits`-wide zero point (as the GPTQ packed layout stores it).
 */
export function bitsPerWeight(spec: IntSpec, cols: number): number {
  const groupSize = spec.groupSize === 0 ? cols : spec.groupSize;
  return spec.bits + (16 + (spec.symmetric ? 0 : spec.bits)) / groupSize;
}
