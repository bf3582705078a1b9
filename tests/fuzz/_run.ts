// SPDX-License-Identifier: MIT
/**
 * The fuzz runner: for each target, writes `n` seeded mutations of its fixture into a case
 * directory and loads each in a Worker with a per-case time limit. A load that does not answer
 * in time is a hang: the worker is terminated and replaced. Counts per target: loaded-ok,
 * typed-error, hang, crash (an error outside the loader's documented classes, or not in house
 * style), wrong-shape (loaded, but not what the file declares).
 */
import { Rng } from "../../lib/tensor/random.ts";
import { mutate, type Mutation } from "./_mutate.ts";
import { buildFixture, type Outcome, type TargetName } from "./_targets.ts";

/** Counts of one target's run. */
export interface FuzzCounts {
  ok: number;
  typed: number;
  hang: number;
  crash: number;
  wrong: number;
  /** The first few findings (hang, crash, wrong) with their mutation, for reproduction. */
  findings: string[];
}

/** Options of {@link fuzzTarget}. */
export interface FuzzOptions {
  /** Mutations to try (default 200). */
  n?: number;
  /** Seed of the mutation stream (default 17). */
  seed?: number;
  /** Per-case time limit in ms (default 10000: generous for a busy 2-core machine). */
  timeoutMs?: number;
  /** Findings kept in `findings` (default 20). */
  keep?: number;
}

/** A worker that has loaded the loader modules. */
class CaseWorker {
  private worker: Worker;
  private nextId = 0;
  private pending = new Map<number, (o: Outcome) => void>();

  private constructor() {
    this.worker = new Worker(new URL("./_worker.ts", import.meta.url), { type: "module" });
    this.worker.onmessage = (e: MessageEvent<{ id: number; outcome: Outcome }>) => {
      this.pending.get(e.data.id)?.(e.data.outcome);
      this.pending.delete(e.data.id);
    };
    this.worker.onerror = (e) => {
      e.preventDefault();
      for (const resolve of this.pending.values()) resolve({ kind: "crash", message: `worker error: ${e.message}` });
      this.pending.clear();
    };
  }

  /** Starts a worker and waits until its modules are loaded (not counted against a case). */
  static async start(): Promise<CaseWorker> {
    const w = new CaseWorker();
    const ready = await w.run(undefined, "", 120_000);
    if (ready === "hang") throw new Error("fuzz worker did not start within 120 s");
    return w;
  }

  /** Loads one case; "hang" when it does not answer within `timeoutMs`. */
  run(target: TargetName | undefined, dir: string, timeoutMs: number): Promise<Outcome | "hang"> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve("hang");
      }, timeoutMs);
      this.pending.set(id, (o) => {
        clearTimeout(timer);
        resolve(o);
      });
      this.worker.postMessage({ id, target, dir });
    });
  }

  terminate(): void {
    this.worker.terminate();
  }
}

/**
 * Runs `n` mutations of one target's fixture.
 *
 * @param target the loader to fuzz
 * @param options count, seed, per-case time limit
 * @returns the counts and the first findings
 */
export async function fuzzTarget(target: TargetName, options: FuzzOptions = {}): Promise<FuzzCounts> {
  const n = options.n ?? 200, timeoutMs = options.timeoutMs ?? 10_000, keep = options.keep ?? 20;
  const rng = new Rng((options.seed ?? 17) * 7919 + target.length * 104729 + target.charCodeAt(0));
  const fixture = await buildFixture(target);
  const counts: FuzzCounts = { ok: 0, typed: 0, hang: 0, crash: 0, wrong: 0, findings: [] };
  const dir = await Deno.makeTempDir({ prefix: `quantlab_fuzz_${target}_` });
  let worker = await CaseWorker.start();
  try {
    for (const [name, to] of Object.entries(fixture.links)) await Deno.symlink(to, `${dir}/${name}`);
    for (let k = 0; k < n; k++) {
      const file = fixture.mutable[rng.int(fixture.mutable.length)] as string;
      const m: Mutation = mutate(fixture.files[file]!, rng, fixture.fields[file] ?? [], fixture.text[file] ?? false);
      for (const [name, bytes] of Object.entries(fixture.files)) {
        await Deno.writeFile(`${dir}/${name}`, name === file ? m.bytes : bytes);
      }
      const outcome = await worker.run(target, dir, timeoutMs);
      const kind = outcome === "hang" ? "hang" : outcome.kind;
      counts[kind]++;
      if (kind !== "ok" && kind !== "typed" && counts.findings.length < keep) {
        const why = outcome === "hang" ? `no answer in ${timeoutMs} ms` : (outcome as { message: string }).message;
        counts.findings.push(`${kind} #${k} ${file} ${m.kind} (${m.detail}): ${why}`);
      }
      if (outcome === "hang") {
        worker.terminate();
        worker = await CaseWorker.start();
      }
    }
  } finally {
    worker.terminate();
    await Deno.remove(dir, { recursive: true });
  }
  return counts;
}
