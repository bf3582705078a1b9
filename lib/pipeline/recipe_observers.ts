// SPDX-License-Identifier: MIT
/**
 * Observers a recipe can name. Each maps to a `GroupObserver`: given the columns of one group
 * `[rows, n]` it returns per-row `scale`/`zero` `[rows, 1]`. GPTQ calls it when entering each
 * group (on the updated columns); RTN calls it once per group.
 *
 * @module
 */
import { type GroupObserver, minmaxObserver } from "../quant/group_params.ts";
import type { IntQuantParams } from "../ops/ops.ts";
import { mseSearch } from "../quant/mse.ts";
import type { ObserverSpec } from "./recipe_types.ts";

/** Observers by name. Extend by adding entries (the range-setting suite lives in lib/quant). */
export const RECIPE_OBSERVERS: Record<string, (spec: ObserverSpec) => GroupObserver> = {
  minmax: () => minmaxObserver,
  /** Weight-space Lp clipping search (lib/quant/mse.ts; options `grid`, `maxShrink`, `norm`). */
  mse: (o) => async (W, spec) => {
    const { kind: _, ...opts } = o;
    return (await mseSearch(W, spec, opts)).params as IntQuantParams;
  },
};

/** The observer a recipe names (min-max when absent). */
export function observerFor(spec: ObserverSpec | undefined): GroupObserver {
  if (!spec) return minmaxObserver;
  const make = RECIPE_OBSERVERS[spec.kind];
  if (!make) {
    throw new RangeError(
      `observerFor: Cannot use observer "${spec.kind}": available are ${Object.keys(RECIPE_OBSERVERS).join(", ")}`,
    );
  }
  return make(spec);
}
