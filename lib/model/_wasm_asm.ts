// SPDX-License-Identifier: MIT
/**
 * A minimal WebAssembly assembler: the opcodes, immediates and section framing that
 * `_simd_kernels.ts` uses, so its module is built from readable instruction lists at load time
 * instead of shipping a binary or needing a toolchain. Instructions are arrays of bytes.
 *
 * @module
 */
/** Value types and the empty block type. */
export const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b, VOID = 0x40;
/** Core opcodes. */
export const op = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  get: 0x20,
  set: 0x21,
  tee: 0x22,
  f32Load: 0x2a,
  f32Store: 0x38,
  i32Const: 0x41,
  f32Const: 0x43,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32And: 0x71,
  i32Shl: 0x74,
  f32Add: 0x92,
  f32Sub: 0x93,
  f32Mul: 0x94,
  f32Div: 0x95,
  f32Max: 0x97,
} as const;
/** SIMD opcodes (after the 0xfd prefix, LEB128). */
export const simd = {
  load: 0x00,
  store: 0x0b,
  i32x4Splat: 0x11,
  f32x4Splat: 0x13,
  f32x4ExtractLane: 0x1f,
  f32x4Nearest: 0x6a,
  i32x4Shl: 0xab,
  i32x4Add: 0xae,
  f32x4Neg: 0xe1,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Min: 0xe8,
  f32x4Max: 0xe9,
  i32x4TruncSatF32x4S: 0xf8,
} as const;

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (i32.const immediates). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

/** A SIMD instruction. */
export const v = (code: number): number[] => [0xfd, ...uleb(code)];
/** local.get i. */
export const get = (i: number) => [op.get, i];
/** local.set i. */
export const set = (i: number) => [op.set, i];
/** i32.const n. */
export const i32c = (n: number) => [op.i32Const, ...sleb(n)];
/** f32.const x. */
export const f32c = (x: number) => [op.f32Const, ...new Uint8Array(Float32Array.of(x).buffer)];
/** An f32x4 of four x. */
export const splat = (x: number) => [...f32c(x), ...v(simd.f32x4Splat)];
/** v128.load from the address in i32 local addr. */
export const vload = (addr: number) => [...get(addr), ...v(simd.load), 0, 0]; // align hint 2^0, offset 0
/** A module section. */
export const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
/** A counted vector of encoded items. */
export const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];

/** `while (a < end) { body; a += step }` over i32 locals a and end. */
export function loopTo(a: number, end: number, step: number, body: number[]): number[] {
  return [
    op.block,
    VOID,
    op.loop,
    VOID,
    ...get(a),
    ...get(end),
    op.i32GeU,
    op.brIf,
    1,
    ...body,
    ...get(a),
    ...i32c(step),
    op.i32Add,
    ...set(a),
    op.br,
    0,
    op.end,
    op.end,
  ];
}
