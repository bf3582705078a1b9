// SPDX-License-Identifier: MIT
/**
 * The streaming layer-by-layer pipeline: GPTQ's `llama_sequential` over a checkpoint that need
 * not fit in memory. Per decoder layer l, only layer l's tensors are read (in their stored dtype,
 * converted to f32), the layer is quantized group by group on the calibration hidden states
 * coming out of the already-quantized layers (the same {@link quantizeBlock} as the in-memory
 * driver, so the codes are identical), the calibration and evaluation hidden states are
 * advanced through it, the quantized layer goes to the writers, and everything of layer l is
 * dropped before layer l+1 is read.
 *
 * Resident at any time (the memory formula; bytes, f32 = 4, activations a = 4 for f32 or 2):
 * - calibration hidden states `a·N·T·d` (N sequences of T tokens), plus the FP copy for QEP;
 * - evaluation hidden states `2·a·W·T_e·d` (FP and quantized streams of W windows);
 * - one layer in f32, twice (FP and quantized): `8·P_layer`, plus the packed codes;
 * - one group's Hessians `8·k·n²` (n the group's input width, k copies) and the reconstruction's
 *   work space (GPTQ: a few `n²` f64/f32 arrays);
 * - one block call: `b` sequences of activations (attention scores `4·b·H·T²`, MLP `12·b·T·ffn`);
 * - the embedding matrix only while embedding, the head (`4·V·d`) and one chunk of logits only
 *   while scoring.
 * Nothing of it grows with the number of layers.
 *
 * Recipes with model-wide transforms (Hadamard rotation, AWQ) rewrite several layers at once;
 * they are refused here with a message ({@link StreamingUnsupportedError}): run them in memory
 * (`loadLlama` + `applyRecipe`) when the model fits.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import { getCpuOps } from "../ops/backend.ts";
import { formatId, type IntSpec, parseFormatId } from "../quant/spec.ts";
import { type QuantizedTensor, storageBits } from "../quant/quantized_tensor.ts";
import { LlamaModel } from "../model/llama.ts";
import type { LlamaCheckpoint } from "../model/load.ts";
import type { LlamaConfig } from "../model/config.ts";
import { mse, sqnr } from "../calib/metrics.ts";
import { blockLinearInputs, llamaSequentialGroups, propagateBlock, quantizeBlock } from "./block.ts";
import { type ActivationDType, ActivationStore } from "./activations.ts";
import { type LayerOutcome, recipeLayerQuantizer } from "./recipe_layer.ts";
import { type Recipe, recipeNeedsCalibration } from "./recipe_types.ts";
import type { RecipeLayerRow } from "./recipes.ts";
import { type PipelineProgress, ProgressTracker } from "./progress.ts";
import { EvalStream, type StreamingEvalResult, type StreamingEvaluation } from "./stream_eval.ts";
import type { LayerWriter } from "./writer.ts";
import { blockBatchSize } from "./batching.ts";
import { StoredMatrix } from "./_stored_matrix.ts";

/** Thrown for a recipe the streaming driver cannot run layer by layer. */
export class StreamingUnsupportedError extends RangeError {
  /** Error name. */
  override name = "StreamingUnsupportedError";
}

/** Options of {@link quantizeStreaming}. */
export interface StreamingOptions {
  /** Calibration ids `[N·seqLen]` (required by recipes with Hessians; ignored by RTN/SINQ recipes). */
  calibration?: ArrayLike<number>;
  /** Tokens per calibration sequence (default 256). */
  seqLen?: number;
  /** Format id or spec; overrides `recipe.format` (one of the two is required). */
  format?: IntSpec | string;
  /** Backend (default `getCpuOps()`). */
  ops?: Ops;
  /** Sequences per block call (default {@link blockBatchSize}: activations of one call within a budget). */
  batchSize?: number;
  /** Storage of the kept hidden states (default `f32`: results equal the in-memory driver's). */
  activations?: ActivationDType;
  /** Evaluation windows scored in the same pass (FP and quantized). */
  evaluation?: StreamingEvaluation;
  /** Receive each finished layer (e.g. `createCheckpointWriter`); a writer that fails is aborted and reported. */
  writers?: LayerWriter[];
  /** Progress events (layers, sublayers, ETA, evaluation windows). */
  onProgress?: (p: PipelineProgress) => void;
}

