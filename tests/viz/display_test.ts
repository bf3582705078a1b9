// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import {
  bar,
  displayBundle,
  figure,
  figuresPageHtml,
  histogram,
  markdown,
  PLOTLY_MIME,
  PLOTLY_VERSION,
  resetPlotlyEmbedding,
  writeHtml,
} from "../../lib/viz/mod.ts";

type Bundle = Record<string, unknown>;
/** Calls the Jupyter display protocol method, as the Deno kernel does. */
const show = (x: unknown): Bundle => (x as Record<symbol, () => Bundle>)[Symbol.for("Jupyter.display")]!();
/** Our wrapper writes this once per inlined copy of plotly.js. */
const LIBRARY_MARKER = "window.PlotlyConfig = window.PlotlyConfig ||";
/** The banner comment of the pinned plotly.js bundle (found when `deno install` has run). */
const PLOTLY_BANNER = `plotly.js v${PLOTLY_VERSION}`;

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

Deno.test("a figure displays as Plotly JSON, an HTML fallback and text", () => {
  resetPlotlyEmbedding();
  const fig = bar(["a", "b"], [1, 2], { title: "T" });
  const bundle = show(fig);
  assert.deepEqual(Object.keys(bundle).sort(), [PLOTLY_MIME, "text/html", "text/plain"].sort());
  const json = bundle[PLOTLY_MIME] as { data: unknown[]; layout: Record<string, unknown> };
  assert.deepEqual(json, { data: fig.data, layout: fig.layout });
  assert.deepEqual(JSON.parse(JSON.stringify(json)), json, "the payload is plain JSON");
  const html = bundle["text/html"] as string;
  const id = /<div id="([^"]+)"/.exec(html)?.[1];
  assert.ok(id, "a div with an id");
  assert.ok(html.includes(`document.getElementById(${JSON.stringify(id)})`));
  assert.ok(html.includes("Plotly.newPlot(el, fig.data, fig.layout"));
  assert.equal(bundle["text/plain"], 'Figure(1 trace: bar; "T")');
});

Deno.test("plotly.js is inlined once across figures, and again after resetPlotlyEmbedding()", () => {
  resetPlotlyEmbedding();
  const first = show(histogram([1, 2, 3]))["text/html"] as string;
  const second = show(histogram([4, 5, 6]))["text/html"] as string;
  assert.equal(count(first, LIBRARY_MARKER), 1);
  assert.equal(count(first, PLOTLY_BANNER), 1, "the local plotly.js (run `deno install`) is inlined");
  assert.ok(first.includes('if (typeof window.Plotly === "undefined")'), "guarded for pages that have it");
  assert.equal(count(second, LIBRARY_MARKER), 0);
  assert.equal(count(second, PLOTLY_BANNER), 0);
  assert.ok(second.length < 10_000, `the second figure is small (${second.length} chars)`);
  assert.ok(second.includes("window.Plotly") && second.includes("setTimeout(draw"), "waits for Plotly");
  resetPlotlyEmbedding();
  const third = show(histogram([7]))["text/html"] as string;
  assert.equal(count(third, LIBRARY_MARKER), 1);
  const ids = [first, second, third].map((h) => /<div id="([^"]+)"/.exec(h)?.[1]);
  assert.equal(new Set(ids).size, 3, "every output gets its own div id");
});

Deno.test("figure text cannot close the script element", () => {
  resetPlotlyEmbedding();
  show(figure({ data: [] })); // embeds the library
  const html = show(figure({ data: [], layout: { title: { text: "</script><b>x" } } }))["text/html"] as string;
  assert.equal(count(html, "</script>"), 1, "only the figure script's own end tag");
  assert.ok(html.includes("\\u003c/script>\\u003cb>x"));
});

Deno.test("writeHtml() writes a standalone page with plotly.js once and every figure", async () => {
  const path = await Deno.makeTempFile({ suffix: ".html" });
  try {
    await writeHtml(path, histogram([1, 2, 2, 3], { title: "first" }), bar(["a"], [1], { title: "second" }));
    const page = await Deno.readTextFile(path);
    assert.ok(page.startsWith("<!DOCTYPE html>"));
    assert.equal(count(page, PLOTLY_BANNER), 1);
    assert.equal(count(page, LIBRARY_MARKER), 1);
    assert.equal(count(page, '<div id="quantlab-plot-'), 2);
    assert.ok(page.includes('"text":"first"') && page.includes('"text":"second"'));
  } finally {
    await Deno.remove(path);
  }
  assert.equal(count(figuresPageHtml([]), LIBRARY_MARKER), 1);
});

Deno.test("displayBundle() and markdown() wrap MIME bundles", () => {
  assert.deepEqual(show(displayBundle({ "text/plain": "x" })), { "text/plain": "x" });
  assert.deepEqual(show(markdown("**b**")), { "text/markdown": "**b**", "text/plain": "**b**" });
});
