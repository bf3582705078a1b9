// SPDX-License-Identifier: MIT
/**
 * Quantization specs and their canonical ids, with exact bits-per-weight accounting.
 *
 * | spec | id examples | value |
 * |---|---|---|
 * | {@link IntSpec} | `int4-g128-asym`, `int8-ch-sym`, `int8-t-sym` | `scale·(q − zero)` |
 * | {@link FloatSpec} | `fp8-e4m3-ch`, `fp4-e2m1-g32` | `scale·minifloat(q)` |
 * | {@link CodebookSpec} | `nf4-g64`, `nf3-ch`, `cb-mine-g64` | `scale·levels[q]` |
 * | {@link MxSpec} | `mxfp4-e2m1`, `mxfp8-e4m3`, `mxint8` | `2^e·element(q)` per block of 32 |
 * | {@link LogSpec} | `log2-b4-t`, `log2-b4-ch` | `scale·2^(−q)` (non-negative) |
 *
 * Granularity (every spec but MX): `groupSize` columns per group along the row, 0 for one
 * group per row (per-channel for weights, per-token for activations), `perTensor: true` for
 * one parameter set for the whole tensor. Stored bits ({@link bitsPerWeight}, defined in
 * stored_bits.ts): dense codes, f16 scales, asymmetric integer zeros at `bits`, MX shared
 * exponents as E8M0 (8 bits).
 *
 * @module
 */
import { MX_SCALE_BITS, SCALE_BITS, storedBits, type StoredLayout } from "./stored_bits.ts";

/** An integer weight/activation quantization format. */
export interface IntSpec {
  /** Format discriminant. */
  format: "int";
  /** Bits per code, 2–8. */
  bits: number;
  /** Columns per group; 0 means one group per row (per-channel, or per-token for activations). */
  groupSize: number;
  /** Symmetric (zero fixed at the middle code) or asymmetric (zero from the range). */
  symmetric: boolean;
  /** One scale/zero for the whole tensor (overrides `groupSize`). */
  perTensor?: boolean;
  /**
   * Asymmetric only: the offset `m = −scale·zero` is stored as an f16 (ggml's Q4_1 `d`, `m`) instead
   * of an integer zero, and the observer picks scales with both `scale` and `scale·zero` exactly
   * f16 (see `groupParams`), so the GGUF Q4_1 export holds exactly the evaluated weights. Id suffix
   * `-f16min`; the zero counts 16 bits.
   */
  f16Min?: boolean;
}

/** Minifloat element formats (OCP names: FP8 E4M3/E5M2, FP6 E3M2/E2M3, FP4 E2M1). */
export type MinifloatName = "e4m3" | "e5m2" | "e3m2" | "e2m3" | "e2m1";

/** Scaled minifloat: `scale` per group maps the group's absmax onto the format's max. */
export interface FloatSpec {
  /** Format discriminant. */
  format: "fp";
  /** Element format. */
  element: MinifloatName;
  /** Columns per group; 0 for one group per row. */
  groupSize: number;
  /** One scale for the whole tensor (overrides `groupSize`). */
  perTensor?: boolean;
}

/** Non-uniform scalar codebook (NF4, NF3 or an arbitrary sorted table), absmax-scaled. */
export interface CodebookSpec {
  /** Format discriminant. */
  format: "codebook";
  /** `nf4`, `nf3`, or a custom name (letters/digits) with `levels`. */
  name: string;
  /** Sorted levels (≤ 256); required for custom names, ignored for nf4/nf3. */
  levels?: Float32Array;
  /** Columns per group; 0 for one group per row. */
  groupSize: number;
  /** One scale for the whole tensor (overrides `groupSize`). */
  perTensor?: boolean;
}

/** OCP Microscaling: blocks of `blockSize` (32) elements share a power-of-two scale (E8M0). */
export interface MxSpec {
  /** Format discriminant. */
  format: "mx";
  /** Element format (`int8`: MXINT8). */
  element: MinifloatName | "int8";
  /** Elements per shared scale (default 32, the OCP MX value). */
  blockSize?: number;
}

/** Logarithmic quantizer for non-negative values: `q = clamp(round(−log2(x/s)), 0, 2^b − 1)`. */
export interface LogSpec {
  /** Format discriminant. */
  format: "log2";
  /** Bits per code, 2–8. */
  bits: number;
  /** Columns per group; 0 for one group per row (per token). */
  groupSize: number;
  /** One scale for the whole tensor (overrides `groupSize`). */
  perTensor?: boolean;
}

/** Any quantization format. */
export type QuantSpec = IntSpec | FloatSpec | CodebookSpec | MxSpec | LogSpec;

/** Bits of each minifloat element format. */
export const MINIFLOAT_BITS: Readonly<Record<MinifloatName, number>> = {
  e4m3: 8,
  e5m2: 8,
  e3m2: 6,
  e2m3: 6,
  e2m1: 4,
};

