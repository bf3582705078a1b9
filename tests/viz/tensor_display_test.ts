// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { f32ToF16Bits } from "../../lib/tensor/numeric.ts";
import { histogramCounts } from "../../lib/tensor/_histogram.ts";
import { DISPLAY_BINS, renderTensorHtml, renderTensorText, tensorDisplayBundle } from "../../lib/tensor/display.ts";

type Bundle = Record<string, unknown>;
/** Calls the Jupyter display protocol method, as the Deno kernel does. */
const show = (x: unknown): Bundle => (x as Record<symbol, () => Bundle>)[Symbol.for("Jupyter.display")]!();

Deno.test("importing display.ts makes tensors display as HTML and text", () => {
  const t = new Tensor("f32", [2, 2], new Float32Array([1, 2, 3, 4]));
  const bundle = show(t);
  assert.deepEqual(bundle, tensorDisplayBundle(t));
  assert.equal(bundle["text/plain"], "Tensor<f32>[2, 2] min 1 max 4 mean 2.5 std 1.118");
});

Deno.test("renderTensorHtml() shows dtype, shape, stats, a histogram and the first values", () => {
  const t = new Tensor("f32", [3, 4], new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
  const html = renderTensorHtml(t);
  for (const s of ["f32", "[3, 4]", "12 elements", "48 B", ">min<", ">0<", ">11<", ">5.5<", ">3.452<"]) {
    assert.ok(html.includes(s), `missing ${s}`);
  }
  assert.equal((html.match(/<rect /g) ?? []).length, DISPLAY_BINS);
  assert.ok(html.includes("[0, 1, 2, 3, 4, 5, 6, 7, …]"));
  assert.ok(!html.includes("<script"), "no scripts: renders in untrusted notebooks too");
});

Deno.test("tensor display decodes f16 and counts NaN and Inf", () => {
  const bits = [1.5, -0.5, NaN, Infinity, NaN].map(f32ToF16Bits);
  const t = new Tensor("f16", [5], new Uint16Array(bits));
  assert.equal(renderTensorText(t), "Tensor<f16>[5] min -0.5 max 1.5 mean 0.5 std 1 NaN 2 Inf 1");
  const html = renderTensorHtml(t);
  assert.ok(html.includes(">NaN<") && html.includes(">2<") && html.includes("±Inf"));
});

Deno.test("tensor display handles empty and integer tensors", () => {
  assert.equal(renderTensorText(new Tensor("i8", [0])), "Tensor<i8>[0]");
  assert.ok(renderTensorHtml(new Tensor("i8", [0])).includes("–"));
  assert.equal(
    renderTensorText(new Tensor("u8", [3], new Uint8Array([1, 2, 255]))).split(" max ")[1]!.split(" ")[0],
    "255",
  );
});

Deno.test("histogramCounts() bins a known input like numpy", () => {
  // numpy.histogram([1, 2, 2, 3, 3, 3, 10], bins=3) -> counts [6, 0, 1], edges [1, 4, 7, 10]
  const v = [1, 2, 2, 3, 3, 3, 10];
  const h = histogramCounts(v.length, (i) => v[i]!, 3);
  assert.deepEqual(h.counts, [6, 0, 1]);
  assert.deepEqual(h.edges, [1, 4, 7, 10]);
  const c = histogramCounts(2, () => 5, 2); // empty range widens to [4.5, 5.5]
  assert.deepEqual([c.edges, c.counts], [[4.5, 5, 5.5], [0, 2]]);
  const r = histogramCounts(v.length, (i) => v[i]!, 2, [0, 2]);
  assert.deepEqual([r.counts, r.outside], [[0, 3], 4]); // 1 opens the second bin [1, 2]
  assert.throws(() => histogramCounts(1, () => 0, 0), RangeError);
});
