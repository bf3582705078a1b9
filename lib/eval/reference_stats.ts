// SPDX-License-Identifier: MIT
/**
 * Compact per-token statistics of a reference model's next-token distributions, so that many
 * candidate models can be compared with one reference pass without keeping its logits
 * (64 windows × 512 tokens × 32k vocab of f32 logits is 4 GB; these stats are
 * `(12k + 16)` bytes per token, independent of the vocabulary).
 *
 * Per prediction it keeps the reference's top-k ids and log-probs `p_j` (ties: smaller id
 * first, so the first id is the argmax `evaluateLm` uses), and its tail mass
 * `P = Σ_{j∉K} p_j`. With the candidate's full distribution `q` the KL becomes
 *
 *   KL_k = Σ_{j∈K} p_j (log p_j − log q_j) + P (log P − log Q),   Q = Σ_{j∉K} q_j,
 *
 * the KL of the two distributions with the tail merged into one outcome. By the log-sum
 * inequality `0 ≤ KL − KL_k = P · KL(p_tail/P ‖ q_tail/Q)`: KL_k is a lower bound, exact when the
 * reference puts no mass outside its top k (k = vocab gives the exact KL), and off by at most the
 * tail mass times the tail's own divergence. `evaluateLm` reports the mean tail mass
 * (`klTailMass`) beside it. Top-1 agreement is exact.
 *
 * @module
 */

/** A reference pass's compact statistics (see the module doc). */
export interface ReferenceStats {
  /** Kept ids per prediction. */
  k: number;
  /** Window length the stats were recorded with. */
  seqLen: number;
  /** Windows recorded. */
  windows: number;
  /** Hash of the evaluated tokens (a candidate must be evaluated on the same ones). */
  tokensHash: string;
  /** Top-k ids `[predictions·k]`, most probable first. */
  ids: Int32Array;
  /** Their log-probabilities `[predictions·k]`. */
  logp: Float64Array;
  /** Reference probability outside the top k `[predictions]`. */
  tail: Float64Array;
}

/**
 * Bytes a {@link ReferenceStats} holds.
 *
 * @param s the stats
 * @returns the byte length of its arrays
 */
export function referenceStatsBytes(s: ReferenceStats): number {
  return s.ids.byteLength + s.logp.byteLength + s.tail.byteLength;
}

/**
 * Allocates stats for `windows` windows.
 *
 * @param k kept ids per prediction (≥ 1)
 * @param seqLen window length
 * @param windows number of windows
 * @param tokensHash hash of the evaluated tokens
 * @returns zeroed stats
 * @throws {RangeError} when k < 1
 */
export function allocReferenceStats(k: number, seqLen: number, windows: number, tokensHash: string): ReferenceStats {
  if (!(Number.isInteger(k) && k >= 1)) {
    throw new RangeError(`allocReferenceStats: Cannot keep top-${k}: k must be an integer ≥ 1`);
  }
  const P = windows * (seqLen - 1);
  return {
    k,
    seqLen,
    windows,
    tokensHash,
    ids: new Int32Array(P * k),
    logp: new Float64Array(P * k),
    tail: new Float64Array(P),
  };
}

/**
 * Records prediction `r` from a reference log-softmax row `lp` `[V]`.
 *
 * @param s the stats to fill
 * @param r prediction index
 * @param lp the reference's log-probabilities `[V]`
 */
export function recordReferenceRow(s: ReferenceStats, r: number, lp: Float64Array): void {
  const { k } = s, V = lp.length, kk = Math.min(k, V), off = r * k;
  const ids = s.ids, logp = s.logp;
  let n = 0; // insertion into a sorted top-k (descending, ties keep the smaller id first)
  for (let j = 0; j < V; j++) {
    const v = lp[j]!;
    if (n === kk && !(v > logp[off + n - 1]!)) continue;
    let i = n < kk ? n++ : n - 1;
    while (i > 0 && v > logp[off + i - 1]!) {
      ids[off + i] = ids[off + i - 1]!;
      logp[off + i] = logp[off + i - 1]!;
      i--;
    }
    ids[off + i] = j;
    logp[off + i] = v;
  }
  for (let i = kk; i < k; i++) { // vocab smaller than k: pad with zero-probability entries
    ids[off + i] = -1;
    logp[off + i] = -Infinity;
  }
  let inK = 0;
  for (let i = 0; i < kk; i++) inK += Math.exp(logp[off + i]!);
  s.tail[r] = Math.max(0, 1 - inK);
}

/**
 * KL_k(reference ‖ candidate) of prediction `r` (see the module doc) and whether the argmaxes agree.
 *
 * @param s the reference stats
 * @param r prediction index
 * @param lq the candidate's log-probabilities `[V]`
 * @param candidateArgmax argmax of `lq`
 * @returns the tail-merged KL and top-1 agreement
 */
export function klFromStats(
  s: ReferenceStats,
  r: number,
  lq: Float64Array,
  candidateArgmax: number,
): { kl: number; agree: boolean } {
  const { k } = s, off = r * k;
  let kl = 0, qK = 0;
  for (let i = 0; i < k; i++) {
    const id = s.ids[off + i]!;
    if (id < 0) continue;
    const lp = s.logp[off + i]!, lqj = lq[id]!;
    qK += Math.exp(lqj);
    kl += Math.exp(lp) * (lp - lqj);
  }
  const P = s.tail[r]!;
  if (P > 0) kl += P * (Math.log(P) - Math.log(Math.max(1 - qK, Number.MIN_VALUE)));
  return { kl, agree: s.ids[off] === candidateArgmax };
}

/**
 * Two 32-bit hashes of a token range (the evaluated windows), as a string key.
 *
 * @param tokens the token stream
 * @param n number of leading tokens hashed
 * @returns the hash
 */
export function hashTokens(tokens: ArrayLike<number>, n: number): string {
  let a = n | 0, b = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 31) + (tokens[i] as number)) | 0;
    b = Math.imul(b ^ (tokens[i] as number), 0x85ebca6b) | 0;
  }
  return `${n}:${a >>> 0}:${b >>> 0}`;
}
