// SPDX-License-Identifier: MIT
/**
 * The `Params` uniform of a kernel, described once in TypeScript: field names and scalar
 * types in WGSL declaration order. Every field is a 4-byte scalar, so field i sits at byte
 * offset 4·i; a GPU-free test parses each `.wgsl` file's `struct Params` and checks that the
 * offsets and size agree with this description.
 *
 * @module
 */

/** Scalar types allowed in a `Params` struct. */
export type ParamType = "u32" | "i32" | "f32";

/** One field of a `Params` struct. */
export interface ParamField<K extends string = string> {
  readonly name: K;
  readonly type: ParamType;
  /** Byte offset inside the struct. */
  readonly offset: number;
}

/** Byte layout of a `Params` struct. */
export interface ParamsLayout<K extends string = string> {
  readonly fields: readonly ParamField<K>[];
  /** WGSL struct size in bytes (`roundUp(4, 4 · fields)`). */
  readonly size: number;
}

/**
 * Describes a `Params` struct.
 *
 * @param fields `[name, type]` pairs in WGSL declaration order
 *
 * @example
 * ```ts
 * import { defineParams } from "./params.ts";
 * import assert from "node:assert/strict";
 * const layout = defineParams([["rows", "u32"], ["maxq", "f32"]]);
 * assert.equal(layout.size, 8);
 * assert.equal(layout.fields[1]?.offset, 4);
 * ```
 */
export function defineParams<const K extends string>(
  fields: readonly (readonly [K, ParamType])[],
): ParamsLayout<K> {
  return {
    fields: fields.map(([name, type], i) => ({ name, type, offset: 4 * i })),
    size: 4 * fields.length,
  };
}

/**
 * Encodes parameter values into the bytes of a uniform buffer (padded to 16 bytes).
 *
 * @param kernel kernel name, for error messages
 * @param layout the struct layout
 * @param values one number per field; u32/i32 fields must hold integers in range
 */
export function encodeParams<K extends string>(
  kernel: string,
  layout: ParamsLayout<K>,
  values: Readonly<Record<K, number>>,
): ArrayBuffer {
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil(layout.size / 16) * 16));
  const view = new DataView(bytes);
  for (const { name, type, offset } of layout.fields) {
    const v = values[name];
    if (typeof v !== "number" || Number.isNaN(v)) {
      throw new TypeError(`${kernel}: Cannot encode parameter "${name}": got ${v}, expected a number`);
    }
    if (type === "f32") {
      view.setFloat32(offset, v, true);
      continue;
    }
    const [lo, hi] = type === "u32" ? [0, 2 ** 32 - 1] : [-(2 ** 31), 2 ** 31 - 1];
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new RangeError(`${kernel}: Cannot encode parameter "${name}" = ${v} as ${type}: out of range`);
    }
    if (type === "u32") view.setUint32(offset, v, true);
    else view.setInt32(offset, v, true);
  }
  return bytes;
}
