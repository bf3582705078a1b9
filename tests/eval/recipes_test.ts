// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import {
  applyRecipe,
  BUILTIN_RECIPES,
  getRecipe,
  type Recipe,
  recipeNeedsCalibration,
  type RecipeProgress,
  roundScalesF16,
} from "../../lib/pipeline/recipes.ts";
import { minmaxParams } from "../../lib/quant/minmax.ts";
import { quantizeRtn } from "../../lib/quant/rtn.ts";
import { bitsPerWeight, parseFormatId } from "../../lib/quant/spec.ts";
import { dequantize } from "../../lib/quant/quantized_tensor.ts";
import { linearNames } from "../../lib/model/config.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { assertThrowsMessage } from "../_assert.ts";
import { tinyIds, tinyModel } from "../calib/_tiny_model.ts";

const SEQ = 16;
const calibration = tinyIds(8, SEQ, 3);

/** Mean squared logit error of a quantized model against the FP one on the calibration ids. */
async function logitError(a: Awaited<ReturnType<typeof applyRecipe>>["model"]): Promise<number> {
  const fp = await tinyModel(0).forward(calibration, SEQ);
  const q = await a.forward(calibration, SEQ);
  let s = 0;
  for (let i = 0; i < fp.size; i++) s += (fp.data[i]! - q.data[i]!) ** 2;
  return s / fp.size;
}

Deno.test("applyRecipe: RTN equals quantizeRtn (f16 scales) on every linear, with exact bits per weight", async () => {
  const model = tinyModel(0);
  const r = await applyRecipe(model, getRecipe("RTN"), { format: "int4-g16-asym" });
  const spec = parseFormatId("int4-g16-asym");
  for (const name of linearNames(0)) {
    const W = model.weight(`${name}.weight`);
    const expected = await quantizeRtn(W, spec, { ops: tsOps, params: roundScalesF16(minmaxParams(W, spec)) });
    assert.deepEqual(r.model.weight(`${name}.weight`).data, expected.weight.data);
    assert.deepEqual(dequantize(r.quantized.get(name)!).data, expected.weight.data);
  }
  assert.equal(r.layers.length, 14);
  assert.equal(r.bitsPerWeight, bitsPerWeight(spec, 32));
  assert.equal(r.format, "int4-g16-asym");
});

Deno.test("applyRecipe: GPTQ runs sequentially on calibration data and beats RTN on the logits", async () => {
  const model = tinyModel(0);
  const events: RecipeProgress[] = [];
  const opts = { format: "int3-g16-asym", calibration, seqLen: SEQ, onProgress: (p: RecipeProgress) => events.push(p) };
  const g = await applyRecipe(model, getRecipe("GPTQ"), opts);
  const rtn = await applyRecipe(model, getRecipe("RTN"), { format: "int3-g16-asym" });
  assert.ok((await logitError(g.model)) < (await logitError(rtn.model)));
  const quantizeEvents = events.filter((e) => e.stage === "quantize");
  assert.deepEqual(quantizeEvents.map((e) => e.done), [3, 4, 6, 7, 10, 11, 13, 14]);
  assert.equal(events.at(-1)?.stage, "done");
  for (const [name, q] of g.quantized) assert.deepEqual(dequantize(q).data, g.model.weight(`${name}.weight`).data);
});

Deno.test("applyRecipe: act-order pays for g_idx; LoRC pays for its factors", async () => {
  const model = tinyModel(0);
  const opts = { format: "int4-g16-asym", calibration, seqLen: SEQ };
  const plain = await applyRecipe(model, getRecipe("GPTQ"), opts);
  const act = await applyRecipe(model, getRecipe("GPTQ+act-order"), opts);
  const lorc = await applyRecipe(
    model,
    { name: "GPTQ+LoRC r2", reconstruction: { kind: "gptq" }, lorc: { rank: 2 } },
    opts,
  );
  assert.ok(act.bitsPerWeight > plain.bitsPerWeight);
  // LoRC r=2 adds 2·(rows + cols)·16 bits per linear.
  let extra = 0, count = 0;
  for (const row of lorc.layers) {
    extra += 2 * (row.rows + row.cols) * 16;
    count += row.rows * row.cols;
  }
  assert.ok(Math.abs(lorc.bitsPerWeight - plain.bitsPerWeight - extra / count) < 1e-9);
  assert.ok(lorc.layers.every((l, i) => l.mse <= plain.layers[i]!.mse * 1.000001));
});

