// SPDX-License-Identifier: MIT
// `deno task quantize` as a subprocess on a generated checkpoint with its own BPE tokenizer.json:
// the end-to-end run (per-layer lines with seconds and an ETA, outputs that reload and whose
// numbers the library reproduces), the command-line mistakes of issue 17 (exit 2, one stderr
// line, before anything loads), and run-time failures (exit 1, one line, nothing left behind).
import assert from "node:assert/strict";
import { loadLlama } from "../../lib/model/load.ts";
import { loadGptqCheckpoint } from "../../lib/export/hf_gptq_read.ts";
import { linearNames } from "../../lib/model/config.ts";
import { resolveModelData } from "../../lib/data/resolve.ts";
import { evaluateLm } from "../../lib/eval/perplexity.ts";
import { dequantize } from "../../lib/quant/quantized_tensor.ts";
import { getCpuOps } from "../../lib/ops/backend.ts";
import { loadSplit } from "../../lib/calib/corpus.ts";
import { writeRandomCheckpoint } from "../../tools/make_checkpoint.ts";
import { writeByteLevelTokenizer } from "../../tools/make_tokenizer.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** Relative tolerance between the CLI's streamed evaluation and `evaluateLm` on the reloaded outputs (f64 sums, other batching). */
const EVAL_RTOL = 1e-6;
/** Values an int4 group can take. */
const INT4_LEVELS = 16;
const SEQ = 32, GROUP = 32, MAX_POSITIONS = 64;

// Fixture: a 2-layer qwen2 checkpoint (biases, tied embeddings; hidden 64, bf16, 2 shards) with a
// 512-token BPE tokenizer, calibration documents as JSON Lines and evaluation text, cut from the
// bundled corpus.
const dir = await Deno.makeTempDir({ prefix: "quantize-cli-" });
const model = `${dir}/model`;
await writeByteLevelTokenizer(model, { vocabSize: 512, maxBytes: 100_000 });
await writeRandomCheckpoint(model, {
  arch: "qwen2",
  hidden: 64,
  ffn: 128,
  heads: 4,
  kvHeads: 2,
  layers: 2,
  vocab: 512,
  dtype: "bf16",
  shards: 2,
  seed: 0,
  maxPositions: MAX_POSITIONS,
});
const train = new TextDecoder().decode(await loadSplit("train"));
const docs = Array.from({ length: 8 }, (_, i) => train.slice(i * 1500, (i + 1) * 1500));
await Deno.writeTextFile(`${dir}/calib.jsonl`, docs.map((text) => JSON.stringify({ text })).join("\n") + "\n");
await Deno.writeTextFile(`${dir}/eval.txt`, new TextDecoder().decode(await loadSplit("test")).slice(0, 3000));
await Deno.mkdir(`${dir}/empty`);
await Deno.writeTextFile(`${dir}/a-file`, "");
const FIXTURES = ["a-file", "calib.jsonl", "empty", "eval.txt", "model"];
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const DATA = ["--calib-data", `${dir}/calib.jsonl`, "--eval-data", `${dir}/eval.txt`];
const SMALL = ["--calib", "4", "--seq-len", String(SEQ), "--windows", "2"];

async function quantize(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; lines: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tools/quantize.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp", NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  const stderr = dec.decode(out.stderr);
  // Live progress rewrites its line with `\r`: each rewrite counts as a line here.
  const lines = stderr.split(/[\r\n]/).map((l) => l.trimEnd()).filter((l) => l !== "");
  return { code: out.code, stdout: dec.decode(out.stdout), stderr, lines };
}

const entries = () => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

