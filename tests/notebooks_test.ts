// SPDX-License-Identifier: MIT
/**
 * Every `notebooks/*.ipynb` must be a valid Deno module: its code cells concatenated in order
 * (cells share one scope in the Jupyter kernel, so top-level concatenation is the faithful
 * translation) must type-check with `notebooks/` as the module's directory, so `../mod.ts`
 * imports resolve as in the kernel, and must use `Deno.jupyter` only behind a `try`.
 *
 * Executing the notebooks is `deno task notebooks` (tools/run_notebooks.py, the real kernel,
 * run by CI), so `deno task test` does not execute them a second time. Set
 * `QUANTLAB_RUN_NOTEBOOKS=1` to also run each one here as a plain module (`deno run -A -`).
 *
 * @module
 */

import { AssertionError } from "node:assert/strict";

const NOTEBOOK_DIR = new URL("../notebooks/", import.meta.url);
/** A notebook should take about a minute (house style); this only stops a hung one. */
const NOTEBOOK_TIMEOUT_MS = 600_000;
const STDIN_MODULE = "$deno$stdin.mts";

interface Cell {
  "cell_type": string;
  source: string | string[];
}

function listNotebooks(): string[] {
  try {
    return [...Deno.readDirSync(NOTEBOOK_DIR)]
      .filter((e) => e.isFile && e.name.endsWith(".ipynb"))
      .map((e) => e.name)
      .sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/** Concatenates code cells; returns the module and the module line where each cell starts. */
export function notebookToModule(cells: readonly Cell[]): { source: string; starts: [number, number][] } {
  const parts: string[] = [];
  const starts: [number, number][] = []; // [first module line (1-based), cell index]
  let line = 1;
  cells.forEach((cell, index) => {
    if (cell.cell_type !== "code") return;
    const text = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
    // The `;` line stops a cell that ends in an expression from running into the next
    // cell's leading `(` or `[` (automatic semicolon insertion does not split those).
    const chunk = `// cell ${index}\n${text}\n;\n`;
    starts.push([line + 1, index]);
    parts.push(chunk);
    line += chunk.split("\n").length - 1;
  });
  return { source: parts.join(""), starts };
}

/** Names the cell of each `$deno$stdin.mts:LINE:COL` location in Deno's error output. */
function annotate(stderr: string, starts: [number, number][]): string {
  return stderr.replace(/\$deno\$stdin\.mts:(\d+):(\d+)/g, (m, l: string) => {
    const at = Number(l);
    const cell = starts.findLast(([first]) => first <= at);
    return cell ? `${m} (cell ${cell[1]}, line ${at - cell[0] + 1})` : m;
  });
}

/** `deno check` of the concatenated cells, written next to the notebooks so relative imports resolve. */
async function typeCheck(name: string, source: string, starts: [number, number][]): Promise<void> {
  const dir = decodeURIComponent(NOTEBOOK_DIR.pathname);
  const path = await Deno.makeTempFile({ dir, prefix: ".nbcheck-", suffix: ".ts" });
  try {
    await Deno.writeTextFile(path, source);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", path],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(NOTEBOOK_TIMEOUT_MS),
    }).output();
    if (out.code !== 0) {
      const file = path.slice(path.lastIndexOf("/") + 1);
      const stderr = annotate(new TextDecoder().decode(out.stderr).replaceAll(file, STDIN_MODULE), starts);
      throw new AssertionError({ message: `${name} does not type-check as a module:\n${stderr}` });
    }
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

for (const name of listNotebooks()) {
  Deno.test(`notebook ${name} type-checks as a Deno module (executed by deno task notebooks)`, async () => {
    const nb = JSON.parse(await Deno.readTextFile(new URL(name, NOTEBOOK_DIR))) as { cells: Cell[] };
    const { source, starts } = notebookToModule(nb.cells);
    // Deno.jupyter exists only in the kernel: a notebook may use it (live-updating progress
    // displays need display_id updates) only behind a same-line `try`, so it still runs here.
    const unguarded = source.split("\n").filter((l) => l.includes("Deno.jupyter") && !/\btry\b/.test(l));
    if (unguarded.length > 0) {
      throw new AssertionError({
        message:
          `${name} uses Deno.jupyter outside a try (${
            unguarded[0]!.trim()
          }), which exists only in the kernel: return a value with ` +
          `[Symbol.for("Jupyter.display")]() instead`,
      });
    }
    await typeCheck(name, source, starts);
    if (Deno.env.get("QUANTLAB_RUN_NOTEBOOKS") !== "1") return;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "-"],
      cwd: decodeURIComponent(NOTEBOOK_DIR.pathname),
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(NOTEBOOK_TIMEOUT_MS),
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(source));
    await writer.close();
    const out = await child.output();
    if (out.code !== 0) {
      const stderr = annotate(new TextDecoder().decode(out.stderr), starts);
      throw new AssertionError({
        message: `${name} failed as a module (exit code ${out.code}; ${STDIN_MODULE} is the concatenated ` +
          `code cells):\n${stderr}`,
      });
    }
  });
}
