// SPDX-License-Identifier: MIT
/**
 * Generates the non-power-of-two Hadamard factors H_m stored in `data/hadamard/` (one `+`/`-`
 * string per row), from classical constructions — Sloane's library, which QuaRot's
 * `hadamard_utils.py` copies, cannot be downloaded here, and a construction is its own
 * provenance:
 *
 * - **Paley I** (Paley 1933): q ≡ 3 (mod 4) a prime power, order q + 1:
 *   `H = I + [[0, 1ᵀ], [−1, Q]]` with the Jacobsthal matrix `Q[a, b] = χ(a − b)` over GF(q)
 *   (χ the quadratic character). Used for 12, 20, 28 (GF(27)), 44, 60, 108, 140.
 * - **Paley II**: q ≡ 1 (mod 4) a prime power, order 2(q + 1): the symmetric conference matrix
 *   `C = [[0, 1ᵀ], [1, Q]]` gives `H = C ⊗ [[1, 1], [1, −1]] + I ⊗ [[1, −1], [−1, −1]]`.
 *   Used for 36 (q = 17), 52 (GF(25)), 76 (q = 37), 148 (q = 73).
 * - **Sylvester doubling** `[[H, H], [H, −H]]`: 40 = 2·20.
 * - **Goethals–Seidel array** (Goethals & Seidel 1967) from four circulant ±1 sequences of
 *   length t whose periodic autocorrelations sum to zero: 156 (t = 39) and 172 (t = 43), where
 *   neither Paley construction applies (77, 85, 155 and 171 are not prime powers). The
 *   sequences are found by {@link searchGsSequences}: sequences constant on the orbits of a
 *   multiplier subgroup ⟨g⟩ of Z_t^* (Đoković's orbit method) have autocorrelations constant on
 *   those orbits, so a meet-in-the-middle over pairs finishes in seconds (g = 35 for t = 39,
 *   g = 4 for t = 43). The search is deterministic; the first quadruple found is used.
 *
 * Usage: `deno run -A tools/make_hadamard.ts [--check]` writes `data/hadamard/h<m>.txt` (or,
 * with `--check`, verifies that the stored files equal the generated ones). Every matrix is
 * checked for `H·Hᵀ = m·I` before it is written.
 *
 * @module
 */

/** A ±1 matrix as rows of numbers. */
export type SignMatrix = number[][];

// ---- finite fields GF(p^k): elements are integers 0..q−1 read as base-p digit vectors ----

/** GF(p^k) arithmetic with elements as integers (base-p digits = polynomial coefficients). */
class GaloisField {
  readonly q: number;
  constructor(readonly p: number, readonly k: number, readonly modulus: number[]) {
    // modulus: coefficients c0..c_{k−1} of the monic irreducible x^k + c_{k−1}x^{k−1} + … + c0
    this.q = p ** k;
  }
  private digits(a: number): number[] {
    const d: number[] = [];
    for (let i = 0; i < this.k; i++, a = Math.floor(a / this.p)) d.push(a % this.p);
    return d;
  }
  private value(d: number[]): number {
    return d.reduceRight((acc, c) => acc * this.p + c, 0);
  }
  sub(a: number, b: number): number {
    const x = this.digits(a), y = this.digits(b);
    return this.value(x.map((c, i) => (c - (y[i] as number) + this.p) % this.p));
  }
  mul(a: number, b: number): number {
    const x = this.digits(a), y = this.digits(b), p = this.p, k = this.k;
    const prod = new Array<number>(2 * k - 1).fill(0);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) prod[i + j] = (prod[i + j]! + x[i]! * y[j]!) % p;
    // reduce with x^k = −(c_{k−1}x^{k−1} + … + c0)
    for (let e = 2 * k - 2; e >= k; e--) {
      const c = prod[e]!;
      if (c === 0) continue;
      prod[e] = 0;
      for (let i = 0; i < k; i++) prod[e - k + i] = (prod[e - k + i]! - c * this.modulus[i]! % p + p * p) % p;
    }
    return this.value(prod.slice(0, k));
  }
  /** χ(a): 0 for 0, +1 for nonzero squares, −1 otherwise. */
  character(): (a: number) => number {
    const squares = new Set<number>();
    for (let a = 1; a < this.q; a++) squares.add(this.mul(a, a));
    if (squares.size !== (this.q - 1) / 2) {
      throw new RangeError(`GaloisField: modulus ${this.modulus} is not irreducible over GF(${this.p})`);
    }
    return (a) => (a === 0 ? 0 : squares.has(a) ? 1 : -1);
  }
}

/** Irreducible moduli (Conway polynomials) for the prime powers used here. */
const FIELDS: Record<number, [number, number, number[]]> = {
  27: [3, 3, [1, 2, 0]], // x³ + 2x + 1 over GF(3)
  25: [5, 2, [2, 4]], // x² + 4x + 2 over GF(5)
};

