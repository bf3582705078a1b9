// SPDX-License-Identifier: MIT
/**
 * GPTQ's preconditioning of the Hessian, shared by GPTQ and the oracles: dead columns, relative
 * damping with automatic escalation, and `Hinv`, the upper Cholesky factor of H⁻¹, in f64.
 *
 * `Hinv` without forming H⁻¹: with J the reversal permutation and `J·H·J = L·Lᵀ` (lower),
 * `U = J·L⁻¹·J` is upper triangular with a positive diagonal and `Uᵀ·U = J·(L·Lᵀ)⁻¹·J = H⁻¹`,
 * so U is the upper Cholesky factor of H⁻¹ — the matrix GPTQ gets from
 * `cholesky(cholesky_inverse(cholesky(H)), upper=True)`, at one Cholesky plus one triangular
 * inverse (2n³/3 flops instead of 4n³/3) and without squaring the condition number.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import type { Ops } from "../ops/ops.ts";
import { NotPositiveDefiniteError } from "../linalg/errors.ts";
import type { Workspace } from "../ops/workspace.ts";

/** Default damping relative to mean(diag H) (GPTQ's `percdamp`). */
export const DEFAULT_DAMP_RATIO = 0.01;
/** Default number of factorization attempts; each retry multiplies the damping by 10. */
export const DEFAULT_DAMP_TRIES = 3;

/** The preconditioned Hessian of one layer. */
export interface PreparedHessian {
  /** f64 `[n, n]` upper Cholesky factor of (H + damp·I)⁻¹, in the requested column order. */
  Hinv: Tensor<"f64">;
  /** Columns whose H_jj was 0 (dead inputs), in original indices. */
  dead: Int32Array;
  /** Damping ratio that succeeded (dampRatio·10^k). */
  dampRatio: number;
  /** Absolute damping added to the diagonal. */
  damp: number;
}

/** Options of {@link prepareHessian}. */
export interface PrepareOptions {
  ops: Ops;
  /** Column order (a permutation of 0..n−1); default natural. */
  order?: Int32Array;
  /** Damping relative to mean(diag H); default {@link DEFAULT_DAMP_RATIO}. */
  dampRatio?: number;
  /** Factorization attempts (×10 damping each retry); default {@link DEFAULT_DAMP_TRIES}. */
  dampTries?: number;
  /** Function name for error messages. */
  fn?: string;
  /**
   * Scratch arena: the n² f64 working matrix (and so the returned `Hinv`) lives in its slot
   * "hinv.m", valid until the workspace's next use of that slot. Default: a fresh array.
   */
  workspace?: Workspace;
}

/**
 * Dead columns, damping with escalation, and the upper Cholesky factor of H⁻¹ (f64, CPU).
 *
 * @param H f64 `[n, n]` symmetric Hessian (e.g. 2XᵀX/N); not modified
 * @returns `Hinv` f64 `[n, n]` in the permuted order `order`, the dead columns and the damping used
 * @throws {NotPositiveDefiniteError} when every attempt fails (hint names the damping tried),
 *   or when a diagonal entry is negative
 */
export async function prepareHessian(H: Tensor<"f64">, options: PrepareOptions): Promise<PreparedHessian> {
  const fn = options.fn ?? "prepareHessian";
  const n = H.shape[0] as number;
  const ratio0 = options.dampRatio ?? DEFAULT_DAMP_RATIO;
  const tries = options.dampTries ?? DEFAULT_DAMP_TRIES;
  if (!(ratio0 >= 0) || !Number.isFinite(ratio0)) {
    throw new RangeError(`${fn}: Cannot damp with dampRatio ${ratio0}: expected a finite value >= 0`);
  }
  if (!Number.isInteger(tries) || tries < 1) {
    throw new RangeError(`${fn}: Cannot use dampTries ${tries}: expected an integer >= 1`);
  }
  const h = H.data;
  const dead: number[] = [];
  let diagSum = 0;
  for (let j = 0; j < n; j++) {
    const d = h[j * n + j] as number;
    if (!Number.isFinite(d)) {
      throw new RangeError(`${fn}: Cannot use H of shape [${n}, ${n}]: H[${j}, ${j}] is ${d} (NaN/Inf not allowed)`);
    }
    if (d < 0) {
      throw new NotPositiveDefiniteError(fn, n, j, d, "a Hessian has a non-negative diagonal; check how H was built");
    }
    // Dead input (never active in calibration): H_jj = 1 so the factorization exists; W[:, j] = 0 by the caller.
    if (d === 0) dead.push(j);
    diagSum += d === 0 ? 1 : d;
  }
  const meanDiag = diagSum / n;
  const order = options.order;
  const isDead = new Uint8Array(n);
  for (const j of dead) isDead[j] = 1;
  // M = J·P·H·Pᵀ·J: permuted by `order`, then reversed; position a holds column order[n−1−a].
  const src = new Int32Array(n);
  for (let a = 0; a < n; a++) src[a] = order ? (order[n - 1 - a] as number) : n - 1 - a;
  const tried: number[] = [];
  let last: NotPositiveDefiniteError | undefined;
  // One n² f64 buffer serves M, L, L⁻¹ and U in turn (the backends factor and invert in place
  // when allowed): at n = 4096 each fresh 128 MiB array costs more in page faults than dtrtri.
  const M = new Tensor("f64", [n, n], options.workspace ? options.workspace.f64("hinv.m", n * n) : undefined);
  const m = M.data;
  for (let k = 0; k < tries; k++) {
    const dampRatio = ratio0 * 10 ** k;
    const damp = dampRatio * meanDiag;
    tried.push(dampRatio);
    for (let a = 0; a < n; a++) {
      const ra = (src[a] as number) * n;
      const oa = a * n;
      for (let b = 0; b <= a; b++) m[oa + b] = h[ra + (src[b] as number)] as number;
      const ja = src[a] as number;
      m[oa + a] = (isDead[ja] ? 1 : (h[ra + ja] as number)) + damp;
      m.fill(0, oa + a + 1, oa + n); // upper triangle: unread by the factorization, zero for the ts one
    }
    let L: Tensor<"f64">;
    try {
      L = await options.ops.cholesky(M, { overwrite: true });
    } catch (e) {
      if (!(e instanceof NotPositiveDefiniteError)) throw e;
      last = e;
      if (ratio0 === 0) break; // escalating zero damping changes nothing
      continue;
    }
    const Linv = await options.ops.triangularInverse(L, { lower: true, overwrite: true });
    // U[i, j] = Linv[n−1−i, n−1−j]: a point reflection of the matrix, which maps the lower
    // triangle onto the upper one; done in place when the backend inverted in M's memory.
    const U = Linv.data === m ? m : new Float64Array(n * n);
    const li = Linv.data;
    const last2 = n * n - 1;
    if (U === li) {
      for (let p = 0; p < (n * n) >> 1; p++) {
        const t = li[p] as number;
        li[p] = li[last2 - p] as number;
        li[last2 - p] = t;
      }
    } else {
      for (let p = 0; p <= last2; p++) U[p] = li[last2 - p] as number;
    }
    return { Hinv: new Tensor("f64", [n, n], U), dead: Int32Array.from(dead), dampRatio, damp };
  }
  throw new NotPositiveDefiniteError(
    fn,
    n,
    last ? (src[last.pivot] as number) : 0, // report the original column
    last ? last.value : NaN,
    `increase dampRatio (tried ${tried.join(", ")} × mean(diag H) = ${
      Number(meanDiag.toPrecision(4))
    }); H may be indefinite — check the calibration inputs`,
  );
}
