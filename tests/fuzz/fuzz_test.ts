// SPDX-License-Identifier: MIT
/**
 * Seeded mutation fuzzing of every loader (issue 17): about 200 mutations each must load into
 * what the file declares or throw the loader's typed error, each within the per-case limit (a
 * Worker that does not answer is terminated and counted as a hang). Deep runs:
 * `deno task fuzz --n 5000`.
 */
import assert from "node:assert/strict";
import { fuzzTarget } from "./_run.ts";
import { TARGETS } from "./_targets.ts";

/** Mutations per loader in the regular suite. */
const CASES = 200;

for (const target of TARGETS) {
  Deno.test(`fuzz ${target}: ${CASES} mutations, no hang, crash or wrong shape`, async () => {
    const c = await fuzzTarget(target, { n: CASES, seed: 17 });
    assert.equal(c.ok + c.typed + c.hang + c.crash + c.wrong, CASES);
    assert.deepEqual(c.findings, [], `${target}: ${c.hang} hang, ${c.crash} crash, ${c.wrong} wrong`);
    // The mutations must reach the loader's checks, not all bounce off one of them.
    assert.ok(c.typed > 0, `${target}: no mutation was rejected`);
  });
}