/** Default MX block size (OCP MX spec v1.0). */
export const MX_BLOCK_SIZE = 32;

/** Validates an integer spec against a row length; returns the number of groups per row. */
export function groupsPerRow(fn: string, spec: IntSpec, cols: number): number {
  checkBits(fn, spec.bits);
  return groupCount(fn, spec, cols);
}

function checkBits(fn: string, bits: number): void {
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) {
    throw new RangeError(`${fn}: Cannot quantize to ${bits} bits: bits must be an integer in 2..8`);
  }
}

function groupCount(fn: string, spec: { groupSize: number; perTensor?: boolean }, cols: number): number {
  if (spec.perTensor || spec.groupSize === 0) return 1;
  if (!Number.isInteger(spec.groupSize) || spec.groupSize < 1 || cols % spec.groupSize !== 0) {
    throw new RangeError(
      `${fn}: Cannot group ${cols} columns into groups of ${spec.groupSize}: cols must be divisible by groupSize`,
    );
  }
  return cols / spec.groupSize;
}

/**
 * Shape `[R, G]` of the parameters of `spec` for a `[rows, cols]` tensor (R = 1 when per-tensor),
 * after validating bits and group size.
 */
export function paramGrid(fn: string, spec: QuantSpec, rows: number, cols: number): { R: number; G: number } {
  if (spec.format === "int" || spec.format === "log2") checkBits(fn, spec.bits);
  if (spec.format === "mx") {
    const b = spec.blockSize ?? MX_BLOCK_SIZE;
    return { R: rows, G: groupCount(fn, { groupSize: b }, cols) };
  }
  return { R: spec.perTensor ? 1 : rows, G: groupCount(fn, spec, cols) };
}

/** Bits of one code of `spec` (`ceil(log2 L)` for codebooks). */
export function codeBits(spec: QuantSpec): number {
  switch (spec.format) {
    case "int":
    case "log2":
      return spec.bits;
    case "fp":
      return MINIFLOAT_BITS[spec.element];
    case "mx":
      return spec.element === "int8" ? 8 : MINIFLOAT_BITS[spec.element];
    case "codebook": {
      const L = spec.name === "nf4" ? 16 : spec.name === "nf3" ? 8 : (spec.levels?.length ?? 0);
      if (L < 1) throw new RangeError(`codeBits: Cannot size codebook "${spec.name}": it has no levels`);
      return Math.max(1, Math.ceil(Math.log2(L)));
    }
  }
}