function field(q: number): GaloisField {
  const spec = FIELDS[q];
  if (spec) return new GaloisField(spec[0], spec[1], spec[2]);
  for (let d = 2; d * d <= q; d++) {
    if (q % d === 0) throw new RangeError(`field: no modulus recorded for GF(${q})`);
  }
  return new GaloisField(q, 1, [0]);
}

/** Jacobsthal matrix Q[a, b] = χ(a − b) over GF(q). */
function jacobsthal(q: number): SignMatrix {
  const F = field(q), chi = F.character();
  return Array.from({ length: q }, (_, a) => Array.from({ length: q }, (_, b) => chi(F.sub(a, b))));
}

/** Paley construction I: order q + 1 for a prime power q ≡ 3 (mod 4). */
export function paleyI(q: number): SignMatrix {
  if (q % 4 !== 3) throw new RangeError(`paleyI: Cannot use q = ${q}: q must be ≡ 3 (mod 4)`);
  const Q = jacobsthal(q), n = q + 1;
  const H: SignMatrix = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const s = i === 0 ? (j === 0 ? 0 : 1) : j === 0 ? -1 : Q[i - 1]![j - 1]!; // skew S
      H[i]![j] = s + (i === j ? 1 : 0);
    }
  }
  return H;
}

/** Paley construction II: order 2(q + 1) for a prime power q ≡ 1 (mod 4). */
export function paleyII(q: number): SignMatrix {
  if (q % 4 !== 1) throw new RangeError(`paleyII: Cannot use q = ${q}: q must be ≡ 1 (mod 4)`);
  const Q = jacobsthal(q), n = q + 1;
  const C = (i: number, j: number) => (i === 0 ? (j === 0 ? 0 : 1) : j === 0 ? 1 : Q[i - 1]![j - 1]!);
  const H: SignMatrix = Array.from({ length: 2 * n }, () => new Array<number>(2 * n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const c = C(i, j);
      // zero entries of C become [[1, −1], [−1, −1]], ±1 entries become ±[[1, 1], [1, −1]]
      const block = c === 0 ? [[1, -1], [-1, -1]] : [[c, c], [c, -c]];
      for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) H[2 * i + a]![2 * j + b] = block[a]![b]!;
    }
  }
  return H;
}

/** Sylvester doubling [[H, H], [H, −H]]. */
export function doubled(H: SignMatrix): SignMatrix {
  return [...H.map((r) => [...r, ...r]), ...H.map((r) => [...r, ...r.map((v) => -v)])];
}

/**
 * Four ±1 sequences of length t with zero summed periodic autocorrelation, constant on the
 * orbits of the multiplier subgroup ⟨g⟩ ⊂ Z_t^*; null when none exists in that family.
 */
export function searchGsSequences(t: number, g: number): number[][] | null {
  const orbitOf = new Int32Array(t).fill(-1);
  const reps: number[] = []; // first element of each orbit
  for (let i = 0; i < t; i++) {
    if (orbitOf[i]! >= 0) continue;
    let j = i;
    do {
      orbitOf[j] = reps.length;
      j = (j * g) % t;
    } while (j !== i);
    reps.push(i);
  }
  const nO = reps.length, shifts = reps.filter((r) => r !== 0), K = shifts.length;
  const N = 1 << nO;
  const seq = (bits: number) => Array.from({ length: t }, (_, i) => ((bits >> orbitOf[i]!) & 1 ? -1 : 1));
  const paf = new Int32Array(N * K), sums = new Int32Array(N);
  for (let bits = 0; bits < N; bits++) {
    const x = seq(bits);
    sums[bits] = x.reduce((a, b) => a + b, 0);
    shifts.forEach((s, k) => {
      let acc = 0;
      for (let i = 0; i < t; i++) acc += x[i]! * x[(i + s) % t]!;
      paf[bits * K + k] = acc;
    });
  }
  // pairs (a ≤ b) keyed by squared row sums and summed autocorrelations; x and −x are equivalent
  const pairs = new Map<string, [number, number]>();
  for (let a = 0; a < N / 2; a++) {
    for (let b = a; b < N / 2; b++) {
      const s2 = sums[a]! ** 2 + sums[b]! ** 2;
      if (s2 > 4 * t) continue;
      const key = `${s2}:${Array.from({ length: K }, (_, k) => paf[a * K + k]! + paf[b * K + k]!).join(",")}`;
      if (!pairs.has(key)) pairs.set(key, [a, b]);
    }
  }
  for (const [key, [a, b]] of pairs) {
    const [s2, rest] = key.split(":") as [string, string];
    const want = `${4 * t - Number(s2)}:${rest.split(",").map((v) => -Number(v)).join(",")}`;
    const hit = pairs.get(want);
    if (hit) return [seq(a), seq(b), seq(hit[0]), seq(hit[1])];
  }
  return null;
}

