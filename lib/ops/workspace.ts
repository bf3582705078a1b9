// SPDX-License-Identifier: MIT
/**
 * A small arena of reusable scratch arrays for hot loops. A fresh typed array costs more than
 * its size suggests: the pages are zero-filled and faulted in on first touch (about 11 ms per
 * 6 MiB on the 2-core development machine), so a loop that allocates its temporaries on every
 * iteration, or a function called once per layer, spends much of its time in the kernel.
 *
 * Each named slot holds one buffer that only grows (by at least 1.5× so that a slowly growing
 * request does not reallocate every time); a request returns a view of the exact length.
 * Contents are unspecified on return (whatever the previous user left) — callers initialise
 * what they read. Two live uses of the same slot alias each other, so every user names its
 * own slots.
 *
 * @example Reuse a scratch buffer across calls
 * ```ts
 * import { Workspace } from "./workspace.ts";
 * import assert from "node:assert/strict";
 * const ws = new Workspace();
 * const a = ws.f32("tmp", 1000);
 * const b = ws.f32("tmp", 800); // same memory, shorter view
 * assert.equal(a.buffer, b.buffer);
 * assert.equal(b.length, 800);
 * ```
 *
 * @module
 */

type Kind = "f32" | "f64" | "u8";
type ArrayOf<K extends Kind> = K extends "f32" ? Float32Array : K extends "f64" ? Float64Array : Uint8Array;

const CTOR = { f32: Float32Array, f64: Float64Array, u8: Uint8Array } as const;

/** Named, growable scratch buffers (see the module doc). */
export class Workspace {
  #slots = new Map<string, Float32Array | Float64Array | Uint8Array>();

  /**
   * An f32 scratch array of exactly `length` elements in slot `name` (contents unspecified).
   *
   * @param name slot name, unique per concurrent use
   * @param length element count (integer ≥ 0)
   * @returns a view of the slot's buffer
   * @throws {RangeError} on a negative or fractional length
   */
  f32(name: string, length: number): Float32Array {
    return this.#get("f32", name, length);
  }

  /**
   * An f64 scratch array of exactly `length` elements in slot `name` (contents unspecified).
   *
   * @param name slot name, unique per concurrent use
   * @param length element count (integer ≥ 0)
   * @returns a view of the slot's buffer
   * @throws {RangeError} on a negative or fractional length
   */
  f64(name: string, length: number): Float64Array {
    return this.#get("f64", name, length);
  }

  /**
   * A u8 scratch array of exactly `length` elements in slot `name` (contents unspecified).
   *
   * @param name slot name, unique per concurrent use
   * @param length element count (integer ≥ 0)
   * @returns a view of the slot's buffer
   * @throws {RangeError} on a negative or fractional length
   */
  u8(name: string, length: number): Uint8Array {
    return this.#get("u8", name, length);
  }

  /** Total bytes held by all slots. */
  get bytes(): number {
    let s = 0;
    for (const b of this.#slots.values()) s += b.byteLength;
    return s;
  }

  /** Drops every buffer (the memory goes back to the garbage collector). */
  clear(): void {
    this.#slots.clear();
  }

  #get<K extends Kind>(kind: K, name: string, length: number): ArrayOf<K> {
    if (!Number.isInteger(length) || length < 0) {
      throw new RangeError(
        `Workspace.${kind}: Cannot provide ${length} elements for slot '${name}': expected an integer >= 0`,
      );
    }
    const key = `${kind}:${name}`;
    let buf = this.#slots.get(key) as ArrayOf<K> | undefined;
    if (buf === undefined || buf.length < length) {
      const grown = buf === undefined ? length : Math.max(length, Math.ceil(buf.length * 1.5));
      buf = new CTOR[kind](grown) as ArrayOf<K>;
      this.#slots.set(key, buf);
    }
    return (buf.length === length ? buf : buf.subarray(0, length)) as ArrayOf<K>;
  }
}
