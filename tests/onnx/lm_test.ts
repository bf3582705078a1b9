// SPDX-License-Identifier: MIT
/**
 * The bundled LM exported as MatMulNBits: onnxruntime-web's perplexity equals our forward pass
 * with the same quantized weights. Skipped until the bundled model exists.
 */
import assert from "node:assert/strict";
import { BUNDLED_MODEL_DIR, loadLlama } from "../../lib/model/load.ts";
import { getCpuOps } from "../../lib/ops/backend.ts";
import { loadSplit } from "../../lib/calib/corpus.ts";
import { evaluateLm, evaluateLogits } from "../../lib/eval/perplexity.ts";
import { openOnnxLm } from "../../lib/eval/onnx_lm.ts";
import { loadOnnx, parseOnnx } from "../../lib/onnx/load.ts";
import { quantizeOnnxLlama } from "../../lib/onnx/llama.ts";
import { exportMatMulNBits } from "../../lib/export/onnx_matmulnbits.ts";

/** The bar: perplexities within 0.5 %. */
const MAX_PPL_REL_DIFF = 0.005;
/** Windows of 256 tokens of the test split (a fixed prefix, the same for both). */
const WINDOWS = 4;

const present = await Promise.all(
  ["model.onnx", "model.safetensors"].map((f) => Deno.stat(`${BUNDLED_MODEL_DIR}/${f}`).then(() => true, () => false)),
);

Deno.test({
  name: "bundled LM as MatMulNBits (int4 b32): onnxruntime-web perplexity = ours with the same weights (0.5 %)",
  ignore: !present.every(Boolean),
  async fn() {
    const ops = await getCpuOps();
    const llama = await loadLlama(BUNDLED_MODEL_DIR, { ops });
    const onnx = await loadOnnx(`${BUNDLED_MODEL_DIR}/model.onnx`);
    const spec = { format: "int", bits: 4, groupSize: 32, symmetric: false } as const;
    const q = await quantizeOnnxLlama(onnx, llama, { recipe: "rtn", spec, ops });
    // Every linear (7 per block) and the LM head are MatMuls found by value.
    assert.equal(q.names.size, 7 * llama.config.numLayers + 1);
    assert.ok([...q.names.values()].includes("lm_head.weight"));
    const r = exportMatMulNBits(onnx, q.quantized, { fallback: "error" });
    assert.equal(parseOnnx(r.bytes).graph.node.filter((n) => n.opType === "MatMulNBits").length, q.names.size);
    assert.ok(r.bitsPerWeight > 4 && r.bitsPerWeight < 5.5, `bits/weight ${r.bitsPerWeight}`);
    const test = await loadSplit("test");
    const ours = await evaluateLm(q.model, test, { seqLen: 256, maxWindows: WINDOWS });
    const lm = await openOnnxLm(r.bytes);
    try {
      const theirs = await evaluateLogits(lm.logits, llama.config.vocabSize, test, {
        seqLen: 256,
        maxWindows: WINDOWS,
      });
      const rel = Math.abs(theirs.perplexity - ours.perplexity) / ours.perplexity;
      assert.ok(
        rel <= MAX_PPL_REL_DIFF,
        `ppl ours ${ours.perplexity} vs onnxruntime-web ${theirs.perplexity} (rel ${rel})`,
      );
    } finally {
      await lm.release();
    }
  },
});
