// SPDX-License-Identifier: MIT
/**
 * Tensors and statistics tables as Arrow IPC *files* (`ARROW1` magic, footer), readable by any
 * Arrow implementation (pyarrow: `pa.ipc.open_file(path).read_all()`).
 *
 * Layout of a tensors file ({@link saveTensors}): one table with **one row and one column per
 * tensor**. Each column is a `FixedSizeList<size = t.size>` carrying the canonical
 * `arrow.fixed_shape_tensor` extension with `{"shape": t.shape}` and `quantlab:layout = "whole"`
 * (see `arrow.ts`), so tensors of any shapes share one table and keep their exact shapes. Values
 * are the raw little-endian buffers, so round trips are bit-exact for every dtype (f16 bits,
 * NaN payloads). Limit: 2^31 − 1 elements per tensor (FixedSizeList sizes are Int32).
 * {@link loadTensors} also reads tables written elsewhere in the per-row layout (a column of `n`
 * rows of element shape `s` becomes a tensor `[n, ...s]`).
 *
 * The schema also carries a manifest (metadata `quantlab:tensors`: name, dtype, shape per column)
 * that every column must decode to, so a damaged type or extension key is an error, not a
 * silently different tensor. `saveTensors(path, t, { extension: false })` writes plain
 * FixedSizeList columns without field metadata (nodejs-polars refuses extension columns);
 * {@link loadTensors} restores their shapes from the manifest.
 *
 * Reads are zero-copy: loaded tensors view the file's bytes (pass `{ copy: true }` to own them).
 * Damaged input is rejected before apache-arrow parses it, with a {@link TensorFileError} naming
 * the file and the field: bad magic, truncation, then a verification of the footer, schema,
 * messages and record batches against the file size (`_ipc_validate.ts`); apache-arrow 21
 * would otherwise loop on a damaged count or read a negative length as an empty column.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { type TensorLayout, toArrow } from "./arrow.ts";
import { TensorFileError } from "./errors.ts";
import { validateIpcFile } from "./_ipc_validate.ts";
import { MANIFEST_KEY, manifestOf, readColumns } from "./_ipc_manifest.ts";
import type { Tensor } from "./tensor.ts";

/** Options of the tensor readers. */
export interface ReadTensorsOptions {
  /** Copy every tensor into its own buffer instead of viewing the file bytes (default false). */
  copy?: boolean;
}

/** Options of {@link saveTensors} and {@link tensorsToIPC}. */
export interface SaveTensorsOptions {
  /**
   * Attach the `arrow.fixed_shape_tensor` extension metadata to every column (default true).
   * `false` writes plain FixedSizeList columns (what nodejs-polars reads); the shapes then live
   * only in the schema's `quantlab:tensors` manifest, which {@link loadTensors} uses.
   */
  extension?: boolean;
}

/** Columns accepted by {@link saveTable} besides an Arrow table. */
export type TableColumns = Record<
  string,
  number[] | string[] | Float32Array | Float64Array | Int32Array | Uint32Array | Int8Array | Uint8Array
>;

const MAGIC = "ARROW1";

/**
 * Builds one Arrow table from named tensors.
 *
 * @param record tensors by column name
 * @param options layout "rows" (default: every tensor `[rows, ...]` with the same `rows`) or
 *   "whole" (one row; any shapes); `extension: false` for plain FixedSizeList columns
 * @returns a table whose columns are the tensors' zero-copy fixed_shape_tensor columns, with
 *   the `quantlab:tensors` manifest in its schema metadata
 *
 * @example A quantized layer, one row per output channel
 * ```ts
 * import { tensorsToTable } from "./ipc.ts";
 * import { Tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const table = tensorsToTable({
 *   codes: new Tensor("u8", [4, 8]),
 *   scale: new Tensor("f32", [4, 2]),
 * });
 * assert.equal(table.numRows, 4);
 * assert.deepEqual(table.schema.fields.map((f) => f.name), ["codes", "scale"]);
 * ```
 */
