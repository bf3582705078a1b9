// SPDX-License-Identifier: MIT
/**
 * A minimal PNG writer for 8-bit grayscale images (uncompressed deflate blocks), so notebooks
 * can show rendered lines as `image/png` or `<img src="data:…">` without an image library.
 *
 * @module
 */

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length), v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encodes an 8-bit grayscale image as PNG.
 *
 * @param pixels u8 `[height, width]`, row-major
 * @throws {RangeError} when the pixel count does not match
 */
export function grayPng(width: number, height: number, pixels: Uint8Array): Uint8Array {
  if (pixels.length !== width * height) {
    throw new RangeError(`grayPng: Cannot encode ${pixels.length} pixels as ${width}×${height}`);
  }
  const raw = new Uint8Array(height * (width + 1)); // filter byte 0 + row
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const blocks = Math.max(1, Math.ceil(raw.length / 65535));
  const z = new Uint8Array(2 + raw.length + 5 * blocks + 4), zv = new DataView(z.buffer);
  z[0] = 0x78;
  z[1] = 0x01;
  let o = 2;
  for (let b = 0; b < blocks; b++) {
    const part = raw.subarray(b * 65535, Math.min(raw.length, (b + 1) * 65535));
    z[o] = b === blocks - 1 ? 1 : 0; // BFINAL, BTYPE = 00 (stored)
    zv.setUint16(o + 1, part.length, true);
    zv.setUint16(o + 3, ~part.length & 0xffff, true);
    z.set(part, o + 5);
    o += 5 + part.length;
  }
  let a = 1, s = 0; // Adler-32
  for (const v of raw) {
    a = (a + v) % 65521;
    s = (s + a) % 65521;
  }
  zv.setUint32(o, ((s << 16) | a) >>> 0);
  const ihdr = new Uint8Array(13), hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr.set([8, 0, 0, 0, 0], 8); // bit depth 8, grayscale, deflate, filter 0, no interlace
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    chunk("IDAT", z),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

/** A `data:image/png;base64,…` URL of a grayscale image. */
export function grayPngDataUrl(width: number, height: number, pixels: Uint8Array): string {
  const png = grayPng(width, height, pixels);
  let s = "";
  for (let i = 0; i < png.length; i += 0x8000) s += String.fromCharCode(...png.subarray(i, i + 0x8000));
  return `data:image/png;base64,${btoa(s)}`;
}
