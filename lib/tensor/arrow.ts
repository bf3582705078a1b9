// SPDX-License-Identifier: MIT
/**
 * Tensors as Arrow columns: the canonical `arrow.fixed_shape_tensor` extension
 * (Apache Arrow, `docs/source/format/CanonicalExtensions.rst`, "Fixed shape tensor").
 *
 * Layouts (chosen with `options.layout`):
 * - `"rows"` (default for rank ≥ 2): a tensor `[rows, ...rest]` becomes `rows` Arrow rows, each a
 *   `FixedSizeList<size = prod(rest)>` holding one slice along axis 0; the extension metadata is
 *   `{"shape":[...rest]}` (the spec's `shape` is the shape of one element, without the row axis).
 *   This is the per-output-channel layout (one row per output channel) the quantizers use.
 * - `"whole"` (default for rank 0 and 1): one Arrow row holding the whole tensor, metadata
 *   `{"shape":[...t.shape]}`; the field also carries `quantlab:layout = "whole"` so that
 *   {@link fromArrow} returns the original shape instead of `[1, ...shape]`.
 *
 * Zero-copy: the child values of the column are the tensor's own TypedArray (row-major order is
 * the spec's physical layout), and {@link fromArrow} views a single-chunk column's buffer
 * without copying. f16 travels as Arrow `Float16` over the raw bits (`Uint16Array`).
 *
 * `{ extension: false }` gives a plain FixedSizeList column without any field metadata: some
 * readers (nodejs-polars 0.25) refuse extension columns but read the plain storage column.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { allocate, type DType, formatShape, shapeSize, Tensor, type TensorData } from "./tensor.ts";

/** Field metadata key of an Arrow extension type name. */
export const EXTENSION_NAME_KEY = "ARROW:extension:name";
/** Field metadata key of an Arrow extension type's serialized parameters. */
export const EXTENSION_METADATA_KEY = "ARROW:extension:metadata";
/** The canonical extension name of fixed-shape tensor columns. */
export const FIXED_SHAPE_TENSOR = "arrow.fixed_shape_tensor";
/** Field metadata key marking a column that holds one whole tensor in a single row. */
export const LAYOUT_KEY = "quantlab:layout";

/** How a tensor maps onto Arrow rows: one row per axis-0 slice, or one row for the whole tensor. */
export type TensorLayout = "rows" | "whole";

/** A tensor as an Arrow column: the field (name, type, metadata) and its data. */
export interface TensorColumn {
  /** Name, FixedSizeList type and the extension metadata. */
  field: arrow.Field<arrow.FixedSizeList>;
  /** One chunk whose child values are the tensor's own array. */
  vector: arrow.Vector<arrow.FixedSizeList>;
}

/** Options of {@link toArrow}. */
export interface ToArrowOptions {
  /** Names of the element dimensions (length = element rank: `rank - 1` for "rows", `rank` for "whole"). */
  dimNames?: readonly string[];
  /** Row layout; default "rows" for rank ≥ 2, "whole" for rank 0 and 1. */
  layout?: TensorLayout;
  /** Attach the canonical extension metadata (default true); false gives a plain FixedSizeList column. */
  extension?: boolean;
}

/** Options of {@link fromArrow}. */
export interface FromArrowOptions {
  /** Always copy into a fresh array (default false: view a single-chunk column's buffer). */
  copy?: boolean;
  /**
   * `false` also accepts a plain FixedSizeList column without extension metadata (its tensor is
   * `[rows, listSize]` unless `shape` is given). Default: the extension metadata is required.
   */
  extension?: boolean;
  /** Shape to give the result (its size must match); required to undo a plain "whole" column. */
  shape?: readonly number[];
}

/** FixedSizeList sizes are Int32 in the Arrow format. */
const MAX_LIST_SIZE = 2 ** 31 - 1;

/** The Arrow value type storing `dtype` (f16 as Float16 over raw bits). */
export function arrowType(dtype: DType): arrow.DataType {
  switch (dtype) {
    case "f32":
      return new arrow.Float32();
    case "f64":
      return new arrow.Float64();
    case "f16":
      return new arrow.Float16();
    case "i8":
      return new arrow.Int8();
    case "u8":
      return new arrow.Uint8();
    case "i32":
      return new arrow.Int32();
    case "u32":
      return new arrow.Uint32();
  }
}

/** The tensor dtype of an Arrow value type, or undefined when it has none. */
export function dtypeOfArrow(type: arrow.DataType): DType | undefined {
  if (arrow.DataType.isFloat(type)) {
    const p = (type as arrow.Float).precision;
    if (p === arrow.Precision.HALF) return "f16";
    if (p === arrow.Precision.SINGLE) return "f32";
    if (p === arrow.Precision.DOUBLE) return "f64";
  }
  if (arrow.DataType.isInt(type)) {
    const { bitWidth, isSigned } = type as arrow.Int;
    if (bitWidth === 8) return isSigned ? "i8" : "u8";
    if (bitWidth === 32) return isSigned ? "i32" : "u32";
  }
  return undefined;
}