/** Exit 2, nothing on stdout, exactly one stderr line `quantize: …` containing `expected`. */
async function assertUsageError(args: string[], expected: string): Promise<void> {
  const r = await quantize(...args);
  assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
  assert.equal(r.lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.ok(r.lines[0]!.startsWith("quantize: ") && r.lines[0]!.includes(expected), r.lines[0]);
  assert.equal(r.stdout, "");
}

Deno.test("quantize: GPTQ end to end on a generated qwen2 checkpoint with its tokenizer.json and the user's text", async () => {
  const out = `${dir}/out`;
  await Deno.mkdir(out);
  await Deno.writeTextFile(`${out}/stale.txt`, "from an earlier run");
  try {
    const args = ["--model", model, "--recipe", "GPTQ", "--format", `int4-g${GROUP}-asym`, ...DATA, ...SMALL];
    const r = await quantize(...args, "--out", out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.lines[0]!, /^quantize: model \(2 layers, qwen2\).*calib\.jsonl 4×32.*eval\.txt 2×32.*BPE/);
    for (const l of [1, 2]) {
      assert.ok(
        r.lines.some((x) =>
          new RegExp(`^layer ${l}/2 done in \\d+\\.\\ds \\| elapsed \\d+s \\| ETA (\\d+s|…)$`).test(x)
        ),
        `layer ${l} line with seconds:\n${r.stderr}`,
      );
    }
    assert.ok(r.lines.some((x) => /^layer 2\/2 .*\| ETA \d+s$/.test(x)), `an ETA once a layer is done:\n${r.stderr}`);
    assert.ok(r.lines.some((x) => x.startsWith("eval windows 2/2")), "evaluation windows counted");

    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), ["fake_quant", "gptq", "result.json"]);
    const row = JSON.parse(await Deno.readTextFile(`${out}/result.json`));
    assert.deepEqual(row, JSON.parse(r.stdout), "stdout carries the same row");
    assert.equal(row.format, "int4-g32-asym");
    assert.equal(row.windows, 2);
    assert.equal(row.layerSeconds.length, 2);
    assert.equal(row.calibration, "calib.jsonl 4×32 seed 0 (documents)");

    // The exported weights: int4 groups of 32, and the packed layout holds the same values.
    const ops = getCpuOps();
    const fp = await loadLlama(model, { ops });
    const fake = await loadLlama(`${out}/fake_quant`, { ops });
    const gptq = await loadGptqCheckpoint(`${out}/gptq`, { ops });
    for (const name of [0, 1].flatMap((l) => linearNames(l))) {
      const W = fake.weight(`${name}.weight`).data;
      for (let g = 0; g < W.length; g += GROUP) {
        assert.ok(new Set(W.subarray(g, g + GROUP)).size <= INT4_LEVELS, `${name} group ${g / GROUP}`);
      }
      assert.notDeepEqual(W, fp.weight(`${name}.weight`).data, name);
      assert.deepEqual(dequantize(gptq.quantized.get(name)!).data, W, name);
    }
    assert.deepEqual(fake.weight("model.embed_tokens.weight").data, fp.weight("model.embed_tokens.weight").data);

    // The reported numbers are those of the exported checkpoint on the same tokens.
    const data = await resolveModelData(model, fp.config, undefined, {
      evalData: `${dir}/eval.txt`,
      seqLen: SEQ,
      maxWindows: 2,
      need: { calibration: false },
    });
    const q = await evaluateLm(fake, data.evaluation!, { seqLen: SEQ, reference: fp });
    const ref = await evaluateLm(fp, data.evaluation!, { seqLen: SEQ });
    const close = (a: number, b: number, what: string) =>
      assert.ok(Math.abs(a - b) <= EVAL_RTOL * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
    close(row.perplexity, q.perplexity, "perplexity");
    close(row.referencePerplexity, ref.perplexity, "reference perplexity");
    close(row.kl, q.kl!, "KL");
    assert.equal(row.top1Agreement, q.top1Agreement);
    assert.ok(row.kl > 0 && Number.isFinite(row.perplexity));
    assert.deepEqual(entries(), [...FIXTURES, "out"].sort(), "no temporary directory left");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("quantize: command-line mistakes exit 2 with one line before the model loads", async () => {
  // An empty --model directory: had the task started, reading its config.json would fail with exit 1.
  const base = ["--model", `${dir}/empty`, "--recipe", "GPTQ", "--out", `${dir}/out`];
  await assertUsageError([...base, "--bogus"], "Unknown option '--bogus'");
  await assertUsageError([...base, "--windows", "abc"], `--windows: expected an integer or "all", got "abc"`);
  await assertUsageError([...base, "--windows", "-1"], "--windows: must be ≥ 1, got -1");
  await assertUsageError(
    [...base, "--format", "int9-foo"],
    `--format: parseFormatId: Cannot parse format id "int9-foo"`,
  );
  await assertUsageError(
    ["--model", `${dir}/empty`, "--recipe", "nosuch", "--out", `${dir}/out`],
    `--recipe: getRecipe: Cannot find recipe "nosuch"`,
  );
  await assertUsageError(
    ["--model", `${dir}/empty`, "--recipe", "GPTQ", "--out", `${dir}/a-file`],
    `--out: "${dir}/a-file" exists and is not a directory`,
  );
  await assertUsageError([...base, "--calib-data", `${dir}/missing.jsonl`], "--calib-data: ");
  await assertUsageError(["--recipe", "GPTQ", "--out", `${dir}/out`], "--model is required");
  await assertUsageError([...base, "--activations", "f8"], "--activations: expected one of f32, bf16, f16");
  assert.deepEqual(entries(), FIXTURES);
});

Deno.test("quantize: --help lists every flag with its default and exits 0", async () => {
  const r = await quantize("--help");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /^usage: deno task quantize/);
  const flags = [...r.stdout.matchAll(/^ {2}--([a-z-]+)(.*)$/gm)].map((m) => [m[1]!, m[2]!] as const);
  assert.deepEqual(flags.map(([f]) => f), [
    "model",
    "recipe",
    "out",
    "format",
    "calib-data",
    "eval-data",
    "text-column",
    "calib-sampling",
    "calib",
    "seq-len",
    "windows",
    "seed",
    "activations",
    "batch-size",
    "backend",
    "allow-online",
    "help",
    "debug",
  ]);
  for (const [f, text] of flags) {
    if (f === "help" || f === "debug") continue;
    assert.ok(/\(required\)|default/.test(text), `--${f} states its default: ${text}`);
  }
  for (const d of ["(default: 128)", "(default: 256)", "(default: 64)", "(default: f32)", "(default: auto)"]) {
    assert.ok(r.stdout.includes(d), d);
  }
});

Deno.test("quantize: a run-time failure exits 1 with one line (a stack only with --debug) and leaves no output", async () => {
  const out = `${dir}/out`;
  // A BPE vocabulary without --calib-data: bytes are never used as its ids.
  const noData = await quantize("--model", model, "--recipe", "GPTQ", "--out", out);
  assert.equal(noData.code, 1, noData.stderr);
  assert.deepEqual(noData.lines, [
    `quantize: resolveModelData: Cannot calibrate "${model}" without data: its tokenizer (tokenizer.json (BPE), ` +
    `vocab_size 512) is not byte-level, so the bundled corpus does not apply; pass --calib-data FILE (.txt, .jsonl or .arrow)`,
  ]);
  const debug = await quantize("--model", model, "--recipe", "GPTQ", "--out", out, "--debug");
  assert.equal(debug.code, 1);
  assert.ok(debug.stderr.includes("    at "), "stack trace with --debug");

  // Fails once the output has been started: windows longer than the model's positions.
  const args = ["--model", model, "--recipe", "GPTQ", ...DATA, "--calib", "2", "--seq-len", String(2 * MAX_POSITIONS)];
  const late = await quantize(...args, "--windows", "1", "--out", out);
  assert.equal(late.code, 1, late.stderr);
  assert.equal(
    late.lines.at(-1),
    `quantize: quantizeStreaming: Cannot run seqLen ${
      2 * MAX_POSITIONS
    }: the model supports at most ${MAX_POSITIONS} positions`,
  );
  assert.ok(!late.stderr.includes("    at "), "no stack trace without --debug");
  assert.deepEqual(entries(), FIXTURES, "no OUT, OUT.partial or temporary directory");
});
