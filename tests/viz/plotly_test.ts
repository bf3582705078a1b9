// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { f32ToF16Bits } from "../../lib/tensor/numeric.ts";
import { bar, box, figure, heatmap, histogram, line, MAX_HEATMAP_CELLS, scatter } from "../../lib/viz/mod.ts";
import { assertAllClose, assertThrowsMessage } from "../_assert.ts";

/** Box statistics are f64 arithmetic on a few values. */
const STAT_ATOL = 1e-12;

Deno.test("histogram() counts like numpy.histogram: half-open bins, last bin closed", () => {
  // numpy.histogram([0, 0.5, 1, 1.5, 2, 2, 3, 4], bins=4) -> counts [2, 2, 2, 2], edges 0,1,2,3,4
  const fig = histogram([0, 0.5, 1, 1.5, 2, 2, 3, 4], { bins: 4 });
  const t = fig.data[0]!;
  assert.equal(t.type, "bar");
  assert.deepEqual(t.y, [2, 2, 2, 2]);
  assert.deepEqual(t.x, [0.5, 1.5, 2.5, 3.5]);
  assert.equal(t.width, 1);
});

Deno.test("histogram() honours an explicit range and skips NaN/Inf", () => {
  const fig = histogram(new Float64Array([-5, 0.1, 0.2, 0.9, 1, NaN, Infinity, 7]), { bins: 2, range: [0, 1] });
  assert.deepEqual(fig.data[0]!.y, [2, 2]);
});

Deno.test("histogram() of a record overlays series on one shared range", () => {
  const fig = histogram({ a: [0, 1, 2], b: [2, 3, 4] }, { bins: 2 });
  assert.equal(fig.data.length, 2);
  assert.deepEqual(fig.data[0]!.x, fig.data[1]!.x);
  assert.deepEqual(fig.data[0]!.y, [2, 1]);
  assert.deepEqual(fig.data[1]!.y, [0, 3]);
  assert.equal(fig.data[1]!.name, "b");
  assert.equal(fig.layout.barmode, "overlay");
});

Deno.test("histogram() density integrates to 1", () => {
  const fig = histogram([0, 1, 1, 2, 5, 6], { bins: 3, density: true });
  const y = fig.data[0]!.y as number[];
  const w = fig.data[0]!.width as number;
  assertAllClose([y.reduce((a, b) => a + b, 0) * w], [1], { atol: 1e-9 });
});

Deno.test("builders read f32 and f16 tensors as plain, short JSON numbers", () => {
  const f32 = new Tensor("f32", [3], new Float32Array([0.1, -2.5, 1 / 3]));
  assert.deepEqual(line(f32).data[0]!.y, [0.1, -2.5, 0.33333334]);
  const f16 = new Tensor("f16", [2], new Uint16Array([f32ToF16Bits(1.5), f32ToF16Bits(-0.25)]));
  assert.deepEqual(line(f16).data[0]!.y, [1.5, -0.25]);
  const json = JSON.parse(JSON.stringify(line(f32)));
  assert.ok(Array.isArray(json.data[0].y), "typed arrays must become plain arrays");
});

Deno.test("line() draws one trace per series against a shared x and checks lengths", async () => {
  const fig = line({ rtn: [9, 8, 7], gptq: [8, 7.5, 7] }, { x: [2, 3, 4], xTitle: "bits", title: "ppl" });
  assert.deepEqual(fig.data.map((t) => t.name), ["rtn", "gptq"]);
  assert.deepEqual(fig.data[1]!.x, [2, 3, 4]);
  assert.deepEqual(fig.layout.title, { text: "ppl" });
  assert.deepEqual((fig.layout.xaxis as Record<string, unknown>).title, { text: "bits" });
  await assertThrowsMessage(() => line([1, 2, 3], { x: [1, 2] }), RangeError, "length 3 against x of length 2");
});

Deno.test("scatter() pairs x and y, single or grouped", async () => {
  const one = scatter([1, 2], [3, 4], { logY: true });
  assert.deepEqual([one.data[0]!.x, one.data[0]!.y, one.data[0]!.mode], [[1, 2], [3, 4], "markers"]);
  assert.equal((one.layout.yaxis as Record<string, unknown>).type, "log");
  const two = scatter({ a: { x: [1], y: [2] }, b: { x: [3], y: [4] } });
  assert.deepEqual(two.data.map((t) => t.name), ["a", "b"]);
  await assertThrowsMessage(() => scatter([1, 2], [3]), RangeError, "x of length 2 with y of length 1");
});

Deno.test("bar() supports grouped, stacked and horizontal bars", async () => {
  const fig = bar(["q", "k", "v"], { rtn: [1, 2, 3], gptq: [0.5, 1, 1.5] }, { stacked: true });
  assert.equal(fig.layout.barmode, "stack");
  assert.deepEqual(fig.data[0]!.x, ["q", "k", "v"]);
  const h = bar(["a"], [1], { horizontal: true });
  assert.deepEqual([h.data[0]!.orientation, h.data[0]!.y, h.data[0]!.x], ["h", ["a"], [1]]);
  await assertThrowsMessage(() => bar(["a", "b"], [1]), RangeError, "1 values");
});

Deno.test("heatmap() takes a 2-D tensor in matrix orientation and rejects other ranks", async () => {
  const z = new Tensor("f32", [2, 3], new Float32Array([1, 2, 3, 4, 5, 6]));
  const fig = heatmap(z, { zmid: 0 });
  assert.deepEqual(fig.data[0]!.z, [[1, 2, 3], [4, 5, 6]]);
  assert.equal(fig.data[0]!.zmid, 0);
  assert.equal(fig.data[0]!.colorscale, "RdBu");
  assert.equal((fig.layout.yaxis as Record<string, unknown>).autorange, "reversed");
  await assertThrowsMessage(() => heatmap(new Tensor("f32", [2, 2, 2])), TypeError, "[2, 2, 2]");
  const side = Math.sqrt(MAX_HEATMAP_CELLS) * 2;
  await assertThrowsMessage(() => heatmap(new Tensor("f32", [side, side])), RangeError, "pool or slice");
  await assertThrowsMessage(() => heatmap([[1, 2], [3]]), TypeError, "ragged");
});

Deno.test("box() precomputes numpy quartiles, mean and whiskers", () => {
  // numpy.percentile([1..9, 100], [25, 50, 75]) = [3.25, 5.5, 7.75]
  const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 100];
  const t = box({ w: values }).data[0]!;
  assertAllClose([(t.q1 as number[])[0]!, (t.median as number[])[0]!, (t.q3 as number[])[0]!], [3.25, 5.5, 7.75], {
    atol: STAT_ATOL,
  });
  assert.deepEqual([t.lowerfence, t.upperfence, t.mean], [[1], [100], [14.5]]);
  const tukey = box(values, { whiskers: "tukey" }).data[0]!;
  assert.deepEqual(tukey.upperfence, [9]); // 100 > 7.75 + 1.5 * 4.5
});

Deno.test("figure() keeps a hand-written spec and withLayout() merges nested keys", () => {
  const fig = figure({ data: [{ type: "bar", y: [1] }], layout: { xaxis: { type: "log" } } });
  const merged = fig.withLayout({ xaxis: { title: { text: "x" } } });
  assert.deepEqual(merged.layout, { xaxis: { type: "log", title: { text: "x" } } });
  assert.deepEqual(fig.layout, { xaxis: { type: "log" } }, "the original figure is unchanged");
  assert.equal(fig.overlay(merged).data.length, 2);
  assert.equal(String(fig), "Figure(1 trace: bar)");
});
