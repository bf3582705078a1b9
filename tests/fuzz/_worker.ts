// SPDX-License-Identifier: MIT
/**
 * Fuzz worker: loads one case directory per message with the target's public loader and posts
 * the outcome. It runs in a Worker so that the runner can terminate a load that hangs.
 */
/// <reference lib="deno.worker" />
import { loadCase, type TargetName } from "./_targets.ts";

self.onmessage = async (e: MessageEvent<{ id: number; target: TargetName; dir: string }>) => {
  const { id, target, dir } = e.data;
  if (target === undefined) {
    self.postMessage({ id, outcome: { kind: "ok" } }); // warm-up ping: the modules are loaded
    return;
  }
  let outcome;
  try {
    outcome = await loadCase(target, dir);
  } catch (err) {
    outcome = { kind: "crash", message: `harness: ${(err as Error).message}` };
  }
  self.postMessage({ id, outcome });
};
