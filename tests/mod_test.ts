// SPDX-License-Identifier: MIT
/**
 * The root import stays light: `mod.ts` loads neither onnxruntime nor the ONNX/OCR modules,
 * which live behind the `./onnx` and `./ocr` subpath exports.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/**
 * Module specifiers of the static module graph of `entry` (`deno info --json`); npm packages
 * appear as `npm:/name@version`. (Its `npmPackages` lists every package of the lockfile, so it
 * is not used.)
 */
async function moduleGraph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: { specifier: string }[] };
  return info.modules.map((m) => m.specifier);
}

const heavy = (s: string) => /onnxruntime|\/lib\/onnx\/|\/lib\/ocr\/|onnx_lm\.ts/.test(s);

Deno.test("mod.ts: the root import's module graph has no onnxruntime and no lib/onnx or lib/ocr module", async () => {
  const root = await moduleGraph("mod.ts");
  assert.ok(root.some((s) => s.endsWith("/lib/quant/spec.ts")), "the graph lists the library's modules");
  assert.ok(root.some((s) => s.startsWith("npm:/apache-arrow")), "the graph lists npm modules");
  assert.deepEqual(root.filter(heavy), []);
});

Deno.test("deno.json: ./onnx and ./ocr are subpath exports, and their graphs do load onnxruntime", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as { exports: Record<string, string> };
  assert.equal(config.exports["./onnx"], "./lib/onnx/mod.ts");
  assert.equal(config.exports["./ocr"], "./lib/ocr/mod.ts");
  for (const entry of [config.exports["./onnx"]!, config.exports["./ocr"]!]) {
    const graph = await moduleGraph(entry);
    assert.ok(graph.some((s) => s.startsWith("npm:/onnxruntime-web")), `${entry} loads onnxruntime`);
  }
  const onnx = await import("../lib/onnx/mod.ts");
  assert.equal(typeof onnx.openOnnxLm, "function");
});
