// SPDX-License-Identifier: MIT
/**
 * {@link Figure}: a plain Plotly figure `{ data, layout }` that displays itself in Jupyter.
 * The builders in `plotly.ts` return Figures; {@link figure} wraps any hand-written spec.
 *
 * @module
 */

import { figureBundle, JUPYTER_DISPLAY } from "./display.ts";

/** One Plotly trace, e.g. `{ type: "bar", x: [...], y: [...] }` (see plotly.js reference). */
export type Trace = Record<string, unknown>;
/** A Plotly layout object, e.g. `{ title: { text: "..." }, xaxis: { type: "log" } }`. */
export type Layout = Record<string, unknown>;

/** The JSON shape of a Plotly figure, as in `application/vnd.plotly.v1+json`. */
export interface FigureSpec {
  /** Traces, drawn in order. */
  data: readonly Trace[];
  /** Layout; `{}` when omitted. */
  layout?: Layout;
}

/** Options every figure builder accepts. */
export interface FigureOptions {
  /** Figure title. */
  title?: string;
  /** x-axis title. */
  xTitle?: string;
  /** y-axis title. */
  yTitle?: string;
  /** Logarithmic x axis. */
  logX?: boolean;
  /** Logarithmic y axis. */
  logY?: boolean;
  /** Width in pixels (default: the output's width). */
  width?: number;
  /** Height in pixels (default 450, Plotly's default). */
  height?: number;
  /** Extra layout, merged last (nested objects merge key by key). */
  layout?: Layout;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x);
}

/** Merges `patch` into a copy of `base`; plain objects merge recursively, everything else replaces. */
export function mergeLayout(base: Layout, patch: Layout): Layout {
  const out: Layout = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? mergeLayout(prev, v) : v;
  }
  return out;
}

/** Builds a layout from the common {@link FigureOptions} on top of a builder's `defaults`. */
export function layoutFrom(options: FigureOptions, defaults: Layout = {}): Layout {
  const xaxis: Layout = {};
  const yaxis: Layout = {};
  if (options.xTitle !== undefined) xaxis.title = { text: options.xTitle };
  if (options.yTitle !== undefined) yaxis.title = { text: options.yTitle };
  if (options.logX) xaxis.type = "log";
  if (options.logY) yaxis.type = "log";
  const own: Layout = { xaxis, yaxis };
  if (options.title !== undefined) own.title = { text: options.title };
  if (options.width !== undefined) own.width = options.width;
  if (options.height !== undefined) own.height = options.height;
  own.margin = { l: 60, r: 20, t: options.title !== undefined ? 50 : 20, b: 50 };
  return mergeLayout(mergeLayout(defaults, own), options.layout ?? {});
}

/**
 * A Plotly figure holding plain JSON `data` and `layout`. As a notebook cell's result it
 * displays as `application/vnd.plotly.v1+json` (VS Code, JupyterLab with the Plotly
 * renderer) plus a `text/html` fallback that draws it with an embedded plotly.js
 * (Classic Notebook, nbconvert HTML); see `display.ts`.
 *
 * @example Build and inspect a figure
 * ```ts
 * import { figure } from "./figure.ts";
 * import assert from "node:assert/strict";
 * const fig = figure({ data: [{ type: "bar", x: ["a", "b"], y: [1, 2] }] });
 * assert.deepEqual(fig.toJSON(), { data: [{ type: "bar", x: ["a", "b"], y: [1, 2] }], layout: {} });
 * ```
 */
export class Figure {
  /** Traces (plain JSON). */
  readonly data: Trace[];
  /** Layout (plain JSON). */
  readonly layout: Layout;

  /**
   * Wraps a spec; `data` and `layout` are shallow-copied.
   *
   * @param spec traces and layout
   */
  constructor(spec: FigureSpec) {
    if (!Array.isArray(spec.data)) {
      throw new TypeError(
        `Figure: Cannot build a figure from data of type ${typeof spec.data}: expected an array of traces`,
      );
    }
    this.data = [...spec.data];
    this.layout = { ...(spec.layout ?? {}) };
  }

  /** The figure as `{ data, layout }`, the `application/vnd.plotly.v1+json` payload. */
  toJSON(): { data: Trace[]; layout: Layout } {
    return { data: this.data, layout: this.layout };
  }

  /** A new figure with `patch` merged into the layout (nested objects merge key by key). */
  withLayout(patch: Layout): Figure {
    return new Figure({ data: this.data, layout: mergeLayout(this.layout, patch) });
  }

  /** A new figure with the traces of `this` followed by those of `others`; layout of `this`. */
  overlay(...others: Figure[]): Figure {
    return new Figure({ data: [...this.data, ...others.flatMap((f) => f.data)], layout: this.layout });
  }

  /** A short description: `Figure(2 traces: bar, bar; "Weights")`. */
  toString(): string {
    const types = this.data.map((t) => String(t.type ?? "scatter")).join(", ");
    const title = (this.layout.title as { text?: string } | undefined)?.text;
    const n = this.data.length;
    return `Figure(${n} trace${n === 1 ? "" : "s"}${n ? `: ${types}` : ""}${title ? `; "${title}"` : ""})`;
  }

  /** Jupyter display: Plotly JSON, an HTML fallback and text. */
  [JUPYTER_DISPLAY](): Record<string, unknown> {
    return figureBundle(this);
  }
}

/**
 * Wraps a hand-written Plotly spec as a displayable {@link Figure}.
 *
 * @param spec `{ data, layout }` as in the plotly.js reference
 */
export function figure(spec: FigureSpec): Figure {
  return new Figure(spec);
}
