// SPDX-License-Identifier: MIT
/**
 * Progress of a streaming pipeline run that a person can trust: which layer and sublayer is
 * running, how long each finished layer took, elapsed time, an ETA, and the evaluation windows
 * counted. The driver emits {@link PipelineProgress} events through `onProgress`; renderers turn
 * them into a terminal display ({@link cliProgress}: one line per finished layer plus a live
 * line) or a notebook display (`notebookProgress`). Library code never prints.
 *
 * ETA: while layers run, the mean of the finished layers' seconds times the layers left (before
 * the first layer finishes: the current layer's elapsed time divided by the share of its weights
 * already quantized); while the head scores the evaluation windows, the mean seconds per window
 * times the windows left.
 *
 * @module
 */

/** Stages of a run, in order (`sublayer` and `layer` repeat per layer, `eval` per window batch). */
export type PipelineStage = "start" | "sublayer" | "layer" | "eval" | "done";

/** One progress event. */
export interface PipelineProgress {
  /** What just happened: the run started, a sublayer group started, a layer finished, windows were scored, the run ended. */
  stage: PipelineStage;
  /** Current layer (0-based); `numLayers` once every layer is done. */
  layer: number;
  /** Decoder layers of the model. */
  numLayers: number;
  /** The sublayer group running, e.g. `self_attn.q_proj+k_proj+v_proj` (stage `sublayer`). */
  sublayer?: string;
  /** Index of that group within the layer, and the number of groups. */
  group?: number;
  /** Groups per layer. */
  groups?: number;
  /** Seconds of each finished layer, in order. */
  layerSeconds: readonly number[];
  /** Seconds since the run started. */
  elapsed: number;
  /** Estimated seconds left (undefined until an estimate exists). */
  eta?: number;
  /** Evaluation windows scored so far (0 until the head runs). */
  evalWindowsDone: number;
  /** Evaluation windows of the run (0 without evaluation). */
  evalWindows: number;
}

/** Builds {@link PipelineProgress} events with elapsed time and ETA (used by the streaming driver). */
export class ProgressTracker {
  private readonly t0 = performance.now();
  private layerT0 = this.t0;
  private evalT0 = 0;
  private readonly layerSeconds: number[] = [];
  private layer = 0;
  private doneShare = 0;
  private evalDone = 0;

  /**
   * A tracker for `numLayers` decoder layers and `evalWindows` evaluation windows.
   *
   * @param numLayers decoder layers
   * @param evalWindows evaluation windows (0 for none)
   * @param emit receives each event
   */
  constructor(
    readonly numLayers: number,
    readonly evalWindows: number,
    private readonly emit: (p: PipelineProgress) => void = () => {},
  ) {}

  /** The run started. */
  start(): void {
    this.send("start");
  }

  /**
   * A sublayer group of `layer` starts.
   * @param doneShare share of the layer's weights quantized before this group (0..1)
   */
  sublayer(layer: number, name: string, group: number, groups: number, doneShare: number): void {
    if (layer !== this.layer) this.layerT0 = performance.now();
    this.layer = layer;
    this.doneShare = doneShare;
    this.send("sublayer", { sublayer: name, group, groups });
  }

  /** Layer `layer` is finished (quantized, propagated, written). */
  layerDone(layer: number): void {
    const now = performance.now();
    this.layerSeconds.push((now - this.layerT0) / 1000);
    this.layerT0 = now;
    this.layer = layer + 1;
    this.doneShare = 0;
    this.send("layer");
  }

  /** `done` evaluation windows are scored. */
  evalWindowsDone(done: number): void {
    if (this.evalT0 === 0) this.evalT0 = performance.now();
    this.evalDone = done;
    this.send("eval");
  }

  /** The evaluation head starts (its clock starts now). */
  evalStart(): void {
    this.evalT0 = performance.now();
    this.evalDone = 0;
    this.send("eval");
  }

  /** The run ended. */
  done(): void {
    this.layer = this.numLayers;
    this.send("done");
  }

