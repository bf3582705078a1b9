// SPDX-License-Identifier: MIT
/**
 * Figure builders: {@link histogram}, {@link line}, {@link scatter}, {@link bar},
 * {@link heatmap} and {@link box}. Each returns a {@link Figure} of plain Plotly JSON that
 * displays itself in Jupyter. Inputs are Tensors (read flat, row-major; f16 decoded) or
 * array-likes; a record `{ name: series }` draws one trace per entry.
 *
 * Histograms and box plots are computed here (bin counts, quartiles) rather than by
 * plotly.js, so the figure JSON stays small however many values go in.
 *
 * @module
 */

import { dims2, formatShape, Tensor } from "../tensor/tensor.ts";
import { histogramCounts } from "../tensor/_histogram.ts";
import { Figure, type FigureOptions, layoutFrom, type Trace } from "./figure.ts";
import { isSeries, namedSeries, type Series, seriesLength, seriesReader, toNumbers } from "./_series.ts";
import { boxTrace, type Whiskers } from "./_box.ts";

export type { Series } from "./_series.ts";
export type { Whiskers } from "./_box.ts";

/** Default number of histogram bins. */
export const DEFAULT_BINS = 64;
/** Largest heatmap drawn (cells); bigger matrices should be pooled or sliced first. */
export const MAX_HEATMAP_CELLS = 1 << 20;

/** Axis labels: numbers or category names. */
export type Labels = Series | readonly string[];

function labels(x: Labels): (number | string)[] {
  return isSeries(x) ? toNumbers(x) : [...x];
}

function labelsLength(x: Labels): number {
  return isSeries(x) ? seriesLength(x) : x.length;
}

function tidy(v: number): number {
  return Number(v.toPrecision(10)); // hides f64 noise such as 0.30000000000000004
}

/** Options of {@link histogram}. */
export interface HistogramOptions extends FigureOptions {
  /** Number of equal-width bins (default {@link DEFAULT_BINS}). */
  bins?: number;
  /** `[lo, hi]`; default: finite min and max over all series (shared, so traces align). */
  range?: readonly [number, number];
  /** Plot a probability density (area 1) instead of counts. */
  density?: boolean;
}

/**
 * Histogram of one or more series, binned like `numpy.histogram` (NaN/Inf skipped).
 *
 * @param x values (a Tensor of any shape is read flat), or `{ name: values }` to overlay
 * @param options bins, range, density and the common figure options
 * @returns a figure of `bar` traces: `x` bin centres, `y` counts, `width` the bin width
 *
 * @example Count values into 2 bins
 * ```ts
 * import { histogram } from "./plotly.ts";
 * import assert from "node:assert/strict";
 * const fig = histogram([0, 1, 1, 2, 3, 4], { bins: 2 });
 * assert.deepEqual(fig.data[0]!.y, [3, 3]);
 * ```
 */
