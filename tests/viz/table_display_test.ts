// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { tableFromArrays } from "apache-arrow";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { displayTable, formatCell, tableHtml, tableMarkdown } from "../../lib/viz/mod.ts";

type Bundle = Record<string, unknown>;
/** Calls the Jupyter display protocol method, as the Deno kernel does. */
const show = (x: unknown): Bundle => (x as Record<symbol, () => Bundle>)[Symbol.for("Jupyter.display")]!();

const ROWS = [
  { method: "rtn", bits: 4, ppl: 12.345678, note: "a|b" },
  { method: "gptq<x>", bits: 3, ppl: 0.000012346 },
];

Deno.test("formatCell() formats numbers, bigints, tensors, arrays and nulls", () => {
  assert.equal(formatCell(12.345678), "12.35");
  assert.equal(formatCell(12.345678, 6), "12.3457");
  assert.equal(formatCell(42), "42");
  assert.equal(formatCell(0.000012346), "1.235e-5");
  assert.equal(formatCell(7n), "7");
  assert.equal(formatCell(null), "");
  assert.equal(formatCell(new Float32Array([1, 2])), "[1, 2]");
  assert.equal(formatCell(new Float32Array(10)), "[10 values]");
  assert.equal(formatCell(new Tensor("f32", [2, 3])), "Tensor<f32>[2, 3]");
});

Deno.test("tableHtml() escapes text and right-aligns numeric columns", () => {
  const html = tableHtml(ROWS, { caption: "Results" });
  assert.ok(html.includes("<caption>Results</caption>"));
  assert.ok(html.includes("gptq&lt;x&gt;"));
  assert.ok(html.includes('<th style="text-align:right">ppl</th>'));
  assert.ok(html.includes('<th style="text-align:left">method</th>'));
  assert.ok(html.includes(">12.35</td>") && html.includes(">1.235e-5</td>"));
  assert.equal((html.match(/<tr>/g) ?? []).length, 3);
});

Deno.test("tableMarkdown() writes a GFM table with escaped pipes and a row limit", () => {
  const md = tableMarkdown(ROWS, { columns: ["method", "ppl", "note"], maxRows: 1 });
  assert.equal(
    md,
    "| method | ppl | note |\n| --- | ---: | --- |\n| rtn | 12.35 | a\\|b |\n\n… 1 more rows",
  );
});

Deno.test("displayTable() shows an Arrow table as HTML with a Markdown text copy", () => {
  const table = tableFromArrays({ layer: ["q", "k"], err: new Float32Array([0.5, 0.25]) });
  const bundle = show(displayTable(table, { digits: 3 }));
  assert.ok((bundle["text/html"] as string).includes(">0.25</td>"));
  assert.equal(bundle["text/plain"], "| layer | err |\n| --- | ---: |\n| q | 0.5 |\n| k | 0.25 |");
});
