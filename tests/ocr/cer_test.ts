// SPDX-License-Identifier: MIT
/** Edit distance and CER against hand-computed cases; greedy CTC decoding; the dictionary. */
import assert from "node:assert/strict";
import { characterErrorRate, editDistance } from "../../lib/ocr/cer.ts";
import { ctcGreedyDecode } from "../../lib/ocr/ctc.ts";
import { canSpell, parseDictionary } from "../../lib/ocr/dictionary.ts";
import { loadPpocrDictionary } from "../../lib/ocr/recognize.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";

Deno.test("editDistance: hand-computed cases", () => {
  assert.equal(editDistance("", ""), 0);
  assert.equal(editDistance("abc", ""), 3); // 3 deletions
  assert.equal(editDistance("", "abc"), 3); // 3 insertions
  assert.equal(editDistance("abc", "abc"), 0);
  assert.equal(editDistance("abc", "abd"), 1); // 1 substitution
  assert.equal(editDistance("kitten", "sitting"), 3); // k→s, e→i, +g
  assert.equal(editDistance("flaw", "lawn"), 2); // −f, +n
  assert.equal(editDistance("ab", "ba"), 2); // no transpositions in Levenshtein
  assert.equal(editDistance("中文字", "中字"), 1); // code points, not UTF-16 units
  assert.equal(editDistance("a😀b", "ab"), 1);
});

Deno.test("characterErrorRate: Σ distances / Σ reference lengths, and line accuracy", () => {
  // distances 1 (sub), 0, 2 (two deletions); reference lengths 3 + 2 + 4.
  const r = characterErrorRate(["abd", "xy", "wo"], ["abc", "xy", "word"]);
  assert.equal(r.errors, 3);
  assert.equal(r.referenceChars, 9);
  assert.equal(r.cer, 3 / 9);
  assert.equal(r.lines, 3);
  assert.equal(r.lineAccuracy, 1 / 3);
  assert.equal(characterErrorRate(["hello world"], ["hello world"]).cer, 0);
  assert.equal(characterErrorRate(["xxxxxxxx"], ["ab"]).cer, 4); // CER can exceed 1 (insertions)
  assert.throws(() => characterErrorRate(["a"], []), /1 predictions with 0 references/);
  assert.throws(() => characterErrorRate([""], [""]), /no characters/);
});

Deno.test("ctcGreedyDecode merges repeats, then drops blanks; keeps repeats split by a blank", () => {
  const d = parseDictionary("a\nb", { useSpaceChar: true }); // blank, a, b, space
  const steps = [1, 1, 0, 1, 2, 2, 3, 0, 0, 2]; // a a _ a b b ␠ _ _ b
  const p = new Tensor("f32", [1, steps.length, 4]);
  steps.forEach((c, t) => {
    for (let k = 0; k < 4; k++) p.data[t * 4 + k] = k === c ? 0.7 : 0.1;
  });
  const r = ctcGreedyDecode(p, d);
  assert.equal(r.text, "aab b");
  assert.deepEqual(r.classes, [1, 1, 2, 3, 2]);
  assert.ok(Math.abs(r.confidence - 0.7) < 1e-6);
  assert.throws(() => ctcGreedyDecode(new Tensor("f32", [3, 5]), d), /with 4 classes/);
});

Deno.test("PP-OCRv4 dictionary: 6623 keys + blank + space = 6625 classes; spells SOTU text", async () => {
  const d = await loadPpocrDictionary();
  assert.equal(d.chars.length, 6625);
  assert.equal(d.chars[0], "");
  assert.equal(d.chars[6624], " ");
  assert.ok(canSpell(d, "Fellow-Citizens of the Senate, 1790: $4,000."));
  assert.ok(!canSpell(d, "naïve"));
});
