// SPDX-License-Identifier: MIT
/**
 * Jupyter MIME bundles for figures, and standalone HTML pages.
 *
 * A figure displays as `application/vnd.plotly.v1+json` (rendered natively by VS Code and by
 * JupyterLab's Plotly extension) plus a `text/html` fallback for Classic Notebook 6 and
 * nbconvert HTML, which do not know that MIME type. The fallback is a `<div>` and a
 * `<script>` that calls `Plotly.newPlot`. plotly.js (≈4.6 MB minified) is inlined **once per
 * kernel process**: the first figure displayed carries it (guarded, so a page that already
 * has `window.Plotly` skips it), later figures only draw, polling until `window.Plotly`
 * exists. Outputs render in document order (nbconvert HTML, a re-opened trusted notebook),
 * so the first figure's output defines Plotly before the others need it. A restarted
 * kernel starts over and embeds it again; {@link resetPlotlyEmbedding} does the same by hand.
 *
 * plotly.js is read as text from the npm package (`plotly.js-dist-min/plotly.min.js` if
 * the import map has it, else `plotly.js-dist/plotly.js`): it cannot be imported as a
 * module in Deno. Without either, the HTML loads it from the Plotly CDN instead.
 *
 * @module
 */

import type { Figure } from "./figure.ts";

/**
 * The Jupyter display protocol symbol: an object with a `[JUPYTER_DISPLAY]()` method returning
 * a MIME bundle is shown richly by the Deno kernel (same as `Symbol.for("Jupyter.display")`).
 */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display");

/** The plotly.js version the project pins (deno.json); also used for the CDN fallback. */
export const PLOTLY_VERSION = "2.35.3";
/** MIME type of Plotly figure JSON. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";
/** Milliseconds a figure's script waits for `window.Plotly` before showing a hint. */
export const PLOTLY_WAIT_MS = 30_000;

/** npm files to embed, best first (the minified bundle is 2.3× smaller). */
const PLOTLY_FILES = ["plotly.js-dist-min/plotly.min.js", "plotly.js-dist/plotly.js"];
const PLOTLY_CDN = `https://cdn.plot.ly/plotly-${PLOTLY_VERSION}.min.js`;
const PLOT_CONFIG = { responsive: true, displaylogo: false };

let plotlySource: string | null | undefined; // undefined: not looked up yet; null: not found
let embedded = false;
let nextId = 0;

/** Forgets that plotly.js was embedded, so the next displayed figure embeds it again. */
export function resetPlotlyEmbedding(): void {
  embedded = false;
}

function readPlotly(): string | null {
  if (typeof Deno === "undefined") return null;
  for (const file of PLOTLY_FILES) {
    try {
      const url = new URL(import.meta.resolve(file));
      if (url.protocol === "file:") return Deno.readTextFileSync(url);
    } catch {
      // Not in the import map, not installed (`deno install`), or no read permission.
    }
  }
  return null;
}

/** The plotly.js source text, read once; `null` when no local copy was found. */
export function plotlyJsSource(): string | null {
  if (plotlySource === undefined) plotlySource = readPlotly();
  return plotlySource;
}

/**
 * A `<script>` that defines `window.Plotly` unless the page already has it. The bundle's
 * UMD header would register with require.js (loaded by Classic Notebook) instead of
 * setting the global, so `define`, `exports` and `module` are shadowed while it runs.
 */
export function plotlyLibraryHtml(): string {
  const src = plotlyJsSource();
  if (src === null) {
    return `<script type="text/javascript">if (typeof window.Plotly === "undefined") {` +
      `var s = document.createElement("script"); s.src = ${JSON.stringify(PLOTLY_CDN)};` +
      ` document.head.appendChild(s); }</script>\n`;
  }
  return `<script type="text/javascript">\n` +
    `window.PlotlyConfig = window.PlotlyConfig || { MathJaxConfig: "local" };\n` +
    `if (typeof window.Plotly === "undefined") {\n(function (define, exports, module) {\n` +
    src.replace(/<\/script/gi, "<\\/script") +
    `\n}).call(window);\n}\n</script>\n`;
}