export function tensorsToTable(
  record: Record<string, Tensor>,
  options: { layout?: TensorLayout; extension?: boolean } = {},
): arrow.Table {
  const layout = options.layout ?? "rows";
  const extension = options.extension ?? true;
  const columns = Object.entries(record).map(([name, t]) => toArrow(name, t, { layout, extension }));
  const rows = columns[0]?.vector.length ?? (layout === "whole" ? 1 : 0);
  for (const c of columns) {
    if (c.vector.length !== rows) {
      const shapes = Object.entries(record).map(([n, t]) => `"${n}" [${t.shape.join(", ")}]`);
      throw new RangeError(
        `tensorsToTable: Cannot put tensors with different row counts in one table: ${shapes.join(", ")}` +
          ` (use { layout: "whole" })`,
      );
    }
  }
  const schema = new arrow.Schema(columns.map((c) => c.field), new Map([[MANIFEST_KEY, manifestOf(record)]]));
  const data = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: rows,
    nullCount: 0,
    children: columns.map((c) => c.vector.data[0] as arrow.Data),
  });
  return new arrow.Table([new arrow.RecordBatch(schema, data)]);
}

/**
 * Reads every column of a table as a tensor (see {@link fromArrow} for the validation). With a
 * `quantlab:tensors` manifest in the schema metadata, every column must decode to its declared
 * name, dtype and shape, and plain FixedSizeList columns take their shapes from it.
 *
 * @param table columns of fixed_shape_tensor FixedSizeLists (or plain ones with a manifest)
 * @param options `copy` to own the data instead of viewing the table's buffers
 * @returns tensors by column name
 * @throws {TypeError} or {RangeError} naming the column that does not decode
 */
export function tensorsFromTable(table: arrow.Table, options: ReadTensorsOptions = {}): Record<string, Tensor> {
  return readColumns("tensorsFromTable", table, options, (_field, e) => e);
}

/**
 * Serializes named tensors of any shapes and dtypes to Arrow IPC file bytes (the
 * {@link saveTensors} layout).
 *
 * @example Round trip in memory
 * ```ts
 * import { tensorsFromIPC, tensorsToIPC } from "./ipc.ts";
 * import { Tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const bytes = tensorsToIPC({
 *   w: new Tensor("f32", [2, 3], new Float32Array([1, 2, 3, 4, 5, 6])),
 *   bias: new Tensor("f16", [3], new Uint16Array([0x3c00, 0x4000, 0x7e00])),
 * });
 * const back = tensorsFromIPC(bytes);
 * assert.deepEqual(back.w!.shape, [2, 3]);
 * assert.deepEqual([...back.bias!.data], [0x3c00, 0x4000, 0x7e00]);
 * ```
 */
export function tensorsToIPC(record: Record<string, Tensor>, options: SaveTensorsOptions = {}): Uint8Array {
  return arrow.tableToIPC(tensorsToTable(record, { layout: "whole", extension: options.extension ?? true }), "file");
}

/**
 * Parses Arrow IPC file bytes written by {@link tensorsToIPC} (or any fixed_shape_tensor table).
 *
 * @throws {TensorFileError} when the bytes are not a valid Arrow IPC file of tensors
 */
export function tensorsFromIPC(bytes: Uint8Array, options: ReadTensorsOptions = {}): Record<string, Tensor> {
  return readTensors("tensorsFromIPC", "<bytes>", bytes, options);
}

/**
 * Saves named tensors to an Arrow IPC file (one row, one fixed_shape_tensor column per tensor).
 *
 * @param path file to create or overwrite
 * @param record tensors by name; any shapes and dtypes
 * @param options `extension: false` writes plain FixedSizeList columns (for polars)
 *
 * @example Save and load
 * ```ts
 * import { loadTensors, saveTensors } from "./ipc.ts";
 * import { Tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await saveTensors(`${dir}/t.arrow`, { h: new Tensor("f64", [2], new Float64Array([1, NaN])) });
 * const { h } = await loadTensors(`${dir}/t.arrow`);
 * assert.deepEqual([...h!.data], [1, NaN]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveTensors(
  path: string,
  record: Record<string, Tensor>,
  options: SaveTensorsOptions = {},
): Promise<void> {
  await writeIPCFile(path, tensorsToTable(record, { layout: "whole", extension: options.extension ?? true }));
}

/**
 * Loads the tensors of an Arrow IPC file (see {@link saveTensors}); they view the file's bytes unless `copy`.
 *
 * @param path an Arrow IPC file of tensors
 * @param options `copy` to own the data
 * @returns tensors by column name, with the shapes and dtypes the file declares
 * @throws {TensorFileError} naming the file and field when it is damaged or inconsistent;
 *   Deno.errors.NotFound when it does not exist
 */
