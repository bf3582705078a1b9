// SPDX-License-Identifier: MIT
/** Stored Hadamard factors: H·Hᵀ = m·I, provenance reproducible by tools/make_hadamard.ts. */
import assert from "node:assert/strict";
import {
  HADAMARD_DATA_DIR,
  HADAMARD_FACTOR_ORDERS,
  hadamardFactor,
  parseHadamardRows,
} from "../../lib/rotate/hadamard_factors.ts";
import { formatRows, HADAMARD_RECIPES } from "../../tools/make_hadamard.ts";
import { assertThrowsMessage } from "../_assert.ts";

/** Orders the issue asks for (QuaRot's get_hadK list). */
const REQUIRED_ORDERS = [12, 20, 28, 36, 40, 52, 60, 108, 140, 156, 172];

Deno.test("every required order is stored", () => {
  for (const m of REQUIRED_ORDERS) assert.ok(HADAMARD_FACTOR_ORDERS.includes(m), `missing m = ${m}`);
});

Deno.test("every stored factor satisfies H·Hᵀ = m·I (exact, ±1 entries)", () => {
  for (const m of HADAMARD_FACTOR_ORDERS) {
    const H = hadamardFactor(m).data;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let k = 0; k < m; k++) dot += H[i * m + k]! * H[j * m + k]!;
        assert.equal(dot, i === j ? m : 0, `order ${m}: rows ${i}, ${j}`);
      }
    }
  }
});

Deno.test("stored files equal what tools/make_hadamard.ts generates", async () => {
  assert.deepEqual(Object.keys(HADAMARD_RECIPES).map(Number), [...HADAMARD_FACTOR_ORDERS]);
  for (const m of HADAMARD_FACTOR_ORDERS) {
    const stored = await Deno.readTextFile(new URL(`h${m}.txt`, HADAMARD_DATA_DIR));
    assert.equal(stored, formatRows(HADAMARD_RECIPES[m]!.build()), `h${m}.txt differs from its construction`);
  }
});

Deno.test("loader errors name the order and the problem", async () => {
  await assertThrowsMessage(() => hadamardFactor(13), RangeError, "order 13", "12, 20");
  await assertThrowsMessage(() => parseHadamardRows("++\n+x\n", 2), RangeError, "row 1");
  await assertThrowsMessage(() => parseHadamardRows("++\n", 2), RangeError, "from 1 rows");
});
