// SPDX-License-Identifier: MIT
// The tasks outside tools/*.ts (bench, wgsl, screenshot, fuzz) reject unknown flags with exit 2 and one line,
// before any work, and answer --help.
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

async function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const TASKS: [string, string, string[]][] = [
  ["bench", Deno.execPath(), ["run", "-A", "bench/main.ts"]],
  ["wgsl", Deno.execPath(), [
    "run",
    "--allow-read=kernels",
    "--allow-write=kernels/_wgsl.gen.ts",
    "kernels/_embed_wgsl.ts",
  ]],
  ["screenshot", "bash", ["tools/screenshot.sh"]],
  ["fuzz", Deno.execPath(), ["run", "-A", "tests/fuzz/main.ts"]],
];

for (const [task, cmd, base] of TASKS) {
  Deno.test(`${task}: an unknown flag is one line with exit 2; --help exits 0`, async () => {
    const bad = await run(cmd, [...base, "--bogus"]);
    const lines = bad.stderr.split("\n").filter((l) => l.trim() !== "");
    assert.equal(bad.code, 2, `${task} --bogus: exit ${bad.code}\n${bad.stderr}`);
    assert.equal(lines.length, 1, bad.stderr);
    assert.match(lines[0]!, new RegExp(`^${task}: .*--bogus`));
    const help = await run(cmd, [...base, "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /usage|Usage/);
  });
}

Deno.test("bench: an unknown suite in --only is rejected before any suite runs", async () => {
  const r = await run(Deno.execPath(), ["run", "-A", "bench/main.ts", "--only", "io,nosuch"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^bench: --only: unknown suite "nosuch"/);
});