function figureJson(fig: Figure): string {
  // `<` escaped so that no string in the data can close the script element.
  return JSON.stringify(fig.toJSON()).replace(/</g, "\\u003c");
}

/**
 * The `<div>` and drawing `<script>` of one figure (without plotly.js). The script waits
 * for `window.Plotly` (defined by an earlier output) and for the div to be attached.
 */
export function figureDivHtml(fig: Figure): string {
  const id = `quantlab-plot-${Date.now().toString(36)}-${(nextId++).toString(36)}`;
  const height = typeof fig.layout.height === "number" ? fig.layout.height : 450;
  const width = typeof fig.layout.width === "number" ? `${fig.layout.width}px` : "100%";
  return `<div id="${id}" class="quantlab-plotly" style="width:${width};height:${height}px;"></div>\n` +
    `<script type="text/javascript">\n(function () {\n` +
    `  var fig = ${figureJson(fig)};\n` +
    `  var t0 = Date.now();\n` +
    `  function draw() {\n` +
    `    var el = document.getElementById(${JSON.stringify(id)});\n` +
    `    if (el && window.Plotly) { window.Plotly.newPlot(el, fig.data, fig.layout, ${
      JSON.stringify(PLOT_CONFIG)
    }); return; }\n` +
    `    if (Date.now() - t0 < ${PLOTLY_WAIT_MS}) { setTimeout(draw, 50); return; }\n` +
    `    if (el) el.textContent = "plotly.js is not loaded: the first figure of the notebook embeds it;` +
    ` re-run the notebook from the top.";\n` +
    `  }\n  draw();\n})();\n</script>\n`;
}

/**
 * The Jupyter MIME bundle of a figure: Plotly JSON, the HTML fallback (with plotly.js
 * inlined if this is the first figure of the kernel process) and `text/plain`.
 *
 * @param fig the figure
 */
export function figureBundle(fig: Figure): Record<string, unknown> {
  const library = embedded ? "" : plotlyLibraryHtml();
  embedded = true;
  return {
    [PLOTLY_MIME]: fig.toJSON(),
    "text/html": library + figureDivHtml(fig),
    "text/plain": fig.toString(),
  };
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * A standalone HTML page with plotly.js inlined once (in `<head>`) and every figure below.
 *
 * @param figures figures, drawn top to bottom
 * @param title the page title
 */
export function figuresPageHtml(figures: readonly Figure[], title = "quantlab figures"): string {
  return `<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n` +
    plotlyLibraryHtml() + `</head>\n<body>\n` + figures.map(figureDivHtml).join("") + `</body>\n</html>\n`;
}

/**
 * Writes a standalone HTML page of `figures` (plotly.js inlined once; opens offline).
 * Independent of the notebook embedding state.
 *
 * @param path the `.html` file to write
 * @param figures figures, drawn top to bottom
 */
export async function writeHtml(path: string | URL, ...figures: Figure[]): Promise<void> {
  await Deno.writeTextFile(path, figuresPageHtml(figures));
}

/** An object that displays as the given MIME bundle in Jupyter. */
export interface Displayable {
  /** Returns the MIME bundle, e.g. `{ "text/html": "...", "text/plain": "..." }`. */
  [JUPYTER_DISPLAY](): Record<string, unknown>;
}

/**
 * Wraps a MIME bundle as a displayable value (end a cell with it to show it).
 *
 * @param bundle MIME type → data, e.g. `{ "text/markdown": "**bold**" }`
 */
export function displayBundle(bundle: Record<string, unknown>): Displayable {
  return { [JUPYTER_DISPLAY]: () => bundle };
}

/** Displays an HTML fragment (with a `text/plain` copy of the markup). */
export function html(fragment: string): Displayable {
  return displayBundle({ "text/html": fragment, "text/plain": fragment });
}

/** Displays Markdown text (with a `text/plain` copy). */
export function markdown(text: string): Displayable {
  return displayBundle({ "text/markdown": text, "text/plain": text });
}
