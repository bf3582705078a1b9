// SPDX-License-Identifier: MIT
/**
 * Config checks of {@link parseLlamaConfig} that are not plain sizes: the fields without effect
 * on the forward pass (well-typed, or an error) and the per-layer sliding-window pattern.
 *
 * @module
 */
import type { WindowRule } from "./architectures.ts";
import { type ConfigFields, fieldError } from "./_config_fields.ts";
import type { LayerType } from "./config.ts";

const isTokenId = (v: unknown) => v === null || (typeof v === "number" && Number.isInteger(v) && v >= 0);

/**
 * Type checks of the fields that do not change the forward pass: a damaged value there is
 * still a damaged config.
 *
 * @throws UnsupportedModelError naming the field
 */
export function checkNoEffectFields(raw: Readonly<Record<string, unknown>>): void {
  for (const key of ["bos_token_id", "pad_token_id"]) {
    if (key in raw && !isTokenId(raw[key])) {
      throw fieldError(key, raw[key], "expected a token id (integer ≥ 0) or null");
    }
  }
  const eos = raw.eos_token_id;
  if ("eos_token_id" in raw && !isTokenId(eos) && !(Array.isArray(eos) && eos.every(isTokenId))) {
    throw fieldError("eos_token_id", eos, "expected a token id, a list of token ids or null");
  }
  const dropout = raw.attention_dropout;
  if ("attention_dropout" in raw && !(typeof dropout === "number" && dropout >= 0 && dropout < 1)) {
    throw fieldError("attention_dropout", dropout, "expected a number in [0, 1)");
  }
  const init = raw.initializer_range;
  if ("initializer_range" in raw && !(typeof init === "number" && Number.isFinite(init) && init >= 0)) {
    throw fieldError("initializer_range", init, "expected a finite number ≥ 0");
  }
  const tp = raw.pretraining_tp;
  if ("pretraining_tp" in raw && !(typeof tp === "number" && Number.isInteger(tp) && tp >= 1)) {
    throw fieldError("pretraining_tp", tp, "expected a positive integer");
  }
  if ("use_cache" in raw && typeof raw.use_cache !== "boolean") {
    throw fieldError("use_cache", raw.use_cache, "expected true or false");
  }
  if ("architectures" in raw && !(Array.isArray(raw.architectures) || raw.architectures === null)) {
    throw fieldError("architectures", raw.architectures, "expected a list of class names");
  }
}

/**
 * The sliding window and each layer's attention kind, as transformers derives them:
 * - `none`: no window;
 * - `all-layers` (Mistral): `sliding_window` (default 4096 when absent, null for none) on every layer;
 * - `qwen` (Qwen2/Qwen3): the window only when `use_sliding_window`, on layers ≥ `max_window_layers`
 *   unless `layer_types` lists each layer's kind (then a `sliding_attention` layer needs a window).
 *
 * @throws UnsupportedModelError naming the field
 */
export function resolveLayerTypes(
  rule: WindowRule,
  F: ConfigFields,
  numLayers: number,
): { slidingWindow: number | null; layerTypes: LayerType[] } {
  const all = (t: LayerType) => Array.from({ length: numLayers }, () => t);
  if (rule === "none") return { slidingWindow: null, layerTypes: all("full_attention") };
  if (rule === "all-layers") {
    const window = F.isNull("sliding_window") ? null : F.int("sliding_window");
    return window === null
      ? { slidingWindow: null, layerTypes: all("full_attention") }
      : { slidingWindow: window, layerTypes: all("sliding_attention") };
  }
  const use = F.bool("use_sliding_window");
  const raw = F.isNull("sliding_window") ? null : F.int("sliding_window");
  const window = use ? raw : null; // transformers: sliding_window = sliding_window if use_sliding_window else None
  if (use && window === null) {
    throw fieldError("sliding_window", null, "use_sliding_window is true but no window is set");
  }
  const maxWindowLayers = F.int("max_window_layers", { min: 0 });
  const given = F.get("layer_types");
  let layerTypes: LayerType[];
  if (given === undefined) {
    layerTypes = Array.from(
      { length: numLayers },
      (_, i) => (window !== null && i >= maxWindowLayers ? "sliding_attention" : "full_attention"),
    );
  } else {
    if (!Array.isArray(given) || given.length !== numLayers) {
      throw fieldError("layer_types", given, `expected a list of ${numLayers} entries (num_hidden_layers)`);
    }
    const bad = given.findIndex((t) => t !== "full_attention" && t !== "sliding_attention");
    if (bad >= 0) {
      throw fieldError(`layer_types[${bad}]`, given[bad], `expected "full_attention" or "sliding_attention"`);
    }
    layerTypes = given as LayerType[];
    if (window === null && layerTypes.includes("sliding_attention")) {
      throw fieldError("layer_types", given, "a layer uses sliding_attention but use_sliding_window is false");
    }
  }
  return { slidingWindow: layerTypes.includes("sliding_attention") ? window : null, layerTypes };
}
