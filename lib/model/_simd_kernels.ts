// SPDX-License-Identifier: MIT
/**
 * The forward pass's elementwise hot loops — softmax of an attention row and SwiGLU — as a tiny
 * WebAssembly module using 128-bit SIMD (4 f32 lanes), assembled here from its instructions so
 * no toolchain or binary blob is involved. V8 does not vectorise JavaScript, and `Math.exp`
 * costs more than the rest of these loops together; four lanes of a polynomial exp do not.
 *
 * exp4 (per lane, as Cephes `expf`): x clamped to [−87.3, 88.3]; k = nearest(x·log2 e);
 * r = x − k·ln2 (ln2 split in a high and a low part); e^r ≈ 1 + r + r²·P(r), P of degree 5;
 * 2^k built in the exponent bits. Its measured relative error is {@link SIMD_EXP_MAX_REL_ERROR}
 * (tests/model/fast_math_test.ts); the clamp only changes results that round to 0 or overflow
 * in f32 (below e^−87.3 ≈ 1.2e−38 it returns about 1.2e−38; softmax and SiLU cannot tell).
 *
 * The module has its own memory; callers copy a block in, run a kernel and copy it out, all
 * synchronously (so concurrent forward passes never share it between awaits).
 *
 * @module
 */

import {
  F32,
  f32c,
  get,
  I32,
  i32c,
  loopTo,
  op,
  section,
  set,
  simd,
  splat,
  uleb,
  v,
  V128,
  vec,
  vload,
} from "./_wasm_asm.ts";

/**
 * Bound on the relative error of the SIMD exp against `Math.exp` on [−87.3, 88.3] (measured:
 * 7.9e−8, about f32's half ulp; the test sweeps the range and asserts this bound, 2 ulp).
 */
export const SIMD_EXP_MAX_REL_ERROR = 1.2e-7;

/** The assembled module's kernels over its memory (byte addresses, f32 elements). */
export interface SimdKernels {
  /** The module memory as f32 (refreshed after {@link SimdKernels.reserve}). */
  f32: Float32Array;
  /** Grows the memory to hold at least `floats` f32 values (then re-read `f32`). */
  reserve(floats: number): void;
  /** In place softmax of `n` f32 at byte address `p` (max, exp, sum, scale; f32 arithmetic). */
  softmax(p: number, n: number): void;
  /** In place `g ← g / (1 + e^−g) · u` on `n` f32 (n a multiple of 4) at byte addresses g and u. */
  swiglu(g: number, u: number, n: number): void;
  /** In place `x ← e^x` (exp4) on `n` f32 (n a multiple of 4) at byte address p. */
  exp(p: number, n: number): void;
}

/** e^x of v128 local `x` (overwritten) onto the stack, using v128 scratch locals k and r. */
function exp4(x: number, k: number, r: number): number[] {
  const P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
  const poly: number[] = [...splat(P[0]!)];
  for (const c of P.slice(1)) poly.push(...get(r), ...v(simd.f32x4Mul), ...splat(c), ...v(simd.f32x4Add));
  return [
    ...get(x),
    ...splat(-87.3),
    ...v(simd.f32x4Max),
    ...splat(88.3),
    ...v(simd.f32x4Min),
    ...set(x),
    ...get(x),
    ...splat(Math.LOG2E),
    ...v(simd.f32x4Mul),
    ...v(simd.f32x4Nearest),
    ...set(k),
    ...get(x),
    ...get(k),
    ...splat(0.693359375),
    ...v(simd.f32x4Mul),
    ...v(simd.f32x4Sub),
    ...get(k),
    ...splat(-2.12194440e-4),
    ...v(simd.f32x4Mul),
    ...v(simd.f32x4Sub),
    ...set(r),
    // y = P(r)·r² + r + 1
    ...poly,
    ...get(r),
    ...v(simd.f32x4Mul),
    ...get(r),
    ...v(simd.f32x4Mul),
    ...get(r),
    ...v(simd.f32x4Add),
    ...splat(1),
    ...v(simd.f32x4Add),
    // · 2^k: (k + 127) << 23 as f32 bits
    ...get(k),
    ...v(simd.i32x4TruncSatF32x4S),
    ...i32c(127),
    ...v(simd.i32x4Splat),
    ...v(simd.i32x4Add),
    ...i32c(23),
    ...v(simd.i32x4Shl),
    ...v(simd.f32x4Mul),
  ];
}

