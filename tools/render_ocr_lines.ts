// SPDX-License-Identifier: MIT
/**
 * Renders the OCR evaluation set `data/ocr/sotu_lines.arrow`: short text lines from the SOTU
 * corpus splits (test: evaluation; train: calibration) drawn as 48-pixel-high grayscale images
 * with Debian ImageMagick (`/usr/bin/convert`, IM 6.9.11) and the DejaVu fonts
 * (`fonts-dejavu-core`, `fonts-dejavu-extra`), deterministically:
 *
 * 1. the split's text (lib/calib/corpus.ts `loadSplit`), whitespace collapsed to single spaces;
 * 2. words packed greedily into lines of MIN_CHARS..MAX_CHARS characters; lines with a
 *    character outside the PP-OCRv4 dictionary (or `\`, a leading `@`) are dropped;
 * 3. a seeded shuffle (quantlab `Rng`, SEED) picks COUNT[split] lines;
 * 4. line i is drawn black on white in FONTS[i % 4] at POINT_SIZES[i % 3] pt, canvas
 *    48 px high, centred, with an 8 px white border left and right.
 *
 * Run from the repository root (about a minute):
 *   apt-get install -y imagemagick fonts-dejavu-core fonts-dejavu-extra   # if missing
 *   deno run -A tools/render_ocr_lines.ts
 *
 * @module
 */
import { loadSplit, type SplitName } from "../lib/calib/corpus.ts";
import { Rng } from "../lib/tensor/random.ts";
import { canSpell, type OcrLine, ocrLinesToIPC } from "../lib/ocr/mod.ts";
import { loadPpocrDictionary, OCR_HEIGHT } from "../lib/ocr/recognize.ts";

const OUT = "data/ocr/sotu_lines.arrow";
const CONVERT = "/usr/bin/convert";
const SEED = 2024;
const MIN_CHARS = 8;
const MAX_CHARS = 24;
const COUNT: Record<"test" | "train", number> = { test: 256, train: 96 };
const FONT_DIR = "/usr/share/fonts/truetype/dejavu";
const FONTS = ["DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSansCondensed.ttf"];
const POINT_SIZES = [24, 26, 28];

/** Greedy word packing into lines of MIN_CHARS..MAX_CHARS characters. */
function candidateLines(text: string): string[] {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  const out: string[] = [];
  let cur = "";
  for (const w of words) {
    if (w.length > MAX_CHARS) continue;
    const next = cur ? `${cur} ${w}` : w;
    if (next.length > MAX_CHARS) {
      if (cur.length >= MIN_CHARS) out.push(cur);
      cur = w;
    } else {
      cur = next;
    }
  }
  if (cur.length >= MIN_CHARS) out.push(cur);
  return out;
}

/** Reads a binary PGM (P5, maxval 255) into width, height and pixels. */
function parsePgm(bytes: Uint8Array): { width: number; height: number; pixels: Uint8Array } {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 64));
  const m = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(head);
  if (!m || m[3] !== "255") {
    throw new Error(`render_ocr_lines: convert did not return an 8-bit PGM: ${head.slice(0, 20)}`);
  }
  const width = Number(m[1]), height = Number(m[2]);
  const pixels = bytes.slice(m[0].length, m[0].length + width * height);
  if (pixels.length !== width * height) throw new Error("render_ocr_lines: truncated PGM from convert");
  return { width, height, pixels };
}

async function render(text: string, font: string, pointSize: number): Promise<ReturnType<typeof parsePgm>> {
  const args = [
    "-background",
    "white",
    "-fill",
    "black",
    "-font",
    `${FONT_DIR}/${font}`,
    "-pointsize",
    String(pointSize),
    "-gravity",
    "center",
    "-size",
    `x${OCR_HEIGHT}`,
    `label:${text.replaceAll("%", "%%")}`,
    "-bordercolor",
    "white",
    "-border",
    "8x0",
    "-colorspace",
    "Gray",
    "-depth",
    "8",
    "pgm:-",
  ];
  const { code, stdout, stderr } = await new Deno.Command(CONVERT, { args, stdout: "piped", stderr: "piped" }).output();
  if (code !== 0) {
    throw new Error(`render_ocr_lines: ${CONVERT} failed on "${text}": ${new TextDecoder().decode(stderr)}`);
  }
  return parsePgm(stdout);
}

async function main(): Promise<void> {
  const dict = await loadPpocrDictionary();
  const lines: OcrLine[] = [];
  for (const split of ["test", "train"] as const) {
    const text = new TextDecoder().decode(await loadSplit(split as SplitName));
    const cands = candidateLines(text).filter((l) => canSpell(dict, l) && !l.includes("\\") && !l.startsWith("@"));
    const rng = new Rng(SEED + (split === "test" ? 0 : 1));
    for (let i = cands.length - 1; i > 0; i--) { // Fisher–Yates
      const j = rng.int(i + 1);
      [cands[i], cands[j]] = [cands[j] as string, cands[i] as string];
    }
    const picked = cands.slice(0, COUNT[split]);
    for (let i = 0; i < picked.length; i++) {
      const font = FONTS[i % FONTS.length] as string, size = POINT_SIZES[i % POINT_SIZES.length] as number;
      const img = await render(picked[i] as string, font, size);
      lines.push({ split, text: picked[i] as string, font: `${font.replace(".ttf", "")} ${size}pt`, ...img });
    }
  }
  await Deno.mkdir("data/ocr", { recursive: true });
  const bytes = ocrLinesToIPC(lines);
  await Deno.writeFile(OUT, bytes);
  const px = lines.reduce((a, l) => a + l.pixels.length, 0);
  console.log(`${OUT}: ${lines.length} lines, ${px} pixels, ${bytes.length} bytes`);
}

if (import.meta.main) await main();
