// SPDX-License-Identifier: MIT
/**
 * The tensor manifest of a quantlab tensors table (private): schema metadata
 * `quantlab:tensors` = JSON `[{"name", "dtype", "shape"}, ...]`, one entry per column, in
 * column order. It states what every column must decode to, so a damaged column type or
 * extension key (an i8 column flipped to u8, a lost `quantlab:layout`, f32 read as f16) is
 * detected instead of read, and plain FixedSizeList columns (`{ extension: false }`, for polars)
 * get their shapes back. Tables written elsewhere have no manifest and are read from their
 * per-column extension metadata alone.
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import { EXTENSION_NAME_KEY, fromArrow } from "./arrow.ts";
import { type DType, DTYPES, formatShape, type Tensor } from "./tensor.ts";

/** Schema metadata key holding the manifest. */
export const MANIFEST_KEY = "quantlab:tensors";

/** What one column declares. */
export interface ManifestEntry {
  name: string;
  dtype: DType;
  shape: number[];
}

/** The manifest of named tensors, as schema metadata text. */
export function manifestOf(record: Record<string, Tensor>): string {
  return JSON.stringify(Object.entries(record).map(([name, t]) => ({ name, dtype: t.dtype, shape: [...t.shape] })));
}

/**
 * Parses the manifest (undefined when the key is absent).
 *
 * @throws {TypeError} when it is not an array of `{name, dtype, shape}` entries
 */
export function parseManifest(metadata: ReadonlyMap<string, string>): ManifestEntry[] | undefined {
  const text = metadata.get(MANIFEST_KEY);
  if (text === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new TypeError(`schema metadata "${MANIFEST_KEY}" is not valid JSON: ${JSON.stringify(text)}`, { cause });
  }
  const bad = (why: string) => new TypeError(`schema metadata "${MANIFEST_KEY}" ${why}`);
  if (!Array.isArray(raw)) throw bad("is not an array");
  return raw.map((e: unknown, i) => {
    const entry = e as Partial<ManifestEntry> | null;
    if (typeof entry !== "object" || entry === null || typeof entry.name !== "string") {
      throw bad(`entry ${i} has no "name" string`);
    }
    if (!DTYPES.includes(entry.dtype as DType)) throw bad(`entry ${i} has dtype ${JSON.stringify(entry.dtype)}`);
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`entry ${i} has shape ${JSON.stringify(shape)}, expected non-negative integers`);
    }
    return { name: entry.name, dtype: entry.dtype as DType, shape };
  });
}

/** Throws a TypeError unless `t` has the declared dtype and shape. */
export function checkDeclared(t: Tensor, entry: ManifestEntry): void {
  const same = t.dtype === entry.dtype && t.rank === entry.shape.length &&
    t.shape.every((d, i) => d === entry.shape[i]);
  if (!same) {
    throw new TypeError(
      `the column decodes to ${t.dtype} ${formatShape(t.shape)}, the manifest declares ${entry.dtype} ${
        formatShape(entry.shape)
      }`,
    );
  }
}

/** The loop of {@link tensorsFromTable}; `wrap` turns a column's error into the caller's. */
export function readColumns(
  fn: string,
  table: arrow.Table,
  options: { copy?: boolean },
  wrap: (field: string, e: Error) => Error,
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const fields = table.schema.fields;
  let manifest: ManifestEntry[] | undefined;
  try {
    manifest = parseManifest(table.schema.metadata);
    if (manifest !== undefined && manifest.length !== fields.length) {
      throw new TypeError(`the manifest declares ${manifest.length} tensors, the schema has ${fields.length} columns`);
    }
  } catch (e) {
    throw wrap(
      `schema.metadata["${MANIFEST_KEY}"]`,
      new TypeError(`${fn}: Cannot read tensors: ${(e as Error).message}`),
    );
  }
  fields.forEach((field, i) => {
    try {
      if (Object.hasOwn(out, field.name)) throw new TypeError(`the name is used twice: names must be unique`);
      const entry = manifest?.[i];
      if (entry !== undefined && entry.name !== field.name) {
        throw new TypeError(`the manifest declares "${entry.name}" at position ${i}`);
      }
      const column = table.getChildAt(i) as arrow.Vector;
      const copy = options.copy ?? false;
      let t: Tensor;
      if (field.metadata.has(EXTENSION_NAME_KEY)) {
        t = fromArrow(column, field, { copy });
      } else if (entry !== undefined) {
        t = fromArrow(column, field, { copy, extension: false, shape: entry.shape });
      } else {
        throw new TypeError(
          `it is a plain column without the "arrow.fixed_shape_tensor" extension and the table has no ` +
            `"${MANIFEST_KEY}" manifest, so its shape is unknown: read it with loadTable() and ` +
            `fromArrow(column, field, { extension: false, shape })`,
        );
      }
      if (entry !== undefined) checkDeclared(t, entry);
      out[field.name] = t;
    } catch (e) {
      const why = (e as Error).message.replace(/^fromArrow: Cannot read tensor from column "[^"]*": /, "");
      const Class = e instanceof RangeError ? RangeError : TypeError;
      throw wrap(
        `column "${field.name}"`,
        new Class(`${fn}: Cannot read column "${field.name}": ${why}`, { cause: e }),
      );
    }
  });
  return out;
}
