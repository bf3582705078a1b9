// SPDX-License-Identifier: MIT
/**
 * Helpers for calling CBLAS and Fortran LAPACK through FFI (private).
 *
 * Fortran takes every argument by pointer: scalars travel as one-element TypedArrays.
 * Row-major storage of a matrix is the column-major storage of its transpose; the
 * callers use that identity instead of copying.
 *
 * @module
 */

/** CBLAS enum values (cblas.h). */
export const CBLAS = {
  RowMajor: 101,
  NoTrans: 111,
  Trans: 112,
  Upper: 121,
  Lower: 122,
} as const;

/** A Fortran CHARACTER*1 argument. */
export function ch(c: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array([c.charCodeAt(0)]);
}

/** A Fortran INTEGER argument (32-bit: Debian's libopenblas0 is LP64). */
export function int(v: number): Int32Array<ArrayBuffer> {
  return new Int32Array([v]);
}

/** A Fortran DOUBLE PRECISION argument. */
export function f64(v: number): Float64Array<ArrayBuffer> {
  return new Float64Array([v]);
}

/** Hidden length of a CHARACTER*1 argument (gfortran passes these after all others). */
export const CHAR_LEN = 1n;

/** Transposes a row-major `[rows, cols]` f64 array (tiled). */
export function transposeF64(x: Float64Array, rows: number, cols: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(rows * cols);
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) out[c * rows + r] = x[r * cols + c] as number;
      }
    }
  }
  return out;
}
