// SPDX-License-Identifier: MIT
/** The shipped ONNX export, run by onnxruntime-web (wasm), against our forward pass. */
import assert from "node:assert/strict";
import { BUNDLED_MODEL_DIR, loadLlama } from "../../lib/model/load.ts";
import { getCpuOps } from "../../lib/ops/backend.ts";
import { loadSplit } from "../../lib/calib/corpus.ts";
import { evaluateLm, evaluateLogits } from "../../lib/eval/perplexity.ts";
import { openOnnxLm } from "../../lib/eval/onnx_lm.ts";
import { assertThrowsMessage } from "../_assert.ts";

/** Relative perplexity difference allowed between onnxruntime-web and our forward pass. */
const MAX_PPL_REL_DIFF = 1e-3;
/** Windows of the test split compared (a fixed prefix; both sides see the same tokens). */
const WINDOWS = 8;

Deno.test("model.onnx under onnxruntime-web gives our perplexity to 0.1%", async () => {
  const model = await loadLlama(BUNDLED_MODEL_DIR, { ops: getCpuOps() });
  const test = await loadSplit("test");
  const lm = await openOnnxLm(`${BUNDLED_MODEL_DIR}/model.onnx`);
  try {
    const ours = await evaluateLm(model, test, { seqLen: 256, maxWindows: WINDOWS });
    const theirs = await evaluateLogits(lm.logits, model.config.vocabSize, test, {
      seqLen: 256,
      maxWindows: WINDOWS,
      reference: model,
    });
    const rel = Math.abs(theirs.perplexity - ours.perplexity) / ours.perplexity;
    assert.ok(rel <= MAX_PPL_REL_DIFF, `ppl ours ${ours.perplexity} vs onnx ${theirs.perplexity} (rel ${rel})`);
    assert.ok(theirs.top1Agreement! > 0.999, `top-1 agreement ${theirs.top1Agreement}`);
  } finally {
    await lm.release();
  }
});

Deno.test("openOnnxLm rejects files that are not ONNX", async () => {
  const path = await Deno.makeTempFile({ suffix: ".onnx" });
  try {
    await Deno.writeTextFile(path, "this is not a protobuf");
    await assertThrowsMessage(() => openOnnxLm(path), Error, path);
    const bytes = await Deno.readFile(`${BUNDLED_MODEL_DIR}/model.onnx`);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length >> 1));
    await assertThrowsMessage(() => openOnnxLm(path), Error, path);
    await assertThrowsMessage(() => openOnnxLm(`${path}.missing`), Error, "Cannot read");
  } finally {
    await Deno.remove(path);
  }
});
