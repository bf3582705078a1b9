// SPDX-License-Identifier: MIT
/**
 * The typed error of the data layer: a text file that cannot be read as documents, a tokenizer
 * output that does not fit the model, or a request the data cannot satisfy.
 *
 * @module
 */

/** Where in a file a {@link DataError} was found. */
export interface DataErrorLocation {
  /** The file (absent for in-memory data). */
  file?: string;
  /** 1-based line (JSON Lines). */
  line?: number;
  /** Column name (Arrow) or field name (JSON Lines). */
  column?: string;
}

/**
 * A data file or token stream that cannot be used; `file`, `line` and `column` say where.
 *
 * @example
 * ```ts
 * import { DataError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new DataError("readTextDocuments: Cannot read line 3", { file: "a.jsonl", line: 3 });
 * assert.equal(e.line, 3);
 * assert.ok(e instanceof Error);
 * ```
 */
export class DataError extends Error {
  /** The file, when the data came from one. */
  readonly file?: string;
  /** 1-based line, for line-oriented files. */
  readonly line?: number;
  /** Column or field name. */
  readonly column?: string;

  /**
   * Creates the error.
   *
   * @param message `functionName: Cannot <do what>: <why>`
   * @param where file, line and column
   * @param options standard error options (`cause`)
   */
  constructor(message: string, where: DataErrorLocation = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = "DataError";
    if (where.file !== undefined) this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
    if (where.column !== undefined) this.column = where.column;
  }
}