function granularityId(spec: { groupSize: number; perTensor?: boolean }): string {
  return spec.perTensor ? "t" : spec.groupSize === 0 ? "ch" : `g${spec.groupSize}`;
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
 * assert.equal(formatId({ format: "fp", element: "e2m1", groupSize: 32 }), "fp4-e2m1-g32");
 * assert.equal(formatId({ format: "mx", element: "e4m3" }), "mxfp8-e4m3");
 * ```
 */
export function formatId(spec: QuantSpec): string {
  switch (spec.format) {
    case "int":
      return `int${spec.bits}-${granularityId(spec)}-${spec.symmetric ? "sym" : spec.f16Min ? "asym-f16min" : "asym"}`;
    case "fp":
      return `fp${MINIFLOAT_BITS[spec.element]}-${spec.element}-${granularityId(spec)}`;
    case "codebook":
      return spec.name === "nf4" || spec.name === "nf3"
        ? `${spec.name}-${granularityId(spec)}`
        : `cb-${spec.name}-${granularityId(spec)}`;
    case "mx": {
      const b = spec.blockSize ?? MX_BLOCK_SIZE;
      const base = spec.element === "int8" ? "mxint8" : `mxfp${MINIFLOAT_BITS[spec.element]}-${spec.element}`;
      return b === MX_BLOCK_SIZE ? base : `${base}-b${b}`;
    }
    case "log2":
      return `log2-b${spec.bits}-${granularityId(spec)}`;
  }
}

/** Parses an integer id back into a spec (`int4-g128-asym`, `int3-ch-sym`, `int8-t-sym`). */
export function parseFormatId(id: string): IntSpec {
  const m = /^int([2-8])-(ch|t|g(\d+))-(sym|asym|asym-f16min)$/.exec(id);
  if (!m) {
    throw new RangeError(
      `parseFormatId: Cannot parse format id "${id}": expected e.g. "int4-g128-asym" or "int8-ch-sym"`,
    );
  }
  const spec: IntSpec = {
    format: "int",
    bits: Number(m[1]),
    groupSize: m[3] ? Number(m[3]) : 0,
    symmetric: m[4] === "sym",
  };
  if (m[2] === "t") spec.perTensor = true;
  if (m[4] === "asym-f16min") spec.f16Min = true;
  return spec;
}

function parseGranularity(g: string): { groupSize: number; perTensor?: boolean } {
  if (g === "t") return { groupSize: 0, perTensor: true };
  return { groupSize: g === "ch" ? 0 : Number(g.slice(1)) };
}

/**
 * Parses any canonical id (see the module table). Custom codebooks (`cb-…`) cannot be parsed
 * back, since their levels are not in the id.
 *
 * @example
 * ```ts
 * import { formatId, parseQuantSpec } from "./spec.ts";
 * import assert from "node:assert/strict";
 * for (const id of ["int3-g64-asym", "fp8-e5m2-t", "nf4-g64", "mxfp6-e2m3", "mxint8-b16", "log2-b4-ch"]) {
 *   assert.equal(formatId(parseQuantSpec(id)), id);
 * }
 * ```
 */
export function parseQuantSpec(id: string): QuantSpec {
  const G = "(ch|t|g\\d+)";
  let m: RegExpExecArray | null;
  if (id.startsWith("int")) return parseFormatId(id);
  if ((m = new RegExp(`^fp(\\d)-(e4m3|e5m2|e3m2|e2m3|e2m1)-${G}$`).exec(id))) {
    const element = m[2] as MinifloatName;
    if (Number(m[1]) === MINIFLOAT_BITS[element]) return { format: "fp", element, ...parseGranularity(m[3]!) };
  }
  if ((m = new RegExp(`^(nf4|nf3)-${G}$`).exec(id))) {
    return { format: "codebook", name: m[1]!, ...parseGranularity(m[2]!) };
  }
  if ((m = /^mx(?:int8|fp(\d)-(e4m3|e5m2|e3m2|e2m3|e2m1))(?:-b(\d+))?$/.exec(id))) {
    const element = (m[2] ?? "int8") as MinifloatName | "int8";
    if (element === "int8" || Number(m[1]) === MINIFLOAT_BITS[element]) {
      const spec: MxSpec = { format: "mx", element };
      if (m[3]) spec.blockSize = Number(m[3]);
      return spec;
    }
  }
  if ((m = new RegExp(`^log2-b([2-8])-${G}$`).exec(id))) {
    return { format: "log2", bits: Number(m[1]), ...parseGranularity(m[2]!) };
  }
  throw new RangeError(
    `parseQuantSpec: Cannot parse format id "${id}": expected e.g. "int4-g128-asym", "fp8-e4m3-ch", "nf4-g64", "mxfp4-e2m1" or "log2-b4-t"`,
  );
}

/**
 * The stored parts of a `[rows, cols]` weight in format `spec` (see stored_bits.ts): dense
 * codes, f16 scales (MX: 8-bit shared exponents), code-width zeros for asymmetric integers, a
 * custom codebook's f16 table; no `g_idx` and no per-column scale (those depend on the method).
 *
 * @param spec the format
 * @param rows rows of W (out features)
 * @param cols row length (in features)
 * @returns counts and widths of what is stored
 * @throws {RangeError} on bits out of range or a group size that does not divide `cols`
 */
export function specLayout(spec: QuantSpec, rows: number, cols: number): StoredLayout {
  const { R, G } = paramGrid("specLayout", spec, rows, cols);
  const bits = codeBits(spec);
  const asymInt = spec.format === "int" && !spec.symmetric;
  const custom = spec.format === "codebook" && spec.name !== "nf4" && spec.name !== "nf3";
  return {
    weights: rows * cols,
    codeBits: bits,
    scales: R * G,
    scaleBits: spec.format === "mx" ? MX_SCALE_BITS : SCALE_BITS,
    zeros: asymInt ? R * G : 0,
    zeroBits: asymInt ? (spec.f16Min ? SCALE_BITS : bits) : 0,
    groupIndex: 0,
    colScales: 0,
    levels: custom ? (spec.levels?.length ?? 0) : 0,
  };
}

/**
 * Bits per weight of a format: {@link storedBits} of {@link specLayout} over rows·cols, i.e.
 * codes plus per-group parameters, exactly as `storageBits` counts a packed tensor of the same
 * format (no 32-bit word rounding: int3 per channel is 3 + 19/cols, not 3.2 + 19/cols).
 *
 * @param spec the format
 * @param cols row length (columns of W)
 * @param rows rows of W: needed for per-tensor parameters and custom codebook tables (default 1)
 * @returns stored bits per weight
 * @throws {RangeError} on bits out of range or a group size that does not divide `cols`
 *
 * @example
 * ```ts
 * import { bitsPerWeight } from "./spec.ts";
 * import assert from "node:assert/strict";
 * assert.equal(bitsPerWeight({ format: "int", bits: 4, groupSize: 128, symmetric: false }, 4096), 4 + 20 / 128);
 * assert.equal(bitsPerWeight({ format: "int", bits: 3, groupSize: 0, symmetric: false }, 4096), 3 + 19 / 4096);
 * assert.equal(bitsPerWeight({ format: "mx", element: "e2m1" }, 4096), 4.25);
 * ```
 */
export function bitsPerWeight(spec: QuantSpec, cols: number, rows = 1): number {
  return storedBits(specLayout(spec, rows, cols)) / (rows * cols);
}
