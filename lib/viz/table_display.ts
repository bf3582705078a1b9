// SPDX-License-Identifier: MIT
/**
 * Tables of statistics and results as HTML and Markdown: {@link tableHtml},
 * {@link tableMarkdown}, and {@link displayTable}, which wraps rows or an Arrow table as a
 * value that displays in Jupyter (`text/html`, with Markdown as `text/plain`).
 *
 * @module
 */

import { Tensor } from "../tensor/tensor.ts";
import { formatValue } from "../tensor/display.ts";
import { JUPYTER_DISPLAY } from "./display.ts";

/** One table row: column name → value. */
export type Row = Record<string, unknown>;

/** The part of an `apache-arrow` Table that the formatters read (duck-typed, no import). */
export interface ArrowTableLike {
  /** Column names, in order. */
  schema: { fields: readonly { name: string }[] };
  /** Number of rows. */
  numRows: number;
  /** Rows as struct-row objects (`row.toJSON()` gives a plain object). */
  toArray(): unknown[];
}

/** Input of the table formatters. */
export type TableInput = readonly Row[] | ArrowTableLike;

/** Options of {@link tableHtml}, {@link tableMarkdown} and {@link displayTable}. */
export interface TableOptions {
  /** Significant digits of non-integer numbers (default 4). */
  digits?: number;
  /** Columns to show, in order (default: all, in first-seen order). */
  columns?: readonly string[];
  /** Caption above the table. */
  caption?: string;
  /** Rows to show before "… N more rows" (default 200). */
  maxRows?: number;
}

function isArrowTable(x: TableInput): x is ArrowTableLike {
  return !Array.isArray(x) && typeof (x as ArrowTableLike).toArray === "function" &&
    Array.isArray((x as ArrowTableLike).schema?.fields);
}

function toRows(x: TableInput): { columns: string[]; rows: Row[] } {
  if (isArrowTable(x)) {
    const rows = x.toArray().map((r) => {
      const obj = r as { toJSON?: () => Row };
      return typeof obj.toJSON === "function" ? obj.toJSON() : r as Row;
    });
    return { columns: x.schema.fields.map((f) => f.name), rows };
  }
  const seen = new Set<string>();
  for (const row of x) for (const k of Object.keys(row)) seen.add(k);
  return { columns: [...seen], rows: [...x] };
}

/**
 * Formats one cell: numbers with `digits` significant digits (integers in full), bigint
 * and booleans as text, tensors and arrays as a short summary, null as empty.
 */
export function formatCell(v: unknown, digits = 4): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return formatValue(v, digits);
  if (typeof v === "string") return v;
  if (typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (v instanceof Tensor) return v.toString();
  if (v instanceof Date) return v.toISOString();
  const list = v as { length?: unknown; [Symbol.iterator]?: unknown };
  if (typeof list.length === "number" && typeof list[Symbol.iterator] === "function") {
    // Arrays, TypedArrays and Arrow vectors: a few values, else a count.
    const items = [...(v as Iterable<unknown>)];
    if (items.length <= 4) return `[${items.map((e) => formatCell(e, digits)).join(", ")}]`;
    return `[${items.length} values]`;
  }
  if (typeof v === "object" && v.toString !== Object.prototype.toString) return String(v);
  return JSON.stringify(v);
}

function isNumeric(rows: Row[], col: string): boolean {
  let any = false;
  for (const r of rows) {
    const v = r[col];
    if (v === null || v === undefined) continue;
    if (typeof v !== "number" && typeof v !== "bigint") return false;
    any = true;
  }
  return any;
}

interface Prepared {
  columns: string[];
  numeric: boolean[];
  cells: string[][];
  hidden: number;
}

function prepare(x: TableInput, options: TableOptions): Prepared {
  const { columns: all, rows } = toRows(x);
  const columns = options.columns ? [...options.columns] : all;
  const maxRows = options.maxRows ?? 200;
  const shown = rows.slice(0, maxRows);
  return {
    columns,
    numeric: columns.map((c) => isNumeric(rows, c)),
    cells: shown.map((r) => columns.map((c) => formatCell(r[c], options.digits))),
    hidden: rows.length - shown.length,
  };
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * An HTML table: numeric columns right-aligned in tabular figures, numbers formatted with
 * `digits` significant digits.
 *
 * @param x rows (objects) or an `apache-arrow` Table
 * @param options digits, column selection, caption, row limit
 *
 * @example
 * ```ts
 * import { tableHtml } from "./table_display.ts";
 * import assert from "node:assert/strict";
 * const html = tableHtml([{ method: "rtn", ppl: 12.3456789 }]);
 * assert.ok(html.includes("<td") && html.includes("12.35"));
 * ```
 */
export function tableHtml(x: TableInput, options: TableOptions = {}): string {
  const p = prepare(x, options);
  const align = (k: number) => p.numeric[k] ? "right" : "left";
  const head = p.columns.map((c, k) => `<th style="text-align:${align(k)}">${escapeHtml(c)}</th>`).join("");
  const body = p.cells.map((row) =>
    `<tr>${
      row.map((v, k) =>
        `<td style="text-align:${align(k)}${p.numeric[k] ? ";font-variant-numeric:tabular-nums" : ""}">${
          escapeHtml(v)
        }</td>`
      ).join("")
    }</tr>`
  ).join("\n");
  const caption = options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : "";
  const more = p.hidden > 0
    ? `\n<tr><td colspan="${p.columns.length}" style="color:#777">… ${p.hidden} more rows</td></tr>`
    : "";
  return `<table class="quantlab-table">${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}${more}\n</tbody></table>`;
}

/**
 * A GitHub-flavoured Markdown table (numeric columns right-aligned).
 *
 * @param x rows (objects) or an `apache-arrow` Table
 * @param options digits, column selection, caption, row limit
 */
export function tableMarkdown(x: TableInput, options: TableOptions = {}): string {
  const p = prepare(x, options);
  const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const lines = [
    `| ${p.columns.map(esc).join(" | ")} |`,
    `|${p.numeric.map((n) => n ? " ---: " : " --- ").join("|")}|`,
    ...p.cells.map((row) => `| ${row.map(esc).join(" | ")} |`),
  ];
  if (p.hidden > 0) lines.push(`\n… ${p.hidden} more rows`);
  if (options.caption) lines.unshift(`**${esc(options.caption)}**\n`);
  return lines.join("\n");
}

/** A table that displays as HTML in Jupyter and as Markdown in text. */
export class TableDisplay {
  /** The rows or Arrow table shown. */
  readonly source: TableInput;
  /** Formatting options. */
  readonly options: TableOptions;

  /**
   * Wraps rows or an Arrow table for display.
   *
   * @param source rows or an Arrow table
   * @param options formatting options
   */
  constructor(source: TableInput, options: TableOptions = {}) {
    this.source = source;
    this.options = options;
  }

  /** The Markdown table. */
  toString(): string {
    return tableMarkdown(this.source, this.options);
  }

  /** Jupyter display: `text/html` and Markdown `text/plain`. */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return { "text/html": tableHtml(this.source, this.options), "text/plain": this.toString() };
  }
}

/**
 * Wraps rows or an Arrow table as a displayable table (end a notebook cell with it).
 *
 * @param x rows (objects) or an `apache-arrow` Table
 * @param options digits, column selection, caption, row limit
 */
export function displayTable(x: TableInput, options: TableOptions = {}): TableDisplay {
  return new TableDisplay(x, options);
}
