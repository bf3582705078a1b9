// SPDX-License-Identifier: MIT
/**
 * The typed error of the tensor file readers (Arrow IPC today): a damaged, truncated or
 * inconsistent file is rejected with a {@link TensorFileError} that names the file, the field
 * that failed to verify and what was expected, never with a reader library's internal message.
 *
 * @module
 */

/** Where a {@link TensorFileError} happened. */
export interface TensorFileErrorOptions {
  /** The file (path, or `"<bytes>"` for in-memory input). */
  file: string;
  /** The field that failed, as a path into the file's structure (e.g. `footer.schema.fields[0].name`). */
  field: string;
  /** The underlying exception, when one was wrapped. */
  cause?: unknown;
}

/**
 * A tensor file could not be used: not the expected format, truncated, damaged, or its columns
 * disagree with what it declares. Extends TypeError (the class these readers threw before), so
 * existing `catch (e instanceof TypeError)` code keeps working.
 *
 * @example Catching it
 * ```ts
 * import { TensorFileError } from "./errors.ts";
 * import { tensorsFromIPC } from "./ipc.ts";
 * import assert from "node:assert/strict";
 * try {
 *   tensorsFromIPC(new TextEncoder().encode("ARROW1 but not really ARROW1"));
 *   assert.fail("expected a TensorFileError");
 * } catch (e) {
 *   assert.ok(e instanceof TensorFileError);
 *   assert.equal(e.file, "<bytes>");
 * }
 * ```
 */
export class TensorFileError extends TypeError {
  /** Error name. */
  override name = "TensorFileError";
  /** The file (path, or `"<bytes>"`). */
  readonly file: string;
  /** The field that failed to verify. */
  readonly field: string;

  /**
   * An error about `options.file` whose `options.field` failed to verify.
   *
   * @param message the full message (`fn: Cannot read ... "<file>": <field> <why>`)
   * @param options file, field and an optional cause
   */
  constructor(message: string, options: TensorFileErrorOptions) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.file = options.file;
    this.field = options.field;
  }
}
