// SPDX-License-Identifier: MIT
/**
 * The quantization pipeline: recipes (`transforms → observer → reconstruction → format`), the
 * in-memory drivers (`applyRecipe`, `sequentialQuantize`, `rtnModel`, `quantizeModelWeights`)
 * and the streaming layer-by-layer driver {@link quantizeStreaming} for checkpoints larger than
 * memory, with sharded checkpoint writers and progress events (ETA, per-layer seconds) for the
 * terminal and notebooks.
 *
 * @example Stream a checkpoint through GPTQ, writing the fake-quant layout
 * ```ts ignore
 * import { cliProgress, createCheckpointWriter, getRecipe, openLlamaCheckpoint, quantizeStreaming } from "../../mod.ts";
 * using ckpt = await openLlamaCheckpoint("path/to/checkpoint");
 * const writer = await createCheckpointWriter("out/fake_quant", ckpt);
 * const r = await quantizeStreaming(ckpt, getRecipe("GPTQ"), {
 *   format: "int4-g128-asym", calibration: ids, seqLen: 512, writers: [writer],
 *   evaluation: { ids: testIds, seqLen: 512, windows: 16 }, onProgress: cliProgress(Deno.stderr),
 * });
 * console.log(r.bitsPerWeight, r.evaluation?.quantized.perplexity, r.evaluation?.referencePerplexity);
 * ```
 *
 * @module
 */
export * from "./recipes.ts";
export * from "./rtn_model.ts";
export * from "./quantize_model.ts";
export * from "./sequential.ts";
export {
  blockLinearInputs,
  type HiddenBatches,
  propagateBlock,
  quantizeBlock,
  type QuantizeBlockOptions,
  type QuantizeBlockResult,
} from "./block.ts";
export * from "./activations.ts";
export * from "./batching.ts";
export * from "./streaming.ts";
// EvalStream is the streaming driver's internal carrier (it scores through a private StoredMatrix).
export { MAX_HEAD_VALUES, type StreamingEvalResult, type StreamingEvaluation } from "./stream_eval.ts";
export * from "./writer.ts";
export * from "./progress.ts";
export * from "./progress_notebook.ts";
// The writer's options name these export types; re-exported so the public API is self-contained.
export type { GptqCheckpointFormat } from "../export/_gptq_layout.ts";
export type { GptqProvenance } from "../export/hf_gptq_config.ts";