export function histogram(x: Series | Record<string, Series>, options: HistogramOptions = {}): Figure {
  const groups = namedSeries(x);
  const bins = options.bins ?? DEFAULT_BINS;
  let range = options.range;
  if (range === undefined) {
    // One shared range: bins of overlaid histograms line up.
    let lo = Infinity;
    let hi = -Infinity;
    for (const [, s] of groups) {
      const read = seriesReader(s);
      for (let i = 0; i < seriesLength(s); i++) {
        const v = read(i);
        if (!Number.isFinite(v)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (lo <= hi) range = [lo, hi];
  }
  const data: Trace[] = groups.map(([name, s]) => {
    const h = histogramCounts(seriesLength(s), seriesReader(s), bins, range);
    const width = h.edges[1]! - h.edges[0]!;
    const total = h.counts.reduce((a, b) => a + b, 0);
    const y = options.density ? h.counts.map((c) => total ? tidy(c / (total * width)) : 0) : h.counts;
    const trace: Trace = {
      type: "bar",
      x: h.counts.map((_, k) => tidy(h.edges[k]! + width / 2)),
      y,
      width: tidy(width),
    };
    if (name) trace.name = name;
    if (groups.length > 1) trace.opacity = 0.6;
    return trace;
  });
  return new Figure({
    data,
    layout: layoutFrom(options, {
      barmode: "overlay",
      bargap: 0,
      showlegend: groups.length > 1,
      yaxis: { title: { text: options.density ? "density" : "count" } },
    }),
  });
}

/** Options of {@link line}. */
export interface LineOptions extends FigureOptions {
  /** x values shared by every series (default 0, 1, 2, …). */
  x?: Labels;
  /** Draw a marker at every point. */
  markers?: boolean;
}

/**
 * Line plot of one or more series against a shared x.
 *
 * @param y values, or `{ name: values }` for several lines
 * @param options shared `x`, markers and the common figure options
 */
export function line(y: Series | Record<string, Series>, options: LineOptions = {}): Figure {
  const groups = namedSeries(y);
  const x = options.x === undefined ? undefined : labels(options.x);
  const data = groups.map(([name, s]): Trace => {
    if (x !== undefined && x.length !== seriesLength(s)) {
      throw new RangeError(
        `line: Cannot plot series "${name}" of length ${seriesLength(s)} against x of length ${x.length}`,
      );
    }
    const trace: Trace = { type: "scatter", mode: options.markers ? "lines+markers" : "lines", y: toNumbers(s) };
    if (x !== undefined) trace.x = x;
    if (name) trace.name = name;
    return trace;
  });
  return new Figure({ data, layout: layoutFrom(options, { showlegend: groups.length > 1 }) });
}

/** Options of {@link scatter}. */
export interface ScatterOptions extends FigureOptions {
  /** Hover text per point. */
  text?: readonly string[];
  /** Marker size in pixels (default 6). */
  markerSize?: number;
  /** Numeric colour per point, drawn with a colour bar. */
  color?: Series;
}

/** One named point set for {@link scatter}. */
export interface Points {
  /** x coordinates. */
  x: Series;
  /** y coordinates, same length as `x`. */
  y: Series;
}

/**
 * Scatter plot of points `(x[i], y[i])`.
 *
 * @param x x coordinates
 * @param y y coordinates, same length as `x`
 * @param options hover text, marker size and colour, common figure options
 */
export function scatter(x: Series, y: Series, options?: ScatterOptions): Figure;
/**
 * Scatter plot of several named point sets, one trace each.
 *
 * @param groups `{ name: { x, y } }`
 * @param options hover text, marker size and colour, common figure options
 */
export function scatter(groups: Record<string, Points>, options?: ScatterOptions): Figure;
export function scatter(
  a: Series | Record<string, Points>,
  b?: Series | ScatterOptions,
  c?: ScatterOptions,
): Figure {
  const single = isSeries(a);
  const groups: [string, Points][] = single ? [["", { x: a, y: b as Series }]] : Object.entries(a);
  const options = (single ? c : b as ScatterOptions | undefined) ?? {};
  const data = groups.map(([name, p]): Trace => {
    if (!isSeries(p.y) || seriesLength(p.x) !== seriesLength(p.y)) {
      const ny = isSeries(p.y) ? seriesLength(p.y) : "none";
      throw new RangeError(`scatter: Cannot pair x of length ${seriesLength(p.x)} with y of length ${ny}`);
    }
    const marker: Record<string, unknown> = { size: options.markerSize ?? 6 };
    if (options.color !== undefined) Object.assign(marker, { color: toNumbers(options.color), showscale: true });
    const trace: Trace = { type: "scatter", mode: "markers", x: toNumbers(p.x), y: toNumbers(p.y), marker };
    if (options.text !== undefined) trace.text = [...options.text];
    if (name) trace.name = name;
    return trace;
  });
  return new Figure({ data, layout: layoutFrom(options, { showlegend: groups.length > 1 }) });
}

/** Options of {@link bar}. */
export interface BarOptions extends FigureOptions {
  /** Horizontal bars (categories on the y axis). */
  horizontal?: boolean;
  /** Stack several series instead of grouping them side by side. */
  stacked?: boolean;
}

/**
 * Bar chart of values per category.
 *
 * @param categories one label per bar
 * @param values one value per category, or `{ name: values }` for grouped/stacked bars
 * @param options orientation, stacking, common figure options
 */
export function bar(
  categories: Labels,
  values: Series | Record<string, Series>,
  options: BarOptions = {},
): Figure {
  const cats = labels(categories);
  const groups = namedSeries(values);
  const data = groups.map(([name, s]): Trace => {
    if (seriesLength(s) !== cats.length) {
      throw new RangeError(
        `bar: Cannot plot ${seriesLength(s)} values of "${name}" against ${cats.length} categories`,
      );
    }
    const v = toNumbers(s);
    const trace: Trace = options.horizontal
      ? { type: "bar", orientation: "h", x: v, y: cats }
      : { type: "bar", x: cats, y: v };
    if (name) trace.name = name;
    return trace;
  });
  return new Figure({
    data,
    layout: layoutFrom(options, { barmode: options.stacked ? "stack" : "group", showlegend: groups.length > 1 }),
  });
}

/** Options of {@link heatmap}. */
export interface HeatmapOptions extends FigureOptions {
  /** Column labels (default 0, 1, …). */
  x?: Labels;
  /** Row labels (default 0, 1, …). */
  y?: Labels;
  /** Plotly colour scale name (default "Viridis"; with `zmid` "RdBu": negative blue, positive red). */
  colorscale?: string;
  /** Value at the colour scale's midpoint (e.g. 0 for signed weights). */
  zmid?: number;
  /** Lower end of the colour scale. */
  zmin?: number;
  /** Upper end of the colour scale. */
  zmax?: number;
}

/**
 * Heatmap of a matrix, row 0 at the top (matrix orientation).
 *
 * @param z a 2-D Tensor `[rows, cols]` or an array of equal-length rows; at most
 *   {@link MAX_HEATMAP_CELLS} cells
 * @param options labels, colour scale, common figure options
 */
export function heatmap(z: Tensor | readonly (readonly number[])[], options: HeatmapOptions = {}): Figure {
  let rows: number[][];
  if (z instanceof Tensor) {
    const [r, c] = dims2("heatmap", "z", z);
    if (r * c > MAX_HEATMAP_CELLS) {
      throw new RangeError(
        `heatmap: Cannot plot z of shape ${formatShape(z.shape)} (${r * c} cells): at most ` +
          `${MAX_HEATMAP_CELLS} cells; pool or slice the tensor first`,
      );
    }
    const flat = toNumbers(z);
    rows = Array.from({ length: r }, (_, i) => flat.slice(i * c, (i + 1) * c));
  } else {
    rows = z.map((row) => [...row]);
  }
  const cols = rows[0]?.length ?? 0;
  rows.forEach((row, i) => {
    if (row.length !== cols) {
      throw new TypeError(`heatmap: Cannot plot ragged rows: row ${i} has ${row.length} values, row 0 has ${cols}`);
    }
  });
  const trace: Trace = { type: "heatmap", z: rows };
  if (options.x !== undefined) {
    if (labelsLength(options.x) !== cols) {
      throw new RangeError(`heatmap: Cannot label ${cols} columns with ${labelsLength(options.x)} x labels`);
    }
    trace.x = labels(options.x);
  }
  if (options.y !== undefined) {
    if (labelsLength(options.y) !== rows.length) {
      throw new RangeError(`heatmap: Cannot label ${rows.length} rows with ${labelsLength(options.y)} y labels`);
    }
    trace.y = labels(options.y);
  }
  trace.colorscale = options.colorscale ?? (options.zmid !== undefined ? "RdBu" : "Viridis");
  for (const k of ["zmid", "zmin", "zmax"] as const) if (options[k] !== undefined) trace[k] = options[k];
  return new Figure({ data: [trace], layout: layoutFrom(options, { yaxis: { autorange: "reversed" } }) });
}

/** Options of {@link box}. */
export interface BoxOptions extends FigureOptions {
  /** Whisker ends: data min/max (default, keeps outliers in view) or Tukey's 1.5 IQR fences. */
  whiskers?: Whiskers;
}

/**
 * Box plots (quartiles by linear interpolation, as numpy; mean drawn dashed), one per series.
 *
 * @param groups values, or `{ name: values }` for one box per name; NaN/Inf are skipped
 * @param options whisker rule, common figure options
 */
export function box(groups: Series | Record<string, Series>, options: BoxOptions = {}): Figure {
  const named = namedSeries(groups, "values");
  const data = named.map(([name, s]) => boxTrace(name, seriesLength(s), seriesReader(s), options.whiskers ?? "minmax"));
  return new Figure({ data, layout: layoutFrom(options, { showlegend: false }) });
}
