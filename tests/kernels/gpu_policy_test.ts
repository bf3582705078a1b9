// SPDX-License-Identifier: MIT
/**
 * The adapter policy of tests/_gpu.ts, checked in subprocesses where the adapter is hidden
 * (`DENO_WEBGPU_BACKEND=dx12` finds none on Linux): GPU tests are skipped locally and fail
 * under `CI=true`.
 */
import assert from "node:assert/strict";

const TARGET = new URL("./runtime_test.ts", import.meta.url).pathname;

async function runWithoutAdapter(ci: boolean): Promise<{ code: number; out: string }> {
  const env: Record<string, string> = { DENO_WEBGPU_BACKEND: "dx12", NO_COLOR: "1" };
  env.CI = ci ? "true" : "false"; // explicit: the parent may itself run under CI=true
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", "--no-check", "--filter", "getDevice()", TARGET],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, out: decode(stdout) + decode(stderr) };
}

Deno.test("without an adapter GPU tests are ignored locally", async () => {
  const { code, out } = await runWithoutAdapter(false);
  assert.equal(code, 0, out);
  assert.match(out, /1 ignored/);
});

Deno.test("without an adapter GPU tests fail under CI=true", async () => {
  const { code, out } = await runWithoutAdapter(true);
  assert.notEqual(code, 0, out);
  assert.match(out, /WebGPU adapter required in CI: none found/);
});
