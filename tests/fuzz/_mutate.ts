// SPDX-License-Identifier: MIT
/**
 * Seeded mutations of a valid file (one per case, so "the file's declaration" stays a single,
 * well-defined thing): bit flips, byte overwrites, truncation, insertion, and length-field
 * corruption (a known count/length field of the format, or for text formats a JSON number,
 * set to an interesting value: 0, −1, 2^31−1, 2·10⁹, 2^32−1, 1e308, the file size...).
 */
import type { Rng } from "../../lib/tensor/random.ts";

/** The mutation operators. */
export const MUTATIONS = ["bitflip", "overwrite", "truncate", "insert", "length"] as const;
/** One mutation operator. */
export type MutationKind = (typeof MUTATIONS)[number];

/** A known binary length/count field: byte position and width. */
export interface LengthField {
  at: number;
  size: 4 | 8;
}

/** A mutated file and what was done to it (for reproducing a finding). */
export interface Mutation {
  kind: MutationKind;
  detail: string;
  bytes: Uint8Array;
}

const INTERESTING_32 = [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 2_000_000_000, 0xfffffff8, 0x10000];
const INTERESTING_TEXT = ["-1", "0", "1e9", "1e308", "-1e308", "0.5", "NaN", "3", "99999999999999999999", "-0"];

/**
 * Applies one seeded mutation.
 *
 * @param bytes the valid file (not modified)
 * @param rng the case's generator
 * @param fields known length fields (binary formats); for `text` formats JSON numbers are used
 * @param text whether the file is JSON text
 */
export function mutate(bytes: Uint8Array, rng: Rng, fields: readonly LengthField[], text: boolean): Mutation {
  const kind = MUTATIONS[rng.int(MUTATIONS.length)] as MutationKind;
  // A copy even for a Node Buffer (protobufjs returns those), whose slice() is a view.
  const out = new Uint8Array(bytes);
  const n = bytes.length;
  switch (kind) {
    case "bitflip": {
      const at = rng.int(n), bit = rng.int(8);
      out[at] = (out[at] as number) ^ (1 << bit);
      return { kind, detail: `bit ${bit} of byte ${at}`, bytes: out };
    }
    case "overwrite": {
      const at = rng.int(n), count = 1 + rng.int(4);
      const values = text ? [0x22, 0x7b, 0x5d, 0x30, 0x2d, 0x00] : [0x00, 0xff, 0x7f, 0x80];
      for (let k = 0; k < count && at + k < n; k++) {
        out[at + k] = rng.int(2) === 0 ? (values[rng.int(values.length)] as number) : rng.int(256);
      }
      return { kind, detail: `${count} bytes at ${at}`, bytes: out };
    }
    case "truncate": {
      const keep = rng.int(n);
      return { kind, detail: `keep ${keep} of ${n} bytes`, bytes: out.subarray(0, keep) };
    }
    case "insert": {
      const at = rng.int(n + 1), count = 1 + rng.int(16);
      const extra = Uint8Array.from({ length: count }, () => rng.int(256));
      const grown = new Uint8Array(n + count);
      grown.set(bytes.subarray(0, at));
      grown.set(extra, at);
      grown.set(bytes.subarray(at), at + count);
      return { kind, detail: `${count} bytes at ${at}`, bytes: grown };
    }
    case "length":
      return text ? corruptNumber(bytes, rng) : corruptField(out, rng, fields);
  }
}

/** Sets a known length field (or, without any, a random aligned word) to an interesting value. */
function corruptField(out: Uint8Array, rng: Rng, fields: readonly LengthField[]): Mutation {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const f = fields.length > 0 ? fields[rng.int(fields.length)] as LengthField : {
    at: 4 * rng.int(Math.max(1, (out.length >> 2) - 1)),
    size: 4 as const,
  };
  const pick = rng.int(INTERESTING_32.length + 2);
  const value = pick === INTERESTING_32.length
    ? out.length
    : pick === INTERESTING_32.length + 1
    ? out.length + 8
    : INTERESTING_32[pick] as number;
  if (f.at + f.size > out.length) return { kind: "length", detail: "no room", bytes: out };
  if (f.size === 4) view.setUint32(f.at, value, true);
  else view.setBigInt64(f.at, pick === 2 ? -1n : BigInt(value), true);
  return { kind: "length", detail: `${f.size}-byte field at ${f.at} = ${value}`, bytes: out };
}

/** Replaces one JSON number of the text with an interesting one. */
function corruptNumber(bytes: Uint8Array, rng: Rng): Mutation {
  const text = new TextDecoder().decode(bytes);
  const numbers = [...text.matchAll(/-?\d+(\.\d+)?([eE][-+]?\d+)?/g)];
  if (numbers.length === 0) return { kind: "length", detail: "no number", bytes: new Uint8Array(bytes) };
  const m = numbers[rng.int(numbers.length)] as RegExpMatchArray;
  const value = INTERESTING_TEXT[rng.int(INTERESTING_TEXT.length)] as string;
  const at = m.index as number;
  const mutated = text.slice(0, at) + value + text.slice(at + m[0].length);
  return {
    kind: "length",
    detail: `number ${m[0]} at char ${at} = ${value}`,
    bytes: new TextEncoder().encode(mutated),
  };
}