/** Horizontal f32 reduction of the v128 local `x` with the scalar op `f` (f32.add or f32.max). */
function lanes(x: number, f: number): number[] {
  const lane = (i: number) => [...get(x), ...v(simd.f32x4ExtractLane), i];
  return [...lane(0), ...lane(1), f, ...lane(2), f, ...lane(3), f];
}

// softmax(p, n): i32 locals 2 a, 3 end4, 4 end; f32 5 m, 6 s, 7 e; v128 8 acc, 9 x, 10 k, 11 r, 12 mv
function softmaxCode(): number[] {
  const [p, n, a, end4, end, m, s, e, acc, x, k, r, mv] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const restart = [...get(p), ...set(a)];
  const tail = (body: number[]) => loopTo(a, end, 4, body); // the last n mod 4 elements, one at a time
  return [
    ...vec([[3, I32], [3, F32], [5, V128]].map(([c, t]) => [...uleb(c!), t!])),
    ...get(p),
    ...get(n),
    ...i32c(-4),
    op.i32And,
    ...i32c(2),
    op.i32Shl,
    op.i32Add,
    ...set(end4),
    ...get(p),
    ...get(n),
    ...i32c(2),
    op.i32Shl,
    op.i32Add,
    ...set(end),
    // m = max
    ...splat(-Infinity),
    ...set(acc),
    ...restart,
    ...loopTo(a, end4, 16, [...get(acc), ...vload(a), ...v(simd.f32x4Max), ...set(acc)]),
    ...lanes(acc, op.f32Max),
    ...set(m),
    ...tail([...get(m), ...get(a), op.f32Load, 2, 0, op.f32Max, ...set(m)]),
    ...get(m),
    ...v(simd.f32x4Splat),
    ...set(mv),
    // x ← e^(x − m), s = Σ
    ...splat(0),
    ...set(acc),
    ...restart,
    ...loopTo(a, end4, 16, [
      ...vload(a),
      ...get(mv),
      ...v(simd.f32x4Sub),
      ...set(x),
      ...get(a),
      ...exp4(x, k, r),
      op.tee,
      x,
      ...v(simd.store),
      0,
      0,
      ...get(acc),
      ...get(x),
      ...v(simd.f32x4Add),
      ...set(acc),
    ]),
    ...lanes(acc, op.f32Add),
    ...set(s),
    ...tail([
      ...get(a),
      op.f32Load,
      2,
      0,
      ...get(m),
      op.f32Sub,
      ...v(simd.f32x4Splat),
      ...set(x),
      ...get(a),
      ...exp4(x, k, r),
      ...v(simd.f32x4ExtractLane),
      0,
      op.tee,
      e,
      op.f32Store,
      2,
      0,
      ...get(s),
      ...get(e),
      op.f32Add,
      ...set(s),
    ]),
    // x ← x / s
    ...f32c(1),
    ...get(s),
    op.f32Div,
    ...set(s),
    ...get(s),
    ...v(simd.f32x4Splat),
    ...set(mv),
    ...restart,
    ...loopTo(a, end4, 16, [...get(a), ...vload(a), ...get(mv), ...v(simd.f32x4Mul), ...v(simd.store), 0, 0]),
    ...tail([...get(a), ...get(a), op.f32Load, 2, 0, ...get(s), op.f32Mul, op.f32Store, 2, 0]),
    op.end,
  ];
}

