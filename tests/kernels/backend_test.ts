// SPDX-License-Identifier: MIT
/** getBackend(): the automatic choice, the overrides, and their errors. */
import assert from "node:assert/strict";
import { getBackend } from "../../kernels/backend.ts";
import { BACKEND_ENV } from "../../lib/ops/backend.ts";
import { blasOrNull, inCI } from "../_backends.ts";
import { gpu, gpuTest } from "../_gpu.ts";
import { assertThrowsMessage } from "../_assert.ts";

Deno.test("getBackend honours prefer and picks a CPU backend on a software adapter", async () => {
  assert.equal((await getBackend({ prefer: "ts" })).name, "ts");
  const auto = await getBackend();
  if (gpu === null || gpu.isFallbackAdapter) {
    assert.equal(auto.name, blasOrNull() || inCI ? "blas" : "ts", `auto chose ${auto.name}: ${auto.info}`);
  } else {
    assert.equal(auto.name, "webgpu");
  }
});

Deno.test("QUANTLAB_BACKEND overrides the choice and rejects unknown names", async () => {
  const saved = Deno.env.get(BACKEND_ENV);
  try {
    Deno.env.set(BACKEND_ENV, "ts");
    assert.equal((await getBackend()).name, "ts");
    Deno.env.set(BACKEND_ENV, "cuda");
    await assertThrowsMessage(() => getBackend(), RangeError, BACKEND_ENV, "cuda", "webgpu");
  } finally {
    if (saved === undefined) Deno.env.delete(BACKEND_ENV);
    else Deno.env.set(BACKEND_ENV, saved);
  }
});

gpuTest("getBackend({ prefer: 'webgpu' }) uses the adapter even when it is a software one", async () => {
  const ops = await getBackend({ prefer: "webgpu" });
  assert.equal(ops.name, "webgpu");
  assert.match(ops.info, /\S/);
});
