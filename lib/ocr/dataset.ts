// SPDX-License-Identifier: MIT
/**
 * Rendered text-line datasets as Arrow IPC files: one row per line with columns
 * `split` (utf8), `text` (utf8, the label), `font` (utf8), `width`, `height` (int32) and
 * `pixels` (binary: 8-bit grayscale, row-major `[height, width]`, 255 = white paper).
 * `data/ocr/sotu_lines.arrow` is made by `tools/render_ocr_lines.ts` (see data/README.md).
 *
 * @module
 */
import * as arrow from "apache-arrow";

/** One rendered line. */
export interface OcrLine {
  /** Dataset split (`train` or `test`). */
  split: string;
  /** The ground-truth text of the line. */
  text: string;
  /** Font the line was rendered with. */
  font: string;
  /** Image width in pixels. */
  width: number;
  /** Image height in pixels. */
  height: number;
  /** u8 `[height, width]`, 255 = white. */
  pixels: Uint8Array;
}

/** The bundled evaluation set. */
export const OCR_LINES_FILE: URL = new URL("../../data/ocr/sotu_lines.arrow", import.meta.url);

/** Builds the Arrow table of lines. */
export function ocrLinesToTable(lines: readonly OcrLine[]): arrow.Table {
  const utf8 = (values: string[]) => arrow.vectorFromArray(values, new arrow.Utf8());
  const bin = arrow.makeBuilder({ type: new arrow.Binary(), nullValues: [] });
  for (const l of lines) bin.append(l.pixels);
  return new arrow.Table({
    split: utf8(lines.map((l) => l.split)),
    text: utf8(lines.map((l) => l.text)),
    font: utf8(lines.map((l) => l.font)),
    width: arrow.vectorFromArray(Int32Array.from(lines, (l) => l.width)),
    height: arrow.vectorFromArray(Int32Array.from(lines, (l) => l.height)),
    pixels: bin.finish().toVector(),
  });
}

/** Serializes lines as an Arrow IPC file. */
export function ocrLinesToIPC(lines: readonly OcrLine[]): Uint8Array {
  return arrow.tableToIPC(ocrLinesToTable(lines), "file");
}

/**
 * Reads lines from Arrow IPC bytes.
 *
 * @throws {TypeError} when a column is missing or a line's pixel count does not match its size
 */
export function ocrLinesFromIPC(bytes: Uint8Array, source = "<bytes>"): OcrLine[] {
  let table: arrow.Table;
  try {
    table = arrow.tableFromIPC(bytes);
  } catch (e) {
    throw new TypeError(`ocrLinesFromIPC: Cannot read "${source}" as an Arrow IPC file`, { cause: e });
  }
  const col = (name: string) => {
    const c = table.getChild(name);
    if (!c) throw new TypeError(`ocrLinesFromIPC: Cannot read "${source}": column "${name}" is missing`);
    return c;
  };
  const [split, text, font, width, height, pixels] = ["split", "text", "font", "width", "height", "pixels"].map(col);
  const out: OcrLine[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const l: OcrLine = {
      split: split!.get(i),
      text: text!.get(i),
      font: font!.get(i),
      width: width!.get(i),
      height: height!.get(i),
      pixels: pixels!.get(i),
    };
    if (l.pixels.length !== l.width * l.height) {
      throw new TypeError(
        `ocrLinesFromIPC: Cannot read line ${i} of "${source}": ${l.pixels.length} pixels for ${l.width}×${l.height}`,
      );
    }
    out.push(l);
  }
  return out;
}

/** Options of {@link loadOcrLines}. */
export interface LoadOcrLinesOptions {
  /** Keep only this split. */
  split?: string;
  /** Keep the first `limit` lines (after the split filter). */
  limit?: number;
}

/** Loads the bundled (or another) line set. */
export async function loadOcrLines(
  path: string | URL = OCR_LINES_FILE,
  options: LoadOcrLinesOptions = {},
): Promise<OcrLine[]> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`loadOcrLines: Cannot read "${path}": run tools/render_ocr_lines.ts to make it`, { cause: e });
  }
  let lines = ocrLinesFromIPC(bytes, String(path));
  if (options.split !== undefined) lines = lines.filter((l) => l.split === options.split);
  return options.limit !== undefined ? lines.slice(0, options.limit) : lines;
}
