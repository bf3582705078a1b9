// SPDX-License-Identifier: MIT
/**
 * Reading the user's text: a plain text file (one document, the whole file), JSON Lines (one
 * document per line, from a string field, `text` by default) or an Arrow IPC file/stream (one
 * document per row of a string column, `text` by default; Hugging Face `datasets` cache
 * files are Arrow IPC streams). This mirrors GPTQ's loaders: `wikitext2` is one long text,
 * `c4` a list of documents.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { loadTable } from "../tensor/ipc.ts";
import { DataError } from "./errors.ts";

/** File formats {@link readTextDocuments} understands, by extension. */
export type TextFormat = "txt" | "jsonl" | "arrow";

/** The documents of one file. */
export interface TextDocuments {
  /** The file read. */
  path: string;
  /** How it was read. */
  format: TextFormat;
  /** Documents in file order (a `.txt` file is one document). */
  documents: string[];
}

/** Options of {@link readTextDocuments}. */
export interface ReadTextOptions {
  /** JSON Lines field / Arrow column holding the text (default `"text"`). */
  textColumn?: string;
}

const EXTENSIONS: Record<string, TextFormat> = {
  txt: "txt",
  text: "txt",
  md: "txt",
  jsonl: "jsonl",
  ndjson: "jsonl",
  arrow: "arrow",
  feather: "arrow",
  ipc: "arrow",
};

/**
 * The format a path's extension names.
 *
 * @param path a file name
 * @returns the format
 * @throws {DataError} for an extension that is not .txt/.text/.md, .jsonl/.ndjson or .arrow/.feather/.ipc
 */
export function textFormatOf(path: string): TextFormat {
  const ext = /\.([^./\\]+)$/.exec(path)?.[1]?.toLowerCase() ?? "";
  const f = EXTENSIONS[ext];
  if (!f) {
    throw new DataError(
      `readTextDocuments: Cannot read "${path}": unknown extension "${ext}"; expected .txt, .jsonl or .arrow/.feather/.ipc`,
      { file: path },
    );
  }
  return f;
}

/**
 * Reads a text file as documents (see the module doc for the formats).
 *
 * @example
 * ```ts
 * import { readTextDocuments } from "./read.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/c.jsonl`, '{"text": "one"}\n{"text": "two"}\n');
 * assert.deepEqual((await readTextDocuments(`${dir}/c.jsonl`)).documents, ["one", "two"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param path a .txt, .jsonl or Arrow IPC file
 * @param options the text field/column
 * @returns the documents in file order
 * @throws {DataError} naming the file (and line or column) when it cannot be read as text documents
 */
export async function readTextDocuments(path: string, options: ReadTextOptions = {}): Promise<TextDocuments> {
  const format = textFormatOf(path);
  const column = options.textColumn ?? "text";
  let documents: string[];
  if (format === "arrow") documents = await readArrow(path, column);
  else {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (e) {
      throw new DataError(`readTextDocuments: Cannot read "${path}": ${(e as Error).message}`, { file: path }, {
        cause: e,
      });
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (e) {
      throw new DataError(`readTextDocuments: Cannot decode "${path}": it is not valid UTF-8`, { file: path }, {
        cause: e,
      });
    }
    documents = format === "txt" ? [text] : parseJsonl(path, text, column);
  }
  if (documents.every((d) => d.length === 0)) {
    throw new DataError(`readTextDocuments: Cannot use "${path}": it holds no text`, { file: path });
  }
  return { path, format, documents };
}

function parseJsonl(path: string, text: string, field: string): string[] {
  const out: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    const where = { file: path, line: i + 1, column: field };
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new DataError(
        `readTextDocuments: Cannot parse line ${i + 1} of "${path}": ${(e as Error).message}`,
        where,
        { cause: e },
      );
    }
    const value = row !== null && typeof row === "object" && !Array.isArray(row)
      ? (row as Record<string, unknown>)[field]
      : undefined;
    if (typeof value !== "string") {
      const got = value === undefined ? "no such field" : `a ${value === null ? "null" : typeof value}`;
      throw new DataError(
        `readTextDocuments: Cannot read line ${i + 1} of "${path}": field "${field}" must be a string, got ${got}`,
        where,
      );
    }
    out.push(value);
  }
  return out;
}

function isStringType(t: arrow.DataType): boolean {
  if (arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t)) return true;
  return arrow.DataType.isDictionary(t) && isStringType(t.dictionary);
}

async function readArrow(path: string, column: string): Promise<string[]> {
  let table: arrow.Table;
  try {
    table = await loadTable(path);
  } catch (e) {
    const bytes = await Deno.readFile(path).catch(() => undefined);
    // loadTable reads the IPC file format; `datasets` caches are IPC streams, which
    // apache-arrow reads from the same bytes.
    try {
      if (!bytes) throw e;
      table = arrow.tableFromIPC(bytes);
      if (table.schema.fields.length === 0) throw e;
    } catch {
      throw new DataError(`readTextDocuments: Cannot read "${path}" as Arrow IPC: ${(e as Error).message}`, {
        file: path,
      }, { cause: e });
    }
  }
  const field = table.schema.fields.find((f) => f.name === column);
  const names = table.schema.fields.map((f) => `${f.name} (${f.type})`).join(", ");
  if (!field) {
    throw new DataError(
      `readTextDocuments: Cannot find text column "${column}" in "${path}": columns are ${
        names || "none"
      }; choose one with --text-column`,
      { file: path, column },
    );
  }
  if (!isStringType(field.type)) {
    throw new DataError(
      `readTextDocuments: Cannot read column "${column}" of "${path}" as text: it is ${field.type}; string columns are ${
        table.schema.fields.filter((f) => isStringType(f.type)).map((f) => f.name).join(", ") || "none"
      }`,
      { file: path, column },
    );
  }
  const vec = table.getChild(column)!;
  const out: string[] = new Array(vec.length);
  for (let i = 0; i < vec.length; i++) {
    const v = vec.get(i);
    if (typeof v !== "string") {
      throw new DataError(`readTextDocuments: Cannot read row ${i} of column "${column}" in "${path}": it is null`, {
        file: path,
        column,
      });
    }
    out[i] = v;
  }
  return out;
}
