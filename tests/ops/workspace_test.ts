// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import { Workspace } from "../../lib/ops/workspace.ts";
import { assertThrowsMessage } from "../_assert.ts";

Deno.test("Workspace reuses a slot's memory, grows it when asked for more, and keeps slots apart", () => {
  const ws = new Workspace();
  const a = ws.f32("x", 100);
  a.fill(7);
  const b = ws.f32("x", 60);
  assert.equal(b.buffer, a.buffer);
  assert.equal(b.length, 60);
  assert.equal(b[0], 7); // contents are whatever the last user left
  const c = ws.f32("x", 120); // grows (≥ 1.5×): a new buffer
  assert.notEqual(c.buffer, a.buffer);
  assert.equal(c.length, 120);
  assert.equal(ws.f32("x", 150).buffer, c.buffer); // 1.5 × 100 = 150 fits without a new buffer
  assert.notEqual(ws.f64("x", 10).buffer, c.buffer); // kinds are separate slots
  assert.notEqual(ws.f32("y", 10).buffer, c.buffer);
  assert.ok(ws.u8("z", 3) instanceof Uint8Array);
  assert.ok(ws.bytes >= 150 * 4 + 80 + 40 + 3);
  ws.clear();
  assert.equal(ws.bytes, 0);
});

Deno.test("Workspace rejects negative and fractional lengths", async () => {
  const ws = new Workspace();
  await assertThrowsMessage(
    () => ws.f32("x", -1),
    RangeError,
    "Workspace.f32: Cannot provide -1 elements for slot 'x'",
  );
  await assertThrowsMessage(() => ws.f64("x", 1.5), RangeError, "integer >= 0");
});
