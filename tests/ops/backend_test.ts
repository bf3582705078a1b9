// SPDX-License-Identifier: MIT
/** CPU backend selection (lib/ops/backend.ts), the OpenBLAS loader and the CI test policy. */
import assert from "node:assert/strict";
import { getCpuOps } from "../../lib/ops/backend.ts";
import { loadBlasOps } from "../../lib/ops/blas/mod.ts";
import { tsOps } from "../../lib/ops/ts/mod.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertThrowsMessage } from "../_assert.ts";
import { blasTest } from "../_backends.ts";

const FIXTURE = new URL("./_blas_policy_fixture.ts", import.meta.url).pathname;
const MODULE = new URL("../../lib/ops/backend.ts", import.meta.url).href;

/** Runs `deno <args>` with extra environment variables; returns exit status and output. */
async function deno(args: string[], env: Record<string, string>, clear: string[] = []) {
  const base = Deno.env.toObject();
  for (const k of clear) delete base[k];
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env: { ...base, ...env, NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

Deno.test("getCpuOps() returns ts when asked, and blas-or-ts by default", async () => {
  assert.equal(getCpuOps({ prefer: "ts" }), tsOps);
  assert.throws(() => getCpuOps({ prefer: "webgpu" as "ts" }), RangeError);
  // The default depends on QUANTLAB_BACKEND, so it is checked in a clean subprocess (tests
  // in this process must not change the environment other test files see).
  const r = await deno(
    ["eval", "--ext=ts", `import { getCpuOps } from "${MODULE}"; console.log(getCpuOps().name);`],
    {},
    [
      "QUANTLAB_BACKEND",
    ],
  );
  assert.equal(r.text.trim(), loadBlasOps() === null ? "ts" : "blas");
});

Deno.test("getCpuOps() respects QUANTLAB_BACKEND=ts|blas, ignores other values, and the option wins", async () => {
  const code = `import { getCpuOps } from "${MODULE}";
let blas; try { blas = getCpuOps().name; } catch (e) { blas = e.name; }
console.log(JSON.stringify([blas, getCpuOps({ prefer: "ts" }).name]));`;
  const names = async (value: string) =>
    JSON.parse((await deno(["eval", "--ext=ts", code], { QUANTLAB_BACKEND: value })).text);
  const hasBlas = loadBlasOps() !== null;
  assert.deepEqual(await names("ts"), ["ts", "ts"]);
  assert.deepEqual(await names("webgpu"), [hasBlas ? "blas" : "ts", "ts"]);
  assert.deepEqual(await names("blas"), [hasBlas ? "blas" : "BlasUnavailableError", "ts"]);
});

Deno.test("a missing OpenBLAS gives ts by default and a clear error naming libopenblas0 when blas is required", async () => {
  const env = { QUANTLAB_OPENBLAS: "/nonexistent/libopenblas.so.0" };
  const code = `import { getCpuOps } from "${MODULE}";
console.log("default:", getCpuOps().name);
try { getCpuOps({ prefer: "blas" }); } catch (e) { console.log(e.name, e.message); }`;
  const r = await deno(["eval", "--ext=ts", code], env);
  assert.equal(r.code, 0, r.text);
  assert.match(r.text, /default: ts/);
  assert.match(r.text, /BlasUnavailableError blas: Cannot load OpenBLAS/);
  assert.match(r.text, /\/nonexistent\/libopenblas\.so\.0/);
  assert.match(r.text, /apt-get install -y libopenblas0/);
});

Deno.test("blas tests are skipped without OpenBLAS, but fail under CI=true", async () => {
  const env = { QUANTLAB_OPENBLAS: "/nonexistent/libopenblas.so.0" };
  const local = await deno(["test", "-A", FIXTURE], env, ["CI"]);
  assert.equal(local.code, 0, local.text);
  assert.match(local.text, /0 passed.*1 ignored/s);
  const ci = await deno(["test", "-A", FIXTURE], { ...env, CI: "true" });
  assert.notEqual(ci.code, 0, ci.text);
  assert.match(ci.text, /BlasUnavailableError/);
  assert.match(ci.text, /libopenblas0/);
});

blasTest("the loaded library describes itself", (blas) => {
  assert.match(blas.info, /OpenBLAS/);
  assert.ok(blas.library.path.length > 0);
  assert.equal(blas.name, "blas");
});

Deno.test("tsOps methods return promises that reject (never throw synchronously)", async () => {
  const p = tsOps.fwht(new Tensor("f32", [1, 3]));
  assert.ok(p instanceof Promise);
  await assertThrowsMessage(() => p, TypeError, "length 3");
});