  /** Seconds left: mean finished-layer time × layers left (or the share done in the first layer), then per-window evaluation time; undefined before any estimate. */
  private eta(stage: PipelineStage): number | undefined {
    if (stage === "done") return 0;
    if (this.layer >= this.numLayers) {
      if (this.evalDone === 0 || this.evalWindows === 0) return undefined;
      const perWindow = (performance.now() - this.evalT0) / 1000 / this.evalDone;
      return perWindow * (this.evalWindows - this.evalDone);
    }
    const left = this.numLayers - this.layer;
    const inLayer = (performance.now() - this.layerT0) / 1000;
    if (this.layerSeconds.length > 0) {
      const mean = this.layerSeconds.reduce((a, b) => a + b, 0) / this.layerSeconds.length;
      return Math.max(0, mean * left - inLayer);
    }
    if (this.doneShare <= 0) return undefined;
    return Math.max(0, (inLayer / this.doneShare) * left - inLayer);
  }

  /** Emits one progress event for `stage` with the current counters and ETA. */
  private send(stage: PipelineStage, extra: Partial<PipelineProgress> = {}): void {
    const eta = this.eta(stage);
    this.emit({
      stage,
      layer: this.layer,
      numLayers: this.numLayers,
      layerSeconds: [...this.layerSeconds],
      elapsed: (performance.now() - this.t0) / 1000,
      ...(eta !== undefined && { eta }),
      evalWindowsDone: this.evalDone,
      evalWindows: this.evalWindows,
      ...extra,
    });
  }
}

/** `75 s` → `1m15s`; `3725 s` → `1h02m`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * The live line of an event, e.g.
 * `layer 3/8 mlp.gate_proj+up_proj (group 3/4) | elapsed 1m12s | ETA 2m40s`.
 */
export function progressText(p: PipelineProgress): string {
  const time = `elapsed ${formatDuration(p.elapsed)} | ETA ${p.eta === undefined ? "…" : formatDuration(p.eta)}`;
  if (p.stage === "done") return `done: ${p.numLayers} layers in ${formatDuration(p.elapsed)}`;
  if (p.layer >= p.numLayers) {
    return `eval windows ${p.evalWindowsDone}/${p.evalWindows} | ${time}`;
  }
  const where = p.sublayer ? ` ${p.sublayer} (group ${(p.group ?? 0) + 1}/${p.groups ?? 1})` : "";
  return `layer ${p.layer + 1}/${p.numLayers}${where} | ${time}`;
}

/** The permanent line of a finished layer, e.g. `layer 3/8 done in 41.2s | elapsed 2m03s | ETA 3m26s`. */
export function layerDoneText(p: PipelineProgress): string {
  const s = p.layerSeconds.at(-1) ?? 0;
  return `layer ${p.layer}/${p.numLayers} done in ${s.toFixed(1)}s | elapsed ${formatDuration(p.elapsed)} | ETA ${
    p.eta === undefined ? "…" : formatDuration(p.eta)
  }`;
}

/** Something `writeSync` can write to (`Deno.stderr`). */
export interface ProgressSink {
  /** Writes some of `bytes`; returns how many were written. */
  writeSync(bytes: Uint8Array): number;
}

/**
 * A terminal renderer: one permanent line per finished layer and at the end, and a live line
 * (rewritten in place with `\r`) for sublayers and evaluation windows.
 *
 * @param sink where to write (e.g. `Deno.stderr`)
 * @param width columns of the live line
 * @returns an `onProgress` callback
 */
export function cliProgress(sink: ProgressSink, width = 100): (p: PipelineProgress) => void {
  const enc = new TextEncoder();
  const live = (s: string) => sink.writeSync(enc.encode(`\r${s.slice(0, width).padEnd(width)}`));
  const line = (s: string) => sink.writeSync(enc.encode(`\r${s.padEnd(width)}\n`));
  return (p) => {
    if (p.stage === "layer") line(layerDoneText(p));
    else if (p.stage === "done") line(progressText(p));
    else live(progressText(p));
  };
}
