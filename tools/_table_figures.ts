// SPDX-License-Identifier: MIT
/**
 * Figures of a results table: a metric against bits per weight, one line per recipe (the
 * design-space view of the GPTQ/OmniQuant/SINQ tables). Used by `deno task table` and
 * notebooks/06_paper_table.ipynb.
 *
 * @module
 */
import type { ResultRow } from "../lib/eval/results.ts";
import { type Figure, scatter } from "../lib/viz/mod.ts";

/**
 * `metric` vs bits per weight, one line per recipe (points sorted by bits); the FP row, if
 * present, is drawn as a dashed horizontal line.
 *
 * @param rows results rows
 * @param metric `perplexity` (log scale) or `kl`
 */
export function metricVsBits(rows: readonly ResultRow[], metric: "perplexity" | "kl" = "perplexity"): Figure {
  const groups: Record<string, { x: number[]; y: number[] }> = {};
  for (const r of rows) {
    const v = r[metric];
    if (r.recipe === "FP" || v === undefined) continue;
    const g = (groups[r.recipe] ??= { x: [], y: [] });
    g.x.push(r.bitsPerWeight);
    g.y.push(v);
  }
  for (const g of Object.values(groups)) {
    const order = g.x.map((_, i) => i).sort((a, b) => g.x[a]! - g.x[b]!);
    g.x = order.map((i) => g.x[i]!);
    g.y = order.map((i) => g.y[i]!);
  }
  const fp = rows.find((r) => r.recipe === "FP");
  const fig = scatter(groups, {
    title: metric === "perplexity"
      ? `Perplexity vs bits per weight${fp ? ` (FP ${fp.perplexity.toFixed(3)})` : ""}`
      : "KL(FP ‖ quantized) vs bits per weight",
    xTitle: "bits per weight (codes + scales + zeros + g_idx + LoRC factors)",
    yTitle: metric === "perplexity" ? "perplexity (log)" : "KL, nats/token (log)",
    logY: true,
    height: 500,
    ...(fp && metric === "perplexity" && {
      layout: {
        shapes: [{
          type: "line",
          xref: "paper",
          x0: 0,
          x1: 1,
          y0: fp.perplexity,
          y1: fp.perplexity,
          line: { dash: "dash", color: "gray" },
        }],
      },
    }),
  });
  for (const t of fig.data) (t as Record<string, unknown>).mode = "lines+markers";
  return fig;
}
