// SPDX-License-Identifier: MIT
// The command lines of `deno task demo` and `deno task table` run as subprocesses: every mistake
// is one line on stderr with exit 2 before anything loads; `--help` lists every flag.
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

async function run(tool: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `tools/${tool}.ts`, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp", NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Exit 2 and exactly one stderr line `tool: …` containing `expected`. */
async function assertUsageError(tool: string, args: string[], expected: string): Promise<void> {
  const r = await run(tool, ...args);
  const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
  assert.equal(r.code, 2, `${tool} ${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.ok(lines[0]!.startsWith(`${tool}: `) && lines[0]!.includes(expected), lines[0]);
  assert.equal(r.stdout, "");
}

for (const tool of ["demo", "table"]) {
  Deno.test(`${tool}: unknown flag, non-numeric and negative windows, bad format exit 2 with one line`, async () => {
    await assertUsageError(tool, ["--bogus"], "Unknown option '--bogus'");
    await assertUsageError(tool, ["--windows", "abc"], `--windows: expected an integer or "all", got "abc"`);
    await assertUsageError(tool, ["--windows", "-1"], "--windows: must be ≥ 1, got -1");
    await assertUsageError(tool, ["--windows=1.5"], "--windows: expected an integer");
    await assertUsageError(tool, ["--formats", "int9-foo"], `parseFormatId: Cannot parse format id "int9-foo"`);
    await assertUsageError(tool, ["--backend", "cuda"], "--backend: expected one of");
  });

  Deno.test(`${tool}: --help lists every flag with its default and exits 0`, async () => {
    const r = await run(tool, "--help");
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^usage: deno task ${tool}`));
    for (const f of ["--windows", "--backend", "--formats", "--help", "--debug"]) assert.ok(r.stdout.includes(f), f);
    assert.ok(r.stdout.includes("(default: int"), "format default shown");
  });
}

Deno.test("table: bad recipe, --out that is a file and a missing data file are rejected before work", async () => {
  const file = await Deno.makeTempFile();
  try {
    await assertUsageError("table", ["--recipes", "RTN,Nope"], `getRecipe: Cannot find recipe "Nope"`);
    await assertUsageError("table", ["--out", file], "exists and is not a directory");
    await assertUsageError("table", ["--calib-data", `${file}.missing.txt`], "does not exist");
    await assertUsageError("table", ["--calib-sampling", "random"], "expected one of auto, stream, documents");
    await assertUsageError("table", ["--windows"], "--windows");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("table: an error during the run is one line with exit 1 (stack only with --debug), no output left", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.jsonl`, '{"text": "fine"}\n{"body": "no text field"}\n');
    const args = ["--calib-data", `${dir}/bad.jsonl`, "--recipes", "RTN", "--formats", "int4-g128-asym"];
    const r = await run("table", ...args, "--out", `${dir}/out`);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.split(/[\r\n]/).filter((l) => l.trim() !== "");
    assert.equal(
      lines.at(-1),
      `table: readTextDocuments: Cannot read line 2 of "${dir}/bad.jsonl": field "text" must be a string, got no such field`,
    );
    assert.ok(!r.stderr.includes("    at "), "no stack trace without --debug");
    const d = await run("table", ...args, "--out", `${dir}/out`, "--debug");
    assert.equal(d.code, 1);
    assert.ok(d.stderr.includes("    at "), "stack trace with --debug");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["bad.jsonl"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
