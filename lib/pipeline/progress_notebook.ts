// SPDX-License-Identifier: MIT
/**
 * A notebook renderer of {@link PipelineProgress}: one display that updates in place (Jupyter
 * `display_id` updates, through `Deno.jupyter.display` in the Deno kernel) with the live line and
 * a table of finished layers (seconds each). The display function is injectable, so the renderer
 * is testable and does nothing outside a kernel.
 *
 * @module
 */
import { formatDuration, type PipelineProgress, progressText } from "./progress.ts";

/** Jupyter display call: `(bundle, { raw, display_id, update })`, as `Deno.jupyter.display`. */
export type DisplayFn = (
  bundle: Record<string, string>,
  options: { raw: boolean; display_id: string; update: boolean },
) => unknown;

function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** The MIME bundle (plain text and HTML) of a progress event. */
export function progressBundle(p: PipelineProgress): Record<string, string> {
  const done = p.layerSeconds.length;
  const frac = p.numLayers === 0 ? 1 : done / p.numLayers;
  const lines = p.layerSeconds.map((s, i) => `layer ${i + 1}: ${s.toFixed(1)}s`);
  const text = [progressText(p), ...lines].join("\n");
  const rows = p.layerSeconds.map((s, i) => `<tr><td>${i + 1}</td><td>${s.toFixed(1)}</td></tr>`).join("");
  const evalBar = p.evalWindows > 0
    ? `<div>eval windows <progress max="${p.evalWindows}" value="${p.evalWindowsDone}"></progress> ${p.evalWindowsDone}/${p.evalWindows}</div>`
    : "";
  const html = `<div style="font-family:monospace">` +
    `<div>layers <progress max="1" value="${frac.toFixed(4)}"></progress> ${done}/${p.numLayers} · elapsed ${
      formatDuration(p.elapsed)
    } · ETA ${p.eta === undefined ? "…" : formatDuration(p.eta)}</div>` +
    `<div>${escapeHtml(progressText(p))}</div>${evalBar}` +
    (rows ? `<table><tr><th>layer</th><th>seconds</th></tr>${rows}</table>` : "") +
    `</div>`;
  return { "text/plain": text, "text/html": html };
}

/** Displays created in this kernel session (distinct default ids). */
let displays = 0;

/** Least time between two live updates of one display (the first and the final one always show). */
const MIN_UPDATE_MS = 250;

/** `Deno.jupyter.display` inside the Deno kernel, undefined elsewhere. */
function kernelDisplay(): DisplayFn | undefined {
  try {
    const j = (Deno as unknown as { jupyter?: { display?: DisplayFn } }).jupyter;
    return j?.display ? (b, o) => j.display!(b, o) : undefined;
  } catch {
    return undefined; // Deno.jupyter throws outside the kernel
  }
}

/**
 * A notebook renderer: the first event creates a display, later events update it in place,
 * one after another and at most every 250 ms (the first and the final event always show).
 *
 * @param options `display` (default `Deno.jupyter.display`, a no-op outside the kernel), `id` of the display
 * @returns an `onProgress` callback
 *
 * @example
 * ```ts
 * import { notebookProgress } from "./progress_notebook.ts";
 * import assert from "node:assert/strict";
 * const calls: boolean[] = [];
 * const show = notebookProgress({ display: (_b, o) => calls.push(o.update), id: "run" });
 * const p = { stage: "start", layer: 0, numLayers: 2, layerSeconds: [], elapsed: 0, evalWindowsDone: 0, evalWindows: 0 } as const;
 * show(p);
 * show({ ...p, stage: "layer", layer: 1, layerSeconds: [1.5] }); // within 250 ms: skipped
 * show({ ...p, stage: "done", layer: 2, layerSeconds: [1.5, 1.4] }); // the final event always shows
 * await new Promise((r) => setTimeout(r, 0)); // updates are chained asynchronously
 * assert.deepEqual(calls, [false, true]);
 * ```
 */
export function notebookProgress(
  options: { display?: DisplayFn; id?: string } = {},
): (p: PipelineProgress) => void {
  const display = options.display ?? kernelDisplay();
  const id = options.id ?? `quantlab-pipeline-${++displays}`;
  let shown = false, last = -Infinity;
  // Display calls are asynchronous in the Deno kernel; overlapping ones can interleave their
  // message frames on the IOPub socket (the client then rejects a frame's signature). So updates
  // are chained one after another, and throttled to MIN_UPDATE_MS except the first and last.
  let chain: Promise<unknown> = Promise.resolve();
  return (p) => {
    if (!display) return;
    const now = performance.now();
    if (shown && p.stage !== "done" && now - last < MIN_UPDATE_MS) return;
    last = now;
    const update = shown;
    shown = true;
    const bundle = progressBundle(p);
    chain = chain.then(() => display(bundle, { raw: true, display_id: id, update })).catch(() => {});
  };
}
