// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { atomicOutput, helpText, parseCli, UsageError } from "../../tools/_cli.ts";
import { assertThrowsMessage } from "../_assert.ts";

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("atomicOutput: renames on success, replaces an old directory, leaves nothing on failure", async () => {
  const root = await Deno.makeTempDir();
  try {
    const out = `${root}/out`;
    const r = await atomicOutput(out, async (tmp) => {
      assert.notEqual(tmp, out);
      await Deno.writeTextFile(`${tmp}/a.txt`, "1");
      return 7;
    });
    assert.equal(r, 7);
    assert.deepEqual(names(out), ["a.txt"]);
    await atomicOutput(out, (tmp) => Deno.writeTextFile(`${tmp}/b.txt`, "2"));
    assert.deepEqual(names(out), ["b.txt"], "the old contents are replaced, not merged");
    await assertThrowsMessage(
      () =>
        atomicOutput(out, async (tmp) => {
          await Deno.writeTextFile(`${tmp}/half.txt`, "x");
          throw new Error("boom");
        }),
      Error,
      "boom",
    );
    assert.deepEqual(names(out), ["b.txt"], "a failed run leaves the previous output intact");
    assert.deepEqual(names(root), ["out"], "no temporary directory is left behind");
    await Deno.writeTextFile(`${root}/file`, "");
    await assertThrowsMessage(
      () => atomicOutput(`${root}/file`, () => Promise.resolve()),
      UsageError,
      "not a directory",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("parseCli: types, defaults, words, checks; helpText shows defaults", () => {
  const spec = {
    task: "t",
    summary: "s",
    flags: {
      n: { type: "int", min: 0, default: 3, words: ["all"], help: "count" },
      x: { type: "number", help: "scale" },
      e: { type: "enum", choices: ["a", "b"], default: "a", help: "mode" },
      f: { type: "boolean", help: "flag" },
      s: { type: "string", help: "odd", check: (v: string | number) => assert.ok(String(v).length % 2 === 1, "even") },
    },
  } as const;
  assert.deepEqual(parseCli(spec, []), {
    help: false,
    debug: false,
    n: 3,
    x: undefined,
    e: "a",
    f: false,
    s: undefined,
  });
  const v = parseCli(spec, ["--n", "all", "--x", "-2.5e-1", "--e=b", "--f", "--s", "abc"]);
  assert.deepEqual([v.n, v.x, v.e, v.f, v.s], ["all", -0.25, "b", true, "abc"]);
  assert.throws(() => parseCli(spec, ["--x", "1e400"]), UsageError);
  assert.throws(() => parseCli(spec, ["--x", ""]), UsageError);
  assert.throws(() => parseCli(spec, ["--n", "0x10"]), UsageError);
  assert.throws(() => parseCli(spec, ["--s", "ab"]), /--s: even/);
  assert.throws(() => parseCli(spec, ["positional"]), UsageError);
  assert.equal(parseCli(spec, ["--help", "--n", "zzz"]).help, true, "--help wins over later mistakes");
  const h = helpText(spec);
  assert.ok(h.includes("--n <int|all>") && h.includes("(default: 3)") && h.includes("--e <a|b>"));
});
