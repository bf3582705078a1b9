// SPDX-License-Identifier: MIT
/**
 * Typed readers of config.json fields with ranges, for {@link parseLlamaConfig}. Every failure is
 * an {@link UnsupportedModelError} naming the field, its value and the accepted range.
 *
 * @module
 */
import type { RopeScaling } from "./rope.ts";

/** Thrown for a config quantlab cannot run; the message names the field and what is supported. */
export class UnsupportedModelError extends TypeError {
  /** Error name. */
  override name = "UnsupportedModelError";
}

/** Largest integer a size field may hold (tensor dims are addressed with 32-bit offsets). */
export const MAX_SIZE = 2 ** 31 - 1;

/** A raw config object with the architecture's defaults behind it; `null` counts as absent unless kept. */
export class ConfigFields {
  /** Fields of config.json over the architecture's defaults. */
  constructor(
    private readonly raw: Readonly<Record<string, unknown>>,
    private readonly defaults: Readonly<Record<string, unknown>>,
  ) {}

  /** The field's value, or the default when absent (or null). */
  get(key: string): unknown {
    const v = this.raw[key];
    return v === undefined || v === null ? this.defaults[key] : v;
  }

  /** True when config.json sets the field to null explicitly (e.g. `"sliding_window": null`). */
  isNull(key: string): boolean {
    return this.raw[key] === null;
  }

  /** A finite number in (min, max) (exclusive bounds where stated). */
  number(key: string, range: { gt?: number; lt?: number; fallback?: number }): number {
    const v = this.get(key) ?? range.fallback;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw fieldError(key, v, "expected a finite number");
    }
    if ((range.gt !== undefined && !(v > range.gt)) || (range.lt !== undefined && !(v < range.lt))) {
      const lo = range.gt !== undefined ? `> ${range.gt}` : "", hi = range.lt !== undefined ? `< ${range.lt}` : "";
      throw fieldError(key, v, `expected a number ${[lo, hi].filter(Boolean).join(" and ")}`);
    }
    return v;
  }

  /** An integer in [min, MAX_SIZE] (min 1 by default). */
  int(key: string, options: { min?: number; fallback?: number } = {}): number {
    const v = this.get(key) ?? options.fallback, min = options.min ?? 1;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > MAX_SIZE) {
      throw fieldError(key, v, `expected an integer in [${min}, ${MAX_SIZE}]`);
    }
    return v;
  }

  /** A boolean (default `fallback`). */
  bool(key: string, fallback = false): boolean {
    const v = this.get(key) ?? fallback;
    if (typeof v !== "boolean") throw fieldError(key, v, "expected true or false");
    return v;
  }
}

/** An {@link UnsupportedModelError} for config field `key` holding `value`. */
export function fieldError(key: string, value: unknown, why: string): UnsupportedModelError {
  return new UnsupportedModelError(`parseLlamaConfig: Cannot use config field "${key}" = ${show(value)}: ${why}`);
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

const ROPE_KEYS: Readonly<Record<string, readonly string[]>> = {
  default: [],
  linear: ["factor"],
  llama3: ["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"],
};

/**
 * Parses a transformers `rope_scaling` object (or the scaling part of v5 `rope_parameters`).
 * Types `default`, `linear` and `llama3` are supported; every other type, unknown key or
 * out-of-range value is an error naming `field`.
 *
 * @param value the object (null/undefined: plain RoPE)
 * @param field the config field it came from, for messages
 * @returns the scaling, or null for plain RoPE
 * @throws UnsupportedModelError naming the field
 */
export function parseRopeScaling(value: unknown, field: string): RopeScaling | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "object" || Array.isArray(value)) throw fieldError(field, value, "expected an object or null");
  const o = value as Record<string, unknown>;
  if (o.type !== undefined && o.rope_type !== undefined && o.type !== o.rope_type) {
    throw fieldError(field, value, `"type" and "rope_type" disagree`);
  }
  const type = o.rope_type ?? o.type ?? "default";
  const keys = typeof type === "string" ? ROPE_KEYS[type] : undefined;
  if (!keys) {
    throw fieldError(
      field,
      value,
      `rope type ${show(type)} is not supported (supported: ${Object.keys(ROPE_KEYS).join(", ")})`,
    );
  }
  for (const k of Object.keys(o)) {
    if (k !== "type" && k !== "rope_type" && k !== "rope_theta" && !keys.includes(k)) {
      throw fieldError(`${field}.${k}`, o[k], `not a parameter of rope type "${type}" (expected ${keys.join(", ")})`);
    }
  }
  const sub = new ConfigFields(o, {});
  const num = (k: string, gt: number) => {
    try {
      return sub.number(k, { gt });
    } catch {
      throw fieldError(`${field}.${k}`, o[k], `expected a finite number > ${gt}`);
    }
  };
  if (type === "default") return null;
  if (type === "linear") return { type, factor: num("factor", 0) };
  const lowFreqFactor = num("low_freq_factor", 0), highFreqFactor = num("high_freq_factor", 0);
  if (!(highFreqFactor > lowFreqFactor)) {
    throw fieldError(`${field}.high_freq_factor`, highFreqFactor, `must exceed low_freq_factor ${lowFreqFactor}`);
  }
  const omp = o.original_max_position_embeddings;
  if (typeof omp !== "number" || !Number.isInteger(omp) || omp < 1 || omp > MAX_SIZE) {
    throw fieldError(`${field}.original_max_position_embeddings`, omp, "expected a positive integer");
  }
  return { type: "llama3", factor: num("factor", 0), lowFreqFactor, highFreqFactor, originalMaxPositions: omp };
}