/** Goethals–Seidel array of order 4t from four circulant sequences (first rows a, b, c, d). */
export function goethalsSeidel(a: number[], b: number[], c: number[], d: number[]): SignMatrix {
  const t = a.length;
  const circ = (x: number[]) => (i: number, j: number) => x[(j - i + t) % t]!; // X[i, j]
  const A = circ(a), B = circ(b), C = circ(c), D = circ(d);
  const T = (X: (i: number, j: number) => number) => (i: number, j: number) => X(j, i);
  const R = (X: (i: number, j: number) => number) => (i: number, j: number) => X(i, t - 1 - j); // X·R
  const neg = (X: (i: number, j: number) => number) => (i: number, j: number) => -X(i, j);
  const blocks = [
    [A, R(B), R(C), R(D)],
    [neg(R(B)), A, R(T(D)), neg(R(T(C)))],
    [neg(R(C)), neg(R(T(D))), A, R(T(B))],
    [neg(R(D)), R(T(C)), neg(R(T(B))), A],
  ];
  const H: SignMatrix = Array.from({ length: 4 * t }, () => new Array<number>(4 * t).fill(0));
  for (let bi = 0; bi < 4; bi++) {
    for (let bj = 0; bj < 4; bj++) {
      const X = blocks[bi]![bj]!;
      for (let i = 0; i < t; i++) for (let j = 0; j < t; j++) H[bi * t + i]![bj * t + j] = X(i, j);
    }
  }
  return H;
}

function goethalsSeidelOrder(t: number, g: number): SignMatrix {
  const found = searchGsSequences(t, g);
  if (!found) throw new RangeError(`goethalsSeidelOrder: no sequences for t = ${t}, g = ${g}`);
  const [a, b, c, d] = found as [number[], number[], number[], number[]];
  return goethalsSeidel(a, b, c, d);
}

/** How each stored order is built (the README's provenance table mirrors this). */
export const HADAMARD_RECIPES: Record<number, { construction: string; build: () => SignMatrix }> = {
  12: { construction: "Paley I, q = 11", build: () => paleyI(11) },
  20: { construction: "Paley I, q = 19", build: () => paleyI(19) },
  28: { construction: "Paley I, q = 27 = 3³ (GF(27), x³ + 2x + 1)", build: () => paleyI(27) },
  36: { construction: "Paley II, q = 17", build: () => paleyII(17) },
  40: { construction: "Sylvester doubling of the Paley I order 20", build: () => doubled(paleyI(19)) },
  44: { construction: "Paley I, q = 43", build: () => paleyI(43) },
  52: { construction: "Paley II, q = 25 = 5² (GF(25), x² + 4x + 2)", build: () => paleyII(25) },
  60: { construction: "Paley I, q = 59", build: () => paleyI(59) },
  76: { construction: "Paley II, q = 37", build: () => paleyII(37) },
  108: { construction: "Paley I, q = 107", build: () => paleyI(107) },
  140: { construction: "Paley I, q = 139", build: () => paleyI(139) },
  148: { construction: "Paley II, q = 73", build: () => paleyII(73) },
  156: { construction: "Goethals–Seidel, t = 39, orbits of ⟨35⟩ ⊂ Z₃₉*", build: () => goethalsSeidelOrder(39, 35) },
  172: { construction: "Goethals–Seidel, t = 43, orbits of ⟨4⟩ ⊂ Z₄₃*", build: () => goethalsSeidelOrder(43, 4) },
};

/** Throws unless H·Hᵀ = m·I with ±1 entries. */
export function checkHadamard(H: SignMatrix): void {
  const m = H.length;
  for (let i = 0; i < m; i++) {
    if (H[i]!.length !== m || H[i]!.some((v) => v !== 1 && v !== -1)) {
      throw new RangeError(`checkHadamard: row ${i} of the order-${m} matrix is not ±1 of length ${m}`);
    }
    for (let j = 0; j <= i; j++) {
      let dot = 0;
      for (let k = 0; k < m; k++) dot += H[i]![k]! * H[j]![k]!;
      if (dot !== (i === j ? m : 0)) throw new RangeError(`checkHadamard: rows ${i}, ${j} of order ${m}: dot ${dot}`);
    }
  }
}

/** The file text: one `+`/`-` string per row. */
export function formatRows(H: SignMatrix): string {
  return H.map((r) => r.map((v) => (v > 0 ? "+" : "-")).join("")).join("\n") + "\n";
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const dir = new URL("../data/hadamard/", import.meta.url);
  if (!check) await Deno.mkdir(dir, { recursive: true });
  let bad = 0;
  for (const [m, recipe] of Object.entries(HADAMARD_RECIPES)) {
    const H = recipe.build();
    checkHadamard(H);
    const text = formatRows(H), file = new URL(`h${m}.txt`, dir);
    if (check) {
      const stored = await Deno.readTextFile(file).catch(() => "");
      if (stored !== text) bad++;
      console.log(`h${m}.txt ${stored === text ? "matches" : "DIFFERS"} (${recipe.construction})`);
    } else {
      await Deno.writeTextFile(file, text);
      console.log(`wrote h${m}.txt (${recipe.construction})`);
    }
  }
  if (bad > 0) Deno.exit(1);
}