/** Result of {@link quantizeStreaming}. */
export interface StreamingResult {
  /** The recipe applied. */
  recipe: Recipe;
  /** Format id used. */
  format: string;
  /** The format as a spec. */
  spec: IntSpec;
  /** One row per linear, in quantization order (weights compared with the FP weights). */
  layers: RecipeLayerRow[];
  /** Bits per weight over all decoder linears (scales, zeros and LoRC factors included). */
  bitsPerWeight: number;
  /** Seconds of each decoder layer (quantize, propagate, write). */
  layerSeconds: number[];
  /** Wall seconds of the whole run. */
  seconds: number;
  /** Sequences per block call used. */
  batchSize: number;
  /** The streamed evaluation, when asked for. */
  evaluation?: StreamingEvalResult;
  /** Directories written by the writers that finished. */
  written: string[];
  /** Writers that failed (and were aborted), with the reason. */
  skippedWriters: { name: string; reason: string }[];
}

/** Linear names of block l whose quantized form goes to the writers, with their group. */
function layerGroups(layer: number): string[][] {
  return llamaSequentialGroups(layer);
}

/** Parameters of a block's linears, per name (for progress shares). */
function linearSizes(ckpt: LlamaCheckpoint, groups: string[][]): Map<string, number> {
  const m = new Map<string, number>();
  for (const n of groups.flat()) {
    const s = ckpt.shapes.get(`${n}.weight`) as readonly number[];
    m.set(n, (s[0] as number) * (s[1] as number));
  }
  return m;
}

/** A model holding only `weights` (a block, the embeddings or the head). */
function partialModel(config: LlamaConfig, weights: Map<string, Tensor<"f32">>, ops: Ops, dir: string): LlamaModel {
  return new LlamaModel(config, weights, ops, dir);
}

/**
 * Quantizes a checkpoint with a recipe, streaming it layer by layer (see the module doc).
 *
 * @param ckpt an opened checkpoint (`openLlamaCheckpoint(dir)`)
 * @param recipe a recipe without model-wide transforms
 * @param options `calibration`, `seqLen`, `format`, `ops`, `batchSize`, `activations`, `evaluation`, `writers`, `onProgress`
 * @returns per-linear rows, bits per weight, per-layer seconds, the evaluation and what was written
 * @throws {StreamingUnsupportedError} for recipes with transforms; {@link RangeError} for missing calibration data,
 *   a format, or a bad seqLen/batch size
 */
