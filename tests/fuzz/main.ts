// SPDX-License-Identifier: MIT
/**
 * Deep fuzz runs: `deno task fuzz [--n 5000] [--seed 17] [--target ipc,onnx] [--timeout-ms 10000]`.
 * Prints, per loader, the counts loaded-ok, typed-error, hang, crash, wrong-shape and the first
 * findings; exits 1 when any hang, crash or wrong shape was found.
 */
import { parseArgs } from "node:util";
import { fuzzTarget } from "./_run.ts";
import { type TargetName, TARGETS } from "./_targets.ts";

const HELP = `Usage: deno task fuzz [options]

Seeded mutation fuzzing of every loader (safetensors, sharded index, Arrow IPC, ONNX with
external data, config.json, tokenizer.json).

Options:
  --n <count>          mutations per loader (default 5000)
  --seed <int>         seed of the mutation stream (default 17)
  --target <a,b>       loaders to run (default all: ${TARGETS.join(",")})
  --timeout-ms <ms>    per-load limit; longer is a hang (default 10000)
  -h, --help           this text`;

function fail(message: string): never {
  console.error(`fuzz: ${message} (see --help)`);
  Deno.exit(2);
}

function int(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < 0) fail(`--${name} must be a non-negative integer, got "${text}"`);
  return v;
}

if (import.meta.main) {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        n: { type: "string" },
        seed: { type: "string" },
        target: { type: "string" },
        "timeout-ms": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  const n = int("n", values.n, 5000), seed = int("seed", values.seed, 17);
  const timeoutMs = int("timeout-ms", values["timeout-ms"], 10_000);
  const targets = (values.target?.split(",") ?? [...TARGETS]) as TargetName[];
  for (const t of targets) if (!TARGETS.includes(t)) fail(`unknown --target "${t}" (one of ${TARGETS.join(", ")})`);
  console.log(`loader       loaded-ok  typed-error  hang  crash  wrong-shape   (n = ${n}, seed ${seed})`);
  let bad = 0;
  for (const target of targets) {
    const t0 = performance.now();
    const c = await fuzzTarget(target, { n, seed, timeoutMs });
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(
      `${target.padEnd(12)} ${String(c.ok).padStart(9)} ${String(c.typed).padStart(12)} ${String(c.hang).padStart(5)} ${
        String(c.crash).padStart(6)
      } ${String(c.wrong).padStart(12)}   ${secs} s`,
    );
    for (const f of c.findings) console.log(`  ${f}`);
    bad += c.hang + c.crash + c.wrong;
  }
  Deno.exit(bad > 0 ? 1 : 0);
}