Deno.test("applyRecipe: QEP, AdaRound and learned clipping produce finite quantized models", async () => {
  const model = tinyModel(0);
  const opts = { format: "int3-g16-asym", calibration, seqLen: SEQ };
  const rtnError = await logitError((await applyRecipe(model, getRecipe("RTN"), opts)).model);
  for (
    const recipe of [
      getRecipe("GPTQ+QEP"),
      { name: "AdaRound", reconstruction: { kind: "adaround", iterations: 40 } } as Recipe,
      { name: "LWC", reconstruction: { kind: "lwc", iterations: 30 } } as Recipe,
    ]
  ) {
    const r = await applyRecipe(model, recipe, opts);
    const e = await logitError(r.model);
    assert.ok(Number.isFinite(e) && e < rtnError * 1.5, `${recipe.name}: ${e} vs RTN ${rtnError}`);
  }
});

Deno.test("recipes: lookup, JSON recipes and clear errors", async () => {
  assert.equal(getRecipe("gptq+ACT-ORDER").name, "GPTQ+act-order");
  const json = getRecipe(
    '{"name": "mine", "reconstruction": {"kind": "gptq", "blockSize": 64}, "format": "int4-ch-sym"}',
  );
  assert.equal(json.name, "mine");
  assert.ok(recipeNeedsCalibration(json));
  assert.ok(!recipeNeedsCalibration(getRecipe("RTN")));
  assert.equal(BUILTIN_RECIPES.length, 13);
  assert.throws(() => getRecipe("nope"), /Cannot find recipe "nope": built-ins are "RTN"/);
  assert.throws(() => getRecipe('{"name": "x", "reconstruction": {"kind": "magic"}}'), /reconstruction.kind must be/);
  const model = tinyModel(0);
  await assertThrowsMessage(
    () => applyRecipe(model, getRecipe("GPTQ"), { format: "int4-g16-asym" }),
    RangeError,
    "calibration",
  );
  await assertThrowsMessage(() => applyRecipe(model, getRecipe("RTN")), RangeError, "no format");
  await assertThrowsMessage(
    () =>
      applyRecipe(model, { name: "t", transforms: [{ kind: "unknown" }], reconstruction: { kind: "rtn" } }, {
        format: "int4-g16-asym",
      }),
    RangeError,
    'Cannot apply transform "unknown"',
  );
});

Deno.test("applyRecipe: every built-in recipe runs on a tiny model (transforms, observers, reconstructions)", async () => {
  const model = tinyModel(0);
  const opts = { format: "int4-g16-asym", calibration, seqLen: SEQ };
  const rtnError = await logitError((await applyRecipe(model, getRecipe("RTN"), opts)).model);
  for (const recipe of BUILTIN_RECIPES) {
    const quick: Recipe = recipe.reconstruction.kind === "adaround" || recipe.reconstruction.kind === "lwc"
      ? { ...recipe, reconstruction: { ...recipe.reconstruction, iterations: 20 } }
      : recipe;
    const r = await applyRecipe(model, quick, opts);
    const e = await logitError(r.model);
    assert.ok(Number.isFinite(e) && e < rtnError * 3, `${recipe.name}: ${e} vs RTN ${rtnError}`);
    assert.equal(r.layers.length, 14);
    // LoRC r = 8 is costly on 32-wide layers: 8·(rows + cols)·16 bits each.
    assert.ok(
      r.bitsPerWeight > 4 && r.bitsPerWeight < (recipe.lorc ? 16 : 8),
      `${recipe.name}: ${r.bitsPerWeight} bits/w`,
    );
  }
});
