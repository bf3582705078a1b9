// SPDX-License-Identifier: MIT
/** `readRecipe`: the command-line form of a recipe (a built-in name or a JSON file). */
import assert from "node:assert/strict";
import { readRecipe } from "../../lib/pipeline/recipes.ts";

Deno.test("readRecipe reads built-in names and recipe files, and names what is wrong", async () => {
  assert.equal(readRecipe("gptq").name, "GPTQ");
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(path, JSON.stringify({ name: "mine", reconstruction: { kind: "rtn" } }));
    assert.deepEqual(readRecipe(path), { name: "mine", reconstruction: { kind: "rtn" } });
    await Deno.writeTextFile(path, JSON.stringify({ name: "bad", reconstruction: { kind: "magic" } }));
    assert.throws(
      () => readRecipe(path),
      /validateRecipe: Cannot read recipe "bad": reconstruction.kind must be one of/,
    );
  } finally {
    await Deno.remove(path);
  }
  assert.throws(() => readRecipe("nosuch"), /getRecipe: Cannot find recipe "nosuch"/);
  assert.throws(() => readRecipe("/nonexistent/recipe.json"), Deno.errors.NotFound);
});
