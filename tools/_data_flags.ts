// SPDX-License-Identifier: MIT
/**
 * The data flags every task that calibrates or evaluates shares (`--calib-data`, `--eval-data`,
 * `--text-column`, `--calib-sampling`), declared once for `tools/_cli.ts`, and their mapping to
 * `resolveModelData`'s options.
 *
 * @module
 */
import type { FlagSpec } from "./_cli.ts";
import type { ModelDataOptions } from "../lib/data/resolve.ts";

/** Flag declarations to spread into a task's `flags`. */
export const DATA_FLAGS = {
  "calib-data": {
    type: "path",
    path: "file",
    help: "calibration text: .txt, .jsonl (a text field) or Arrow IPC (a string column); default: bundled corpus " +
      "(byte-level model only)",
  },
  "eval-data": {
    type: "path",
    path: "file",
    help: 'evaluation text (same formats), joined with "\\n\\n" and cut into non-overlapping windows; default: ' +
      "bundled corpus (byte-level model only)",
  },
  "text-column": { type: "string", default: "text", help: "JSON Lines field / Arrow column holding the text" },
  "calib-sampling": {
    type: "enum",
    choices: ["auto", "stream", "documents"],
    default: "auto",
    help: "documents: a random long-enough document, then a window (GPTQ c4); stream: join, then windows " +
      "(GPTQ wikitext2); auto: documents for multi-document files",
  },
} as const satisfies Record<string, FlagSpec>;

/**
 * `resolveModelData` options from parsed data flags.
 *
 * @param v parsed values of {@link DATA_FLAGS}
 * @returns the file options (counts and seeds are the task's)
 */
export function dataOptions(
  v: { "calib-data"?: string; "eval-data"?: string; "text-column": string; "calib-sampling": string },
): ModelDataOptions {
  return {
    ...(v["calib-data"] !== undefined && { calibData: v["calib-data"] }),
    ...(v["eval-data"] !== undefined && { evalData: v["eval-data"] }),
    textColumn: v["text-column"],
    calibSampling: v["calib-sampling"] as ModelDataOptions["calibSampling"],
  };
}
