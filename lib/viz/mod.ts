// SPDX-License-Identifier: MIT
/**
 * Plotly figures and Jupyter display helpers for notebooks (`@quantlab/quantlab/viz`).
 *
 * Every builder returns a {@link Figure} of plain Plotly JSON. Ending a notebook cell with
 * it shows an interactive plot: `application/vnd.plotly.v1+json` for VS Code and JupyterLab,
 * and an HTML fallback (plotly.js embedded once per kernel) for Classic Notebook and
 * nbconvert HTML. {@link writeHtml} saves figures as a standalone offline page.
 *
 * @example A tour
 * ```ts
 * import { bar, displayTable, histogram, line } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const weights = new Float32Array([-1, -0.5, 0, 0, 0.5, 1]);
 * const fig = histogram(weights, { bins: 4, title: "Weights" });
 * assert.equal(fig.data[0]!.type, "bar");
 * const curve = line({ rtn: [12, 9, 8], gptq: [10, 8.5, 7.9] }, { x: [2, 3, 4], xTitle: "bits" });
 * assert.equal(curve.data.length, 2);
 * const table = displayTable([{ method: "rtn", bits: 4, ppl: 9.123 }]);
 * assert.ok(String(table).includes("| rtn | 4 | 9.123 |"));
 * assert.equal(bar(["a", "b"], [1, 2]).data[0]!.type, "bar");
 * ```
 *
 * @module
 */

export { Figure, figure, type FigureOptions, type FigureSpec, type Layout, mergeLayout, type Trace } from "./figure.ts";
export {
  bar,
  type BarOptions,
  box,
  type BoxOptions,
  DEFAULT_BINS,
  heatmap,
  type HeatmapOptions,
  histogram,
  type HistogramOptions,
  type Labels,
  line,
  type LineOptions,
  MAX_HEATMAP_CELLS,
  type Points,
  scatter,
  type ScatterOptions,
  type Series,
  type Whiskers,
} from "./plotly.ts";
export {
  type Displayable,
  displayBundle,
  figureBundle,
  figuresPageHtml,
  html,
  JUPYTER_DISPLAY,
  markdown,
  PLOTLY_MIME,
  PLOTLY_VERSION,
  resetPlotlyEmbedding,
  writeHtml,
} from "./display.ts";
export {
  type ArrowTableLike,
  displayTable,
  formatCell,
  type Row,
  TableDisplay,
  tableHtml,
  type TableInput,
  tableMarkdown,
  type TableOptions,
} from "./table_display.ts";
