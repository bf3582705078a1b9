// SPDX-License-Identifier: MIT
// `deno task export` as a subprocess on the bundled model: a GGUF Q4_0 export of RTN holds exactly
// the weights quantlab evaluated (read back with readGgufWeights and @huggingface/gguf), the
// onnx-q4 folder has both transformers.js models, and command-line mistakes exit 2 with one
// line, before any work and without writing anything.
import assert from "node:assert/strict";
import { gguf } from "@huggingface/gguf";
import { BUNDLED_MODEL_DIR, loadLlama } from "../../lib/model/load.ts";
import { applyRecipe, getRecipe } from "../../lib/pipeline/recipes.ts";
import { readGgufWeights } from "../../lib/export/gguf_read.ts";
import { linearNames } from "../../lib/model/config.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "export-cli-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

async function exportCli(...args: string[]): Promise<{ code: number; stdout: string; lines: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tools/export.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), lines: stderr.split("\n").filter(Boolean) };
}

Deno.test("export: bundled model → gguf-q4_0 with RTN holds exactly the weights quantlab evaluated", async () => {
  const path = `${dir}/rtn-q4_0.gguf`;
  const r = await exportCli("--model", BUNDLED_MODEL_DIR, "--recipe", "RTN", "--format", "gguf-q4_0", "--out", path);
  assert.equal(r.code, 0, r.lines.join("\n"));
  const row = JSON.parse(r.stdout);
  assert.equal(row.format, "int4-g32-sym");
  assert.equal(row.bytes, (await Deno.stat(path)).size);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["rtn-q4_0.gguf"], "no temporary file is left");

  const model = await loadLlama(BUNDLED_MODEL_DIR);
  const q = await applyRecipe(model, getRecipe("RTN"), { format: "int4-g32-sym" });
  const back = await readGgufWeights(path, model.config);
  for (let l = 0; l < model.config.numLayers; l++) {
    for (const n of linearNames(l)) {
      const want = q.model.weights.get(`${n}.weight`)!.data, got = back.get(`${n}.weight`)!.data;
      assert.deepEqual(got, want, `${n}: the GGUF decodes to the fake-quant weight bit for bit`);
    }
  }
  const p = await gguf(path, { allowLocalFile: true });
  assert.equal(p.metadata["general.architecture"], "llama");
  const qProj = p.tensorInfos.find((t) => t.name === "blk.0.attn_q.weight")!;
  assert.equal(qProj.dtype, 2, "blk.0.attn_q.weight is Q4_0 (ggml type 2)");
});

Deno.test("export: onnx-q4 writes the transformers.js folder", async () => {
  const out = `${dir}/onnx`;
  const r = await exportCli("--model", BUNDLED_MODEL_DIR, "--recipe", "RTN", "--format", "onnx-q4", "--out", out);
  assert.equal(r.code, 0, r.lines.join("\n"));
  for (const f of ["onnx/model.onnx", "onnx/model_q4.onnx", "config.json", "tokenizer.json"]) {
    assert.ok((await Deno.stat(`${out}/${f}`)).size > 0, f);
  }
  assert.equal(JSON.parse(r.stdout).format, "int4-g32-asym");
});

Deno.test("export: usage errors exit 2 with one line and write nothing", async () => {
  const base = ["--model", BUNDLED_MODEL_DIR, "--recipe", "RTN"];
  const cases: [string[], RegExp][] = [
    [[...base, "--format", "gguf-q5_k", "--out", `${dir}/x.gguf`], /--format: expected one of/],
    [[...base, "--format", "gguf-q4_0", "--out", `${dir}/x`], /--out: gguf-q4_0 writes a file ending in \.gguf/],
    [[...base, "--format", "onnx-q4", "--out", `${dir}/x.gguf`], /--out: onnx-q4 writes a directory/],
    [[...base, "--format", "gguf-q4_0", "--format-spec", "int8-g32-sym", "--out", `${dir}/x.gguf`], /holds exactly/],
    [["--model", BUNDLED_MODEL_DIR, "--recipe", "nope", "--format", "hf-gptq", "--out", `${dir}/x`], /--recipe/],
    [[...base, "--format", "hf-gptq", "--calib", "0", "--out", `${dir}/x`], /--calib: must be ≥ 1/],
    [[...base, "--format", "hf-gptq"], /--out is required/],
  ];
  for (const [args, msg] of cases) {
    const r = await exportCli(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.lines.join(" | ")}`);
    assert.equal(r.lines.length, 1, `${args.join(" ")}: one line, got ${r.lines.join(" | ")}`);
    assert.match(r.lines[0]!, /^export: /);
    assert.match(r.lines[0]!, msg);
  }
  assert.ok(![...Deno.readDirSync(dir)].some((e) => e.name.startsWith("x")), "nothing was written");
});

Deno.test("export: --help lists every flag with its default", async () => {
  const r = await exportCli("--help");
  assert.equal(r.code, 0);
  for (const f of ["--model", "--recipe", "--format", "--out", "--format-spec", "--sym", "--calib-data", "--seq-len"]) {
    assert.ok(r.stdout.includes(f), f);
  }
  assert.match(r.stdout, /--calib <int>\s+calibration sequences \(default: 128\)/);
});
