// SPDX-License-Identifier: MIT
/**
 * Domain errors of the WebGPU backend. Each extends the closest built-in class so that
 * callers who only know `Error` still get a readable message.
 *
 * @module
 */

/** Thrown when a WebGPU device is required but none can be obtained (no adapter, no device). */
export class GpuUnavailableError extends Error {
  /**
   * Creates the error.
   *
   * @param message what was attempted and why it failed
   * @param options `{ cause }` when wrapping an underlying failure
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GpuUnavailableError";
  }
}

/** One compiler diagnostic: 1-based line and column in the WGSL source. */
export interface ShaderMessage {
  /** "error" | "warning" | "info". */
  type: string;
  /** 1-based line, 0 when unknown. */
  line: number;
  /** 1-based column, 0 when unknown. */
  col: number;
  /** First line of the compiler's message. */
  text: string;
}

/**
 * Thrown when a WGSL module or its compute pipeline fails to compile or validate.
 * `messages` holds `"line:col message"` strings (one per compiler error), `diagnostics` the
 * structured form, and `source` the full WGSL text that was compiled.
 */
export class ShaderCompileError extends Error {
  /** `"line:col message"` for each error. */
  readonly messages: string[];
  /** Structured diagnostics. */
  readonly diagnostics: ShaderMessage[];
  /** The WGSL source that failed. */
  readonly source: string;
  /** Kernel name (the pipeline cache key's first part). */
  readonly kernel: string;

  /**
   * Creates the error; the message lists every diagnostic as `[error at line:col] text`.
   *
   * @param kernel kernel name
   * @param diagnostics compiler errors (may be empty when only a validation message exists)
   * @param source the WGSL text
   * @param options `{ cause }`, e.g. the GPUValidationError or GPUPipelineError
   */
  constructor(
    kernel: string,
    diagnostics: ShaderMessage[],
    source: string,
    options?: ErrorOptions,
  ) {
    const messages = diagnostics.map((d) => `${d.line}:${d.col} ${d.text}`);
    const list = messages.map((m) => `\n  [error at ${m}]`).join("");
    super(`Cannot compile WGSL kernel "${kernel}": ${diagnostics.length} error(s)${list}`, options);
    this.name = "ShaderCompileError";
    this.kernel = kernel;
    this.diagnostics = diagnostics;
    this.messages = messages;
    this.source = source;
  }
}

/** Extracts the first meaningful line of a (possibly multi-line, decorated) compiler message. */
export function firstLine(message: string): string {
  for (const raw of message.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    // naga prefixes "Shader '<label>' parsing error: "; the rest is the diagnosis.
    return line.replace(/^Shader '[^']*' (parsing|validation) error:\s*/, "");
  }
  return message.trim();
}
