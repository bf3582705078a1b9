// SPDX-License-Identifier: MIT
/**
 * The results table: one row per (recipe, format) evaluation, recording everything needed to
 * reproduce it (model, split, seqLen, windows, calibration set, recipe). Backed by Arrow for
 * saving (IPC) and interchange; renders as HTML in Jupyter and exports markdown.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { saveTable } from "../tensor/ipc.ts";
import { formatValue } from "../tensor/display.ts";

/** One evaluated configuration. Optional metrics are empty cells when absent. */
export interface ResultRow {
  /** Recipe name, e.g. `RTN`, `GPTQ+act-order`, `FP`. */
  recipe: string;
  /** Canonical format id (`int4-g128-asym`) or `fp32`. */
  format: string;
  /** Bits per weight of the quantized linears, scales and zeros included. */
  bitsPerWeight: number;
  /** exp(mean NLL) over the evaluated windows. */
  perplexity: number;
  /** Bits per token (= bits per byte for byte-level models). */
  bitsPerToken: number;
  /** Mean KL(full ‖ quantized), nats per token (exact, or a top-k lower bound when `klTailMass` is set). */
  kl?: number;
  /** Reference probability outside the kept top k when `kl` came from compact stats (0: exact). */
  klTailMass?: number;
  /** Share of positions where the full-precision and quantized argmaxes agree. */
  top1Agreement?: number;
  /** Wall seconds spent quantizing (calibration included). */
  quantSeconds?: number;
  /** Model name (checkpoint directory name). */
  model: string;
  /** Evaluation text: a bundled split or the evaluation file's name. */
  split: string;
  /** Window length in tokens. */
  seqLen: number;
  /** Windows evaluated. */
  windows: number;
  /** Calibration set description, e.g. `train 128×256 seed 0`, or `none`. */
  calibration: string;
}

const COLUMNS: { key: keyof ResultRow; title: string; digits?: number }[] = [
  { key: "recipe", title: "recipe" },
  { key: "format", title: "format" },
  { key: "bitsPerWeight", title: "bits/w", digits: 3 },
  { key: "perplexity", title: "ppl", digits: 4 },
  { key: "bitsPerToken", title: "bits/tok", digits: 4 },
  { key: "kl", title: "KL", digits: 3 },
  { key: "top1Agreement", title: "top-1", digits: 4 },
  { key: "quantSeconds", title: "quant s", digits: 3 },
];

/** A table of {@link ResultRow}s with Jupyter display, markdown and Arrow export. */
export class ResultsTable {
  /** The rows, in insertion order. */
  readonly rows: ResultRow[] = [];
  /** Optional caption, e.g. the evaluation protocol. */
  caption: string;

  /**
   * Creates a table.
   *
   * @param caption shown above (markdown) or below (HTML) the table
   * @param rows initial rows
   */
  constructor(caption = "", rows: ResultRow[] = []) {
    this.caption = caption;
    this.rows.push(...rows);
  }

  /** Appends a row; returns the table for chaining. */
  add(row: ResultRow): this {
    this.rows.push(row);
    return this;
  }

  /** The protocol line shared by all rows (model, split, seqLen, windows, calibration). */
  protocol(): string {
    const uniq = (k: keyof ResultRow) => [...new Set(this.rows.map((r) => String(r[k])))].join(" / ");
    return `model ${uniq("model")}; split ${uniq("split")}; seqLen ${uniq("seqLen")}; windows ${
      uniq("windows")
    }; calibration ${uniq("calibration")}`;
  }

  /** All rows as an Arrow table (missing metrics are nulls). */
  toArrow(): arrow.Table {
    const col = <K extends keyof ResultRow>(k: K) => this.rows.map((r) => r[k] ?? null);
    const num = (k: keyof ResultRow) => arrow.vectorFromArray(col(k) as (number | null)[], new arrow.Float64());
    const str = (k: keyof ResultRow) => arrow.vectorFromArray(col(k) as string[], new arrow.Utf8());
    return new arrow.Table({
      recipe: str("recipe"),
      format: str("format"),
      bitsPerWeight: num("bitsPerWeight"),
      perplexity: num("perplexity"),
      bitsPerToken: num("bitsPerToken"),
      kl: num("kl"),
      klTailMass: num("klTailMass"),
      top1Agreement: num("top1Agreement"),
      quantSeconds: num("quantSeconds"),
      model: str("model"),
      split: str("split"),
      seqLen: num("seqLen"),
      windows: num("windows"),
      calibration: str("calibration"),
    });
  }

  /** Saves the table as an Arrow IPC file. */
  async save(path: string): Promise<void> {
    await saveTable(path, this.toArrow());
  }

  /** One cell as text (empty for a missing metric). */
  private cell(row: ResultRow, key: keyof ResultRow, digits?: number): string {
    const v = row[key];
    if (v === undefined || v === null) return "";
    return typeof v === "number" ? formatValue(v, digits ?? 4) : String(v);
  }

  /** Markdown (GitHub) table with the protocol as a caption line. */
  toMarkdown(): string {
    const head = `| ${COLUMNS.map((c) => c.title).join(" | ")} |`;
    const sep = `| ${COLUMNS.map((c) => (c.digits === undefined ? "---" : "---:")).join(" | ")} |`;
    const body = this.rows.map((r) => `| ${COLUMNS.map((c) => this.cell(r, c.key, c.digits)).join(" | ")} |`);
    const caption = [this.caption, this.rows.length ? this.protocol() : ""].filter(Boolean).join("\n\n");
    return [caption ? `${caption}\n` : "", head, sep, ...body].filter((l) => l !== "").join("\n");
  }

  /** HTML table for notebooks. */
  toHtml(): string {
    const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
    const head = COLUMNS.map((c) => `<th>${esc(c.title)}</th>`).join("");
    const body = this.rows.map((r) =>
      `<tr>${
        COLUMNS.map((c) =>
          `<td style="text-align:${c.digits === undefined ? "left" : "right"}">${
            esc(this.cell(r, c.key, c.digits))
          }</td>`
        ).join("")
      }</tr>`
    ).join("");
    const caption = esc([this.caption, this.rows.length ? this.protocol() : ""].filter(Boolean).join(" — "));
    return `<table><caption style="caption-side:bottom;text-align:left;font-size:smaller">${caption}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
  }

  /** Plain-text rendering (the markdown). */
  toString(): string {
    return this.toMarkdown();
  }

  /** Jupyter rich display. */
  [Symbol.for("Jupyter.display")](): Record<string, string> {
    return { "text/html": this.toHtml(), "text/plain": this.toMarkdown() };
  }
}