/**
 * Wraps a tensor as a FixedSizeList Arrow column with `arrow.fixed_shape_tensor` metadata,
 * without copying its data.
 *
 * @param name column name
 * @param t tensor of any supported dtype; `[rows, ...rest]` in the "rows" layout
 * @param options dimension names, layout, and whether to attach the extension metadata
 * @returns the field and a single-chunk vector whose child values are `t.data` itself
 *
 * @example One row per output channel, zero-copy
 * ```ts
 * import { toArrow } from "./arrow.ts";
 * import { Tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const w = new Tensor("f32", [2, 3], new Float32Array([1, 2, 3, 4, 5, 6]));
 * const { field, vector } = toArrow("w", w, { dimNames: ["in"] });
 * assert.equal(vector.length, 2);
 * assert.equal(field.metadata.get("ARROW:extension:name"), "arrow.fixed_shape_tensor");
 * assert.equal(field.metadata.get("ARROW:extension:metadata"), '{"shape":[3],"dim_names":["in"]}');
 * assert.equal(vector.data[0]!.children[0]!.values, w.data);
 * ```
 */
export function toArrow(name: string, t: Tensor, options: ToArrowOptions = {}): TensorColumn {
  const layout = options.layout ?? (t.rank >= 2 ? "rows" : "whole");
  if (layout === "rows" && t.rank === 0) {
    throw new TypeError(
      `toArrow: Cannot split tensor "${name}" of shape [] into rows: the "rows" layout needs rank >= 1`,
    );
  }
  const rows = layout === "rows" ? t.shape[0] as number : 1;
  const elementShape = layout === "rows" ? t.shape.slice(1) : [...t.shape];
  const listSize = shapeSize(elementShape);
  if (listSize > MAX_LIST_SIZE) {
    throw new RangeError(
      `toArrow: Cannot store tensor "${name}" of shape ${formatShape(t.shape)} as a column: ` +
        `element size ${listSize} exceeds the Arrow FixedSizeList limit ${MAX_LIST_SIZE}`,
    );
  }
  const dimNames = options.dimNames;
  if (dimNames !== undefined && dimNames.length !== elementShape.length) {
    throw new RangeError(
      `toArrow: Cannot name the dimensions of tensor "${name}" of shape ${formatShape(t.shape)}: ` +
        `got ${dimNames.length} dimNames, expected ${elementShape.length} (element shape ${
          formatShape(elementShape)
        }, layout "${layout}")`,
    );
  }
  const valueType = arrowType(t.dtype);
  const type = new arrow.FixedSizeList(listSize, new arrow.Field("item", valueType, false));
  const child = arrow.makeData({ type: valueType, length: t.size, nullCount: 0, data: t.data } as never);
  const data = arrow.makeData({ type, length: rows, nullCount: 0, child });
  const metadata = new Map<string, string>();
  if (options.extension ?? true) {
    const params: { shape: number[]; dim_names?: string[] } = { shape: elementShape };
    if (dimNames !== undefined) params.dim_names = [...dimNames];
    metadata.set(EXTENSION_NAME_KEY, FIXED_SHAPE_TENSOR);
    metadata.set(EXTENSION_METADATA_KEY, JSON.stringify(params));
    if (layout === "whole") metadata.set(LAYOUT_KEY, "whole");
  }
  return { field: new arrow.Field(name, type, false, metadata), vector: arrow.makeVector(data) };
}

/**
 * Reads a tensor back from a FixedSizeList column, validating the extension metadata.
 *
 * Zero-copy when the column has a single chunk (the result views the column's buffer, even when
 * sliced); a multi-chunk column is concatenated into a fresh array.
 *
 * @param vector the column data (FixedSizeList of f32/f64/f16/i8/u8/i32/u32, no nulls)
 * @param field the column's field, carrying the extension metadata
 * @param options copy, plain-column acceptance, result shape
 * @returns `[rows, ...shape]` ("rows" layout) or `shape` ("whole" layout)
 *
 * @example Round trip
 * ```ts
 * import { fromArrow, toArrow } from "./arrow.ts";
 * import { Tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const w = new Tensor("i8", [2, 2, 2], new Int8Array([1, -2, 3, -4, 5, -6, 7, -8]));
 * const { field, vector } = toArrow("w", w);
 * const back = fromArrow(vector, field);
 * assert.deepEqual(back.shape, [2, 2, 2]);
 * assert.equal(back.data.buffer, w.data.buffer); // zero-copy
 * ```
 */
