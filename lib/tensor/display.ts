// SPDX-License-Identifier: MIT
/**
 * Rich Jupyter display for {@link Tensor}: dtype, shape, min/max/mean/std, NaN/Inf counts, a
 * small inline-SVG histogram and the first few values. No Plotly and no script: the HTML
 * renders anywhere (Classic Notebook, JupyterLab, VS Code, nbconvert HTML, GitHub).
 *
 * Importing this module registers {@link tensorDisplayBundle} in `tensorDisplayHook`, so
 * every tensor shown as a cell result uses it (`tensor.ts` cannot import this file itself
 * without a cycle). `lib/tensor/mod.ts` imports it for that side effect.
 *
 * @module
 */

import { bytesPerElement, formatShape, type Tensor, tensorDisplayHook } from "./tensor.ts";
import { stats, type TensorStats } from "./math.ts";
import { valueAt } from "./manip.ts";
import { histogramCounts } from "./_histogram.ts";

/** Number of histogram bins drawn in the tensor display. */
export const DISPLAY_BINS = 32;
/** Number of leading elements listed in the tensor display. */
export const DISPLAY_PREVIEW = 8;

const SVG_WIDTH = 256;
const SVG_HEIGHT = 48;

/** Statistics shown by the tensor display (f16 decoded, f64 accumulation). */
interface Summary extends TensorStats {
  nan: number;
}

function summarize(t: Tensor): Summary {
  const s = stats(t, (i) => valueAt(t, i));
  let nan = 0;
  if (s.nonFinite > 0) {
    for (let i = 0; i < t.size; i++) if (Number.isNaN(valueAt(t, i))) nan++;
  }
  return { ...s, nan };
}

/**
 * Formats a number for display with about 4 significant digits: integers plainly, very
 * large or small magnitudes in exponent notation.
 *
 * @example
 * ```ts
 * import { formatValue } from "./display.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatValue(3), "3");
 * assert.equal(formatValue(0.123456), "0.1235");
 * assert.equal(formatValue(1234567.8), "1.235e+6");
 * ```
 */
export function formatValue(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(digits - 1);
  return String(Number(v.toPrecision(digits)));
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function histogramSvg(t: Tensor, s: Summary): string {
  if (s.count === 0) return "";
  const h = histogramCounts(t.size, (i) => valueAt(t, i), DISPLAY_BINS, [s.min, s.max]);
  const peak = Math.max(...h.counts);
  const w = SVG_WIDTH / DISPLAY_BINS;
  const bars = h.counts.map((c, k) => {
    // Non-empty bins get at least 1 px so that rare outliers stay visible.
    const bh = c === 0 ? 0 : Math.max(1, Math.round((c / peak) * SVG_HEIGHT));
    const tip = `[${formatValue(h.edges[k]!)}, ${formatValue(h.edges[k + 1]!)}]: ${c}`;
    return `<rect x="${(k * w).toFixed(1)}" y="${SVG_HEIGHT - bh}" width="${(w - 1).toFixed(1)}" ` +
      `height="${bh}" fill="#4c78a8"><title>${tip}</title></rect>`;
  }).join("");
  const lo = escapeHtml(formatValue(h.edges[0]!));
  const hi = escapeHtml(formatValue(h.edges[DISPLAY_BINS]!));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${SVG_WIDTH}" height="${SVG_HEIGHT + 14}" ` +
    `style="display:block">${bars}` +
    `<text x="0" y="${SVG_HEIGHT + 12}" font-size="10" fill="#666">${lo}</text>` +
    `<text x="${SVG_WIDTH}" y="${SVG_HEIGHT + 12}" font-size="10" fill="#666" text-anchor="end">${hi}</text>` +
    `</svg>`;
}

function preview(t: Tensor): string {
  const n = Math.min(t.size, DISPLAY_PREVIEW);
  const items = Array.from({ length: n }, (_, i) => formatValue(valueAt(t, i)));
  return `[${items.join(", ")}${t.size > n ? ", …" : ""}]`;
}

/**
 * One-line text summary: `Tensor<f32>[4, 8] min -1.2 max 2.3 mean 0.01 std 0.99`.
 *
 * @param t any tensor (f16 decoded)
 */
export function renderTensorText(t: Tensor): string {
  const s = summarize(t);
  let text = `${t.toString()}`;
  if (s.count > 0) {
    text += ` min ${formatValue(s.min)} max ${formatValue(s.max)}` +
      ` mean ${formatValue(s.mean)} std ${formatValue(s.std)}`;
  }
  if (s.nan > 0) text += ` NaN ${s.nan}`;
  if (s.nonFinite - s.nan > 0) text += ` Inf ${s.nonFinite - s.nan}`;
  return text;
}

/**
 * Compact HTML summary of a tensor: dtype, shape, element count and bytes; min, max, mean,
 * std (population, over finite values); NaN/Inf counts when non-zero; a 32-bin SVG
 * histogram over `[min, max]`; the first {@link DISPLAY_PREVIEW} values (flat, row-major).
 *
 * @param t any tensor (f16 decoded)
 * @returns an HTML fragment without scripts
 *
 * @example
 * ```ts
 * import { renderTensorHtml } from "./display.ts";
 * import { Tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const html = renderTensorHtml(new Tensor("f32", [2, 2], new Float32Array([1, 2, 3, 4])));
 * assert.ok(html.includes("[2, 2]") && html.includes("<svg"));
 * ```
 */
export function renderTensorHtml(t: Tensor): string {
  const s = summarize(t);
  const head = ["min", "max", "mean", "std"];
  const cells = s.count > 0 ? [s.min, s.max, s.mean, s.std].map((v) => formatValue(v)) : ["–", "–", "–", "–"];
  if (s.nan > 0) {
    head.push("NaN");
    cells.push(String(s.nan));
  }
  if (s.nonFinite - s.nan > 0) {
    head.push("±Inf");
    cells.push(String(s.nonFinite - s.nan));
  }
  const th = head.map((h) => `<th style="text-align:right;padding:1px 8px">${h}</th>`).join("");
  const td = cells.map((c) => `<td style="text-align:right;padding:1px 8px">${escapeHtml(c)}</td>`).join("");
  const bytes = t.size * bytesPerElement(t.dtype);
  return `<div class="quantlab-tensor" style="font:12px/1.4 ui-monospace,Menlo,Consolas,monospace">` +
    `<div><b>Tensor</b> ${t.dtype} ${formatShape(t.shape)} ` +
    `<span style="color:#777">· ${t.size} elements · ${bytes} B</span></div>` +
    `<table style="border-collapse:collapse;margin:2px 0"><tr>${th}</tr><tr>${td}</tr></table>` +
    histogramSvg(t, s) +
    `<div style="color:#777">${escapeHtml(preview(t))}</div></div>`;
}

/**
 * The MIME bundle a tensor displays as in Jupyter: `text/plain` and `text/html`.
 *
 * @param t any tensor
 */
export function tensorDisplayBundle(t: Tensor): Record<string, string> {
  return { "text/plain": renderTensorText(t), "text/html": renderTensorHtml(t) };
}

tensorDisplayHook.render = tensorDisplayBundle;