export async function loadTensors(path: string, options: ReadTensorsOptions = {}): Promise<Record<string, Tensor>> {
  return readTensors("loadTensors", path, await readWholeFile(path), options);
}

/**
 * Saves a table (e.g. per-layer statistics) as an Arrow IPC file.
 *
 * @param path file to create or overwrite
 * @param table an Arrow table, or equal-length columns converted with `tableFromArrays`
 *   (number[] → Float64, string[] → dictionary-encoded Utf8, typed arrays keep their type)
 *
 * @example Statistics table
 * ```ts
 * import { loadTable, saveTable } from "./ipc.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await saveTable(`${dir}/s.arrow`, { layer: ["q", "k"], mse: new Float32Array([0.5, 0.25]) });
 * const t = await loadTable(`${dir}/s.arrow`);
 * assert.deepEqual(t.getChild("mse")!.toArray(), new Float32Array([0.5, 0.25]));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveTable(path: string, table: arrow.Table | TableColumns): Promise<void> {
  const t = table instanceof arrow.Table
    ? table
    : arrow.tableFromArrays(table as Record<string, Float64Array>) as arrow.Table;
  await writeIPCFile(path, t);
}

/**
 * Loads an Arrow IPC file as a table, verified before apache-arrow parses it.
 *
 * @throws {TensorFileError} naming the file and field when it is damaged
 */
export async function loadTable(path: string): Promise<arrow.Table> {
  return readIPCFile("loadTable", path, await readWholeFile(path));
}

/** Streams the writer's chunks (views of the column buffers) to the file: no whole-file copy. */
async function writeIPCFile(path: string, table: arrow.Table): Promise<void> {
  const writer = arrow.RecordBatchFileWriter.writeAll(table);
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for await (const chunk of writer) {
    let at = 0;
    while (at < chunk.length) at += await file.write(chunk.subarray(at));
  }
}

/** Reads a file into one exactly sized buffer (2-3× faster than `Deno.readFile` for 64 MiB here). */
async function readWholeFile(path: string): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  const bytes = new Uint8Array((await file.stat()).size);
  let at = 0;
  while (at < bytes.length) {
    const got = await file.read(bytes.subarray(at));
    if (got === null) break; // shrank while reading: the magic checks report the truncation
    at += got;
  }
  return at === bytes.length ? bytes : bytes.subarray(0, at);
}

function readTensors(
  fn: string,
  where: string,
  bytes: Uint8Array,
  options: ReadTensorsOptions,
): Record<string, Tensor> {
  const table = readIPCFile(fn, where, bytes, true);
  return readColumns(
    fn,
    table,
    options,
    (field, e) =>
      new TensorFileError(`${e.message.replace(`${fn}: Cannot read`, `${fn}: Cannot read "${where}":`)}`, {
        file: where,
        field,
        cause: e.cause ?? e,
      }),
  );
}

/** Checks the magic numbers, verifies the structure, then parses. */
function readIPCFile(fn: string, where: string, bytes: Uint8Array, tensors = false): arrow.Table {
  const fail = (why: string, cause?: unknown, field = "magic") =>
    new TensorFileError(`${fn}: Cannot read Arrow IPC file "${where}": ${why}`, { file: where, field, cause });
  const head = new TextDecoder().decode(bytes.subarray(0, 6));
  if (head !== MAGIC) {
    const shown = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const stream = bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset).getUint32(0) === 0xffffffff;
    throw fail(
      stream
        ? `it is an Arrow IPC stream, not a file (no leading "${MAGIC}" magic)`
        : `not an Arrow file: bad magic (first bytes ${shown || "none"}, expected "${MAGIC}")`,
    );
  }
  const tail = new TextDecoder().decode(bytes.subarray(bytes.length - 6));
  if (bytes.length < 12 || tail !== MAGIC) {
    throw fail(`the file is truncated: ${bytes.length} bytes and no trailing "${MAGIC}" magic`);
  }
  validateIpcFile(bytes, (field, why) => {
    throw fail(`${field} ${why}`, undefined, field);
  }, { exactBuffers: tensors });
  // Arrow views buffers in place as typed arrays, which needs 8-byte aligned input.
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  try {
    return arrow.tableFromIPC(aligned);
  } catch (cause) {
    // Unreachable for a verified file; kept so an apache-arrow gap still surfaces typed.
    throw fail(`apache-arrow rejected the verified file (${(cause as Error).message})`, cause, "apache-arrow");
  }
}