export async function quantizeStreaming(
  ckpt: LlamaCheckpoint,
  recipe: Recipe,
  options: StreamingOptions = {},
): Promise<StreamingResult> {
  const fn = "quantizeStreaming";
  const t0 = performance.now();
  const config = ckpt.config;
  if ((recipe.transforms ?? []).length > 0) {
    throw new StreamingUnsupportedError(
      `${fn}: Cannot stream recipe "${recipe.name}": its transforms (${
        recipe.transforms!.map((t) => t.kind).join(", ")
      }) change several layers at once; load the model with loadLlama and use applyRecipe (it must fit in memory)`,
    );
  }
  const fmt = options.format ?? recipe.format;
  if (fmt === undefined) throw new RangeError(`${fn}: Cannot apply recipe "${recipe.name}": no format given`);
  const spec = typeof fmt === "string" ? parseFormatId(fmt) : fmt;
  const ops = options.ops ?? getCpuOps();
  const seqLen = options.seqLen ?? 256;
  const calibrated = recipeNeedsCalibration(recipe);
  const calib = calibrated ? options.calibration : undefined;
  if (calibrated && (!calib || calib.length === 0)) {
    throw new RangeError(
      `${fn}: Cannot apply recipe "${recipe.name}": it needs calibration data (options.calibration)`,
    );
  }
  if (calib && (!Number.isInteger(seqLen) || seqLen < 1 || calib.length % seqLen !== 0)) {
    throw new RangeError(
      `${fn}: Cannot split ${calib.length} calibration ids into sequences of ${seqLen}: length must be a positive multiple of seqLen`,
    );
  }
  for (const T of [calib ? seqLen : 0, options.evaluation?.seqLen ?? 0]) {
    if (T > config.maxPositions) {
      throw new RangeError(
        `${fn}: Cannot run seqLen ${T}: the model supports at most ${config.maxPositions} positions`,
      );
    }
  }
  const batchSize = options.batchSize ?? blockBatchSize(config, seqLen);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`${fn}: Cannot use batchSize ${batchSize}: expected a positive integer`);
  }
  const dtype = options.activations ?? "f32";
  const d = config.hiddenSize;
  const evalStream = options.evaluation
    ? new EvalStream(
      options.evaluation,
      d,
      dtype,
      options.batchSize ?? blockBatchSize(config, options.evaluation.seqLen),
    )
    : undefined;
  const tracker = new ProgressTracker(config.numLayers, evalStream?.windows ?? 0, options.onProgress);
  tracker.start();
  let writers = [...(options.writers ?? [])];
  const skippedWriters: { name: string; reason: string }[] = [];
  const toWriters = async (call: (w: LayerWriter) => Promise<void>) => {
    for (const w of writers) {
      try {
        await call(w);
      } catch (e) {
        skippedWriters.push({ name: w.name, reason: (e as Error).message });
        await w.abort();
        writers = writers.filter((x) => x !== w);
      }
    }
  };

  try {
    // Embedding phase: the matrix is resident only here (and again for a tied head).
    const calibStore = new ActivationStore(dtype, d);
    const qep = recipe.qep !== undefined;
    let fpCalib: ActivationStore | undefined;
    {
      // Embedding rows are widened one by one from the stored dtype: no [V, d] f32 copy.
      const E = new StoredMatrix(await ckpt.files.readRaw("model.embed_tokens.weight"));
      if (calib) {
        const rows = batchSize * seqLen;
        for (let r0 = 0; r0 < calib.length; r0 += rows) {
          const n = Math.min(calib.length, r0 + rows) - r0;
          calibStore.push(E.embed(Int32Array.from({ length: n }, (_, i) => calib[r0 + i] as number)));
        }
        if (qep) fpCalib = calibStore.clone();
      }
      if (evalStream) { for (const ids of evalStream.batches()) evalStream.pushEmbedded(E.embed(ids)); }
    }

    const quantizeLayer = recipeLayerQuantizer(recipe, spec, { ops });
    const rows: RecipeLayerRow[] = [];
    const layerSeconds: number[] = [];
    let bits = 0, count = 0;
    for (let l = 0; l < config.numLayers; l++) {
      const tl = performance.now();
      const groups = layerGroups(l);
      const sizes = linearSizes(ckpt, groups);
      const layerParams = [...sizes.values()].reduce((a, b) => a + b, 0);
      let doneParams = 0;
      const groupName = (g: readonly string[]) =>
        g.map((n, i) => (i === 0 ? n.replace(`model.layers.${l}.`, "") : n.split(".").at(-1))).join("+");
      const startGroup = (g: number, group: readonly string[]) => {
        tracker.sublayer(l, groupName(group), g, groups.length, doneParams / layerParams);
        for (const n of group) doneParams += sizes.get(n) as number;
      };
      // FP weights of the block; each linear's entry is dropped once it is quantized (unless QEP still needs it).
      const fpWeights = await ckpt.readPrefix(`model.layers.${l}.`);
      const fpModel = partialModel(config, fpWeights, ops, ckpt.dir);
      if (evalStream) await evalStream.advanceReference(l, fpModel, ops);
      const release = (group: readonly string[]) => {
        if (!qep) { for (const n of group) fpWeights.delete(`${n}.weight`); }
      };
      const outcomes = new Map<string, LayerOutcome>();
      const layerRows: { name: string; rows: number; cols: number; mse: number; sqnr: number }[] = [];
      let qModel: LlamaModel;
      if (calib) {
        const r = await quantizeBlock(fpModel, l, calibStore, seqLen, quantizeLayer, {
          ops,
          groups,
          onGroupStart: startGroup,
          onGroup: (_g, group) => release(group),
          ...(fpCalib && {
            linearInputs: (names, source, current) =>
              source === "reference"
                ? blockLinearInputs(fpModel, l, fpCalib!, seqLen, names, { ops })
                : blockLinearInputs(current, l, calibStore, seqLen, names, { ops }),
          }),
        });
        qModel = r.model;
        for (const [n, o] of r.results) outcomes.set(n, o);
        layerRows.push(...r.rows);
        await propagateBlock(qModel, l, calibStore, seqLen, { ops });
        if (fpCalib) await propagateBlock(fpModel, l, fpCalib, seqLen, { ops });
      } else {
        const overrides = new Map<string, Tensor<"f32">>();
        for (const [g, group] of groups.entries()) {
          startGroup(g, group);
          for (const n of group) {
            const W = fpWeights.get(`${n}.weight`) as Tensor<"f32">;
            const o = await quantizeLayer(n, W, undefined);
            const [rows, cols] = W.shape as [number, number];
            layerRows.push({ name: n, rows, cols, mse: mse(W, o.weight), sqnr: sqnr(W, o.weight) });
            outcomes.set(n, o);
            overrides.set(`${n}.weight`, o.weight);
          }
          release(group);
        }
        const kept = new Map(fpWeights);
        for (const [n, w] of overrides) kept.set(n, w);
        qModel = partialModel(config, kept, ops, ckpt.dir);
      }
      if (evalStream) await evalStream.advanceQuantized(l, qModel, ops);
      const weights = new Map<string, Tensor<"f32">>();
      const quantized = new Map<string, QuantizedTensor>();
      for (const row of layerRows) {
        const o = outcomes.get(row.name) as LayerOutcome;
        const b = storageBits(o.quantized) + o.extraBits;
        bits += b;
        count += row.rows * row.cols;
        rows.push({
          name: row.name,
          rows: row.rows,
          cols: row.cols,
          mse: row.mse,
          sqnr: row.sqnr,
          bitsPerWeight: b / (row.rows * row.cols),
        });
        weights.set(`${row.name}.weight`, o.weight);
        quantized.set(row.name, o.quantized);
      }
      await toWriters((w) => w.writeLayer({ layer: l, weights, quantized }));
      layerSeconds.push((performance.now() - tl) / 1000);
      tracker.layerDone(l);
    }

    let evaluation: StreamingEvalResult | undefined;
    if (evalStream) {
      const headName = config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
      const norm = await ckpt.read("model.norm.weight");
      const head = new StoredMatrix(await ckpt.files.readRaw(headName));
      tracker.evalStart();
      evaluation = await evalStream.score(config, norm, head, ops, (done) => tracker.evalWindowsDone(done));
    }
    await toWriters((w) => w.finish());
    tracker.done();
    return {
      recipe,
      format: formatId(spec),
      spec,
      layers: rows,
      bitsPerWeight: bits / count,
      layerSeconds,
      seconds: (performance.now() - t0) / 1000,
      batchSize,
      ...(evaluation && { evaluation }),
      written: writers.map((w) => w.dir),
      skippedWriters,
    };
  } catch (e) {
    for (const w of writers) await w.abort();
    throw e;
  }
}