// swiglu(g, u, n): i32 locals 3 a (from g), 4 end, 5 b (from u); v128 6 x, 7 k, 8 r, 9 gv
function swigluCode(): number[] {
  const [g, u, n, a, end, b, x, k, r, gv] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  return [
    ...vec([[3, I32], [4, V128]].map(([c, t]) => [...uleb(c!), t!])),
    ...get(g),
    ...set(a),
    ...get(u),
    ...set(b),
    ...get(g),
    ...get(n),
    ...i32c(2),
    op.i32Shl,
    op.i32Add,
    ...set(end),
    ...loopTo(a, end, 16, [
      ...vload(a),
      op.tee,
      gv,
      ...v(simd.f32x4Neg),
      ...set(x),
      ...get(a),
      ...get(gv),
      ...splat(1),
      ...exp4(x, k, r),
      ...v(simd.f32x4Add),
      ...v(simd.f32x4Div),
      ...vload(b),
      ...v(simd.f32x4Mul),
      ...v(simd.store),
      0,
      0,
      ...get(b),
      ...i32c(16),
      op.i32Add,
      ...set(b),
    ]),
    op.end,
  ];
}

// exp(p, n): i32 locals 2 a, 3 end; v128 4 x, 5 k, 6 r
function expCode(): number[] {
  const [p, n, a, end, x, k, r] = [0, 1, 2, 3, 4, 5, 6];
  return [
    ...vec([[2, I32], [3, V128]].map(([c, t]) => [...uleb(c!), t!])),
    ...get(p),
    ...set(a),
    ...get(p),
    ...get(n),
    ...i32c(2),
    op.i32Shl,
    op.i32Add,
    ...set(end),
    ...loopTo(a, end, 16, [...vload(a), ...set(x), ...get(a), ...exp4(x, k, r), ...v(simd.store), 0, 0]),
    op.end,
  ];
}

function buildModule(): Uint8Array<ArrayBuffer> {
  const fn = (code: number[]) => [...uleb(code.length), ...code];
  const name = (s: string) => [...uleb(s.length), ...new TextEncoder().encode(s)];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([[0x60, 2, I32, I32, 0], [0x60, 3, I32, I32, I32, 0]])), // types: (i32 i32), (i32 i32 i32)
    ...section(3, vec([[0], [1], [0]])), // functions: softmax, swiglu, exp
    ...section(5, vec([[0x00, 1]])), // memory: min 1 page
    ...section(
      7,
      vec([[...name("memory"), 0x02, 0], [...name("softmax"), 0x00, 0], [...name("swiglu"), 0x00, 1], [
        ...name("exp"),
        0x00,
        2,
      ]]),
    ),
    ...section(10, vec([fn(softmaxCode()), fn(swigluCode()), fn(expCode())])),
  ]);
}

let kernels: SimdKernels | null | undefined;

/**
 * The SIMD kernels, or null where WebAssembly SIMD is unavailable (callers fall back to the
 * scalar TypeScript loops). Built once per process.
 *
 * @returns the kernels over the module's memory, or null
 */
export function simdKernels(): SimdKernels | null {
  if (kernels !== undefined) return kernels;
  const bytes = buildModule();
  if (typeof WebAssembly === "undefined" || !WebAssembly.validate(bytes)) return kernels = null;
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  const memory = inst.exports.memory as WebAssembly.Memory;
  const k: SimdKernels = {
    f32: new Float32Array(memory.buffer),
    reserve(floats: number) {
      const need = Math.ceil((floats * 4) / 65536) - memory.buffer.byteLength / 65536;
      if (need > 0) memory.grow(need);
      k.f32 = new Float32Array(memory.buffer);
    },
    softmax: inst.exports.softmax as (p: number, n: number) => void,
    swiglu: inst.exports.swiglu as (g: number, u: number, n: number) => void,
    exp: inst.exports.exp as (p: number, n: number) => void,
  };
  return kernels = k;
}