export function fromArrow(
  vector: arrow.Vector,
  field: arrow.Field,
  options: FromArrowOptions = {},
): Tensor {
  const fail = (why: string) => `fromArrow: Cannot read tensor from column "${field.name}": ${why}`;
  if (!arrow.DataType.isFixedSizeList(field.type)) {
    throw new TypeError(fail(`type is ${field.type}, expected a FixedSizeList`));
  }
  const listType = field.type as arrow.FixedSizeList;
  const listSize = listType.listSize;
  const rows = vector.length;
  const { elementShape, whole } = readExtension(field, listSize, options.extension === false, fail);
  const dtype = dtypeOfArrow(listType.valueType);
  if (dtype === undefined) {
    throw new TypeError(
      fail(`value type ${listType.valueType} is not a tensor dtype (f16, f32, f64, i8, u8, i32, u32)`),
    );
  }
  if (vector.nullCount > 0) {
    throw new TypeError(fail(`it has ${vector.nullCount} null entries; tensors cannot hold nulls`));
  }
  const size = rows * listSize;
  const chunks: TensorData[] = [];
  for (const d of vector.data) {
    const c = d.children[0] as arrow.Data;
    if (c.nullCount > 0) throw new TypeError(fail(`its values hold ${c.nullCount} nulls`));
    // arrow-js slices a FixedSizeList's child and its values buffer eagerly (`offset` only
    // indexes the null bitmap), so the values start at the first element of this chunk.
    const all = c.values as TensorData;
    const values = all.length === d.length * listSize ? all : all.subarray(0, d.length * listSize);
    if (values.length !== d.length * listSize) {
      throw new RangeError(
        fail(`a chunk of ${d.length} rows × ${listSize} holds only ${values.length} values`),
      );
    }
    chunks.push(values);
  }
  let data: TensorData;
  if (chunks.length === 1 && !options.copy) {
    data = chunks[0] as TensorData;
  } else {
    data = allocate(dtype, size);
    let at = 0;
    for (const c of chunks) {
      (data as Uint8Array).set(c as Uint8Array, at); // same element type: a byte copy, NaN payloads kept
      at += c.length;
    }
  }
  if (whole && rows !== 1) {
    throw new RangeError(fail(`${LAYOUT_KEY} is "whole" but the column has ${rows} rows, expected 1`));
  }
  let shape = whole ? elementShape : [rows, ...elementShape];
  if (options.shape !== undefined) {
    if (shapeSize(options.shape) !== size) {
      throw new RangeError(
        fail(`shape ${formatShape(options.shape)} has ${shapeSize(options.shape)} elements, the column ${size}`),
      );
    }
    shape = [...options.shape];
  }
  return new Tensor(dtype, shape, data);
}

/** Validates the extension metadata; returns the element shape and whether the layout is "whole". */
function readExtension(
  field: arrow.Field,
  listSize: number,
  allowPlain: boolean,
  fail: (why: string) => string,
): { elementShape: number[]; whole: boolean } {
  const name = field.metadata.get(EXTENSION_NAME_KEY);
  if (name === undefined) {
    if (allowPlain) return { elementShape: [listSize], whole: false };
    throw new TypeError(
      fail(
        `extension name is missing, expected "${FIXED_SHAPE_TENSOR}" (fromArrow reads plain columns with { extension: false })`,
      ),
    );
  }
  if (name !== FIXED_SHAPE_TENSOR) {
    throw new TypeError(fail(`extension name is "${name}", expected "${FIXED_SHAPE_TENSOR}"`));
  }
  const text = field.metadata.get(EXTENSION_METADATA_KEY) ?? "";
  let params: unknown;
  try {
    params = JSON.parse(text);
  } catch (cause) {
    throw new TypeError(fail(`extension metadata ${JSON.stringify(text)} is not valid JSON`), { cause });
  }
  const p = params as { shape?: unknown; dim_names?: unknown; permutation?: unknown };
  if (
    typeof params !== "object" || params === null || !Array.isArray(p.shape) ||
    !p.shape.every((d) => Number.isInteger(d) && d >= 0)
  ) {
    throw new TypeError(fail(`extension metadata ${text} lacks a "shape" array of non-negative integers`));
  }
  const shape = p.shape as number[];
  if (shapeSize(shape) !== listSize) {
    throw new RangeError(
      fail(`extension shape ${formatShape(shape)} has ${shapeSize(shape)} elements but the list size is ${listSize}`),
    );
  }
  if (
    p.dim_names !== undefined &&
    (!Array.isArray(p.dim_names) || p.dim_names.length !== shape.length ||
      !p.dim_names.every((s) => typeof s === "string"))
  ) {
    throw new TypeError(fail(`extension "dim_names" ${JSON.stringify(p.dim_names)} must be ${shape.length} strings`));
  }
  // A permutation only changes the logical view; quantlab tensors have no strides, so refuse it.
  if (p.permutation !== undefined) {
    const perm = p.permutation;
    if (!Array.isArray(perm) || perm.length !== shape.length || perm.some((v, i) => v !== i)) {
      throw new TypeError(fail(`extension "permutation" ${JSON.stringify(perm)} is not the identity (unsupported)`));
    }
  }
  // A damaged layout value must not silently turn [5] into [1, 5].
  const layout = field.metadata.get(LAYOUT_KEY);
  if (layout !== undefined && layout !== "whole" && layout !== "rows") {
    throw new TypeError(fail(`${LAYOUT_KEY} is ${JSON.stringify(layout)}, expected "whole" or "rows"`));
  }
  return { elementShape: shape, whole: layout === "whole" };
}
