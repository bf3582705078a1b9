// SPDX-License-Identifier: MIT
/**
 * The one command-line helper every task uses, over `node:util` `parseArgs`.
 *
 * A task declares its flags (type, default, help text, optional check) and hands its body to
 * {@link runCli}. Before the body runs, every flag is parsed and validated, so a mistake never
 * costs a model load:
 *
 * | situation                                              | stream | exit |
 * | ------------------------------------------------------ | ------ | ---- |
 * | `--help`                                               | stdout | 0    |
 * | unknown flag, missing value, bad number/enum/format    | stderr | 2    |
 * | `--out` names an existing file, input path is missing  | stderr | 2    |
 * | any error thrown by the task body                      | stderr | 1    |
 *
 * Errors are printed as one line, `task: message`; `--debug` adds the stack trace.
 * {@link atomicOutput} writes a task's output directory through a temporary sibling that is
 * renamed on success and removed on failure, so a failed run leaves nothing half-written.
 *
 * @example
 * ```ts ignore
 * import { runCli } from "./_cli.ts";
 * await runCli({
 *   task: "demo",
 *   summary: "Perplexity of the bundled model.",
 *   flags: { windows: { type: "int", min: 1, default: 12, help: "windows to evaluate" } },
 * }, async ({ windows }) => console.log(windows * 2));
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { basename, dirname, join } from "node:path";

/** Value kinds a flag can declare. `path` values are strings checked against {@link FlagSpec.path}. */
export type FlagType = "string" | "number" | "int" | "boolean" | "enum" | "path";

/** How a `path` flag is checked before the task starts. */
export type PathRule = "file" | "dir" | "exists" | "out-dir";

/** One declared flag. */
export interface FlagSpec {
  /** Value kind. */
  type: FlagType;
  /** One-line help text (shown by `--help`). */
  help: string;
  /** Default value; absent means the flag is optional and its value is `undefined` when not given. */
  default?: string | number | boolean;
  /** Allowed values of an `enum` flag. */
  choices?: readonly string[];
  /** Inclusive lower bound of a `number`/`int` flag. */
  min?: number;
  /** Inclusive upper bound of a `number`/`int` flag. */
  max?: number;
  /** Words a `number`/`int` flag also accepts verbatim (e.g. `all` for `--windows`). */
  words?: readonly string[];
  /** `path` check: an existing file, directory, either, or an output directory (absent or a directory). */
  path?: PathRule;
  /** Must be given (no default). */
  required?: boolean;
  /** Extra validation of the parsed value (e.g. `parseFormatId`); a throw is a usage error. */
  check?: (value: string | number) => void;
  /** Placeholder shown in `--help` (default: the type). */
  metavar?: string;
}

/** A task's command line; `S` keeps the flag declarations' literal types for {@link CliValues}. */
export interface CliSpec<S extends Record<string, FlagSpec> = Record<string, FlagSpec>> {
  /** Task name, the prefix of every error line (`demo`, `table`, `quantize`). */
  task: string;
  /** One paragraph shown by `--help`. */
  summary: string;
  /** Declared flags by name (without `--`); `help` and `debug` are added. */
  flags: S;
}

/** The parsed type of one flag: number (or one of its `words`), boolean, an enum's choice, or string. */
export type FlagValue<F extends FlagSpec> = F extends { type: "boolean" } ? boolean
  : F extends { type: "number" | "int"; words: readonly (infer W)[] } ? number | W
  : F extends { type: "number" | "int" } ? number
  : F extends { type: "enum"; choices: readonly (infer C)[] } ? C
  : string;

/** Parsed values by flag name; a flag without default (and not required) may be `undefined`. */
export type CliValues<S extends Record<string, FlagSpec> = Record<string, FlagSpec>> =
  & {
    [K in keyof S]: S[K] extends { default: unknown } | { required: true } | { type: "boolean" } ? FlagValue<S[K]>
      : FlagValue<S[K]> | undefined;
  }
  & { help: boolean; debug: boolean };

type LooseValues = Record<string, string | number | boolean | undefined>;

/** A command-line mistake (exit status 2). */
export class UsageError extends Error {
  /** @param message one line naming the flag and what was expected */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const BUILTIN: Record<string, FlagSpec> = {
  help: { type: "boolean", help: "print this help and exit" },
  debug: { type: "boolean", help: "print stack traces of errors" },
};

/** The `--help` text: summary, then every flag with its type, default and help. */
export function helpText(spec: CliSpec<Record<string, FlagSpec>>): string {
  const all = { ...spec.flags, ...BUILTIN };
  const rows = Object.entries(all).map(([name, f]) => {
    const meta = f.type === "boolean"
      ? ""
      : ` <${f.metavar ?? (f.type === "enum" ? f.choices?.join("|") : [f.type, ...(f.words ?? [])].join("|"))}>`;
    const dflt = f.default !== undefined ? ` (default: ${f.default})` : f.required ? " (required)" : "";
    return [`  --${name}${meta}`, `${f.help}${dflt}`] as const;
  });
  const w = Math.max(...rows.map(([a]) => a.length)) + 2;
  return `usage: deno task ${spec.task} [flags]\n\n${spec.summary}\n\nflags:\n${
    rows.map(([a, b]) => a.padEnd(w) + b).join("\n")
  }\n`;
}

function parseNumber(name: string, f: FlagSpec, raw: string): number | string {
  if (f.words?.includes(raw)) return raw;
  const ok = f.type === "int" ? /^[+-]?\d+$/.test(raw) : raw.trim() !== "" && Number.isFinite(Number(raw));
  const words = f.words?.length ? ` or ${f.words.map((x) => `"${x}"`).join("/")}` : "";
  if (!ok) {
    throw new UsageError(`--${name}: expected ${f.type === "int" ? "an integer" : "a number"}${words}, got "${raw}"`);
  }
  const v = Number(raw);
  if (f.min !== undefined && v < f.min) throw new UsageError(`--${name}: must be ≥ ${f.min}, got ${raw}`);
  if (f.max !== undefined && v > f.max) throw new UsageError(`--${name}: must be ≤ ${f.max}, got ${raw}`);
  return v;
}

function checkPath(name: string, rule: PathRule, p: string): void {
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.statSync(p);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new UsageError(`--${name}: cannot stat "${p}": ${(e as Error).message}`);
    }
  }
  if (rule === "out-dir") {
    if (info && !info.isDirectory) throw new UsageError(`--${name}: "${p}" exists and is not a directory`);
    return;
  }
  if (!info) throw new UsageError(`--${name}: "${p}" does not exist`);
  if (rule === "file" && !info.isFile) throw new UsageError(`--${name}: "${p}" is not a file`);
  if (rule === "dir" && !info.isDirectory) throw new UsageError(`--${name}: "${p}" is not a directory`);
}

/**
 * Parses and validates a command line; performs no I/O except `stat` for `path` flags.
 *
 * @param spec the task's declared flags
 * @param args the arguments (default `Deno.args`)
 * @returns the values by flag name, defaults filled in, plus `help` and `debug`
 * @throws {UsageError} on an unknown flag, a missing or malformed value, or a failed check
 */
export function parseCli<const S extends Record<string, FlagSpec>>(
  spec: CliSpec<S>,
  args: readonly string[] = Deno.args,
): CliValues<S> {
  const all: Record<string, FlagSpec> = { ...spec.flags, ...BUILTIN };
  // `--windows -1` would be rejected by parseArgs as "ambiguous"; joining known value flags
  // with `=` lets the value reach the numeric check and its clearer message.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const f = a.startsWith("--") && !a.includes("=") ? all[a.slice(2)] : undefined;
    if (f && f.type !== "boolean" && i + 1 < args.length) joined.push(`${a}=${args[++i]}`);
    else joined.push(a);
  }
  const options = Object.fromEntries(
    Object.entries(all).map(([n, f]) => [n, { type: f.type === "boolean" ? "boolean" as const : "string" as const }]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: joined, options, strict: true, allowPositionals: false });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split("\n")[0]} (see --help)`);
  }
  const raw = parsed.values as Record<string, string | boolean | undefined>;
  const out: LooseValues = { help: raw.help === true, debug: raw.debug === true };
  if (out.help) return out as CliValues<S>;
  for (const [name, f] of Object.entries(spec.flags as Record<string, FlagSpec>)) {
    const r = raw[name];
    if (r === undefined) {
      if (f.required) throw new UsageError(`--${name} is required (see --help)`);
      if (f.path === "out-dir" && typeof f.default === "string") checkPath(name, f.path, f.default);
      out[name] = f.type === "boolean" ? f.default ?? false : f.default;
      continue;
    }
    if (f.type === "boolean") {
      out[name] = r === true;
      continue;
    }
    const s = String(r);
    let v: string | number = s;
    if (f.type === "number" || f.type === "int") v = parseNumber(name, f, s);
    else if (f.type === "enum" && !f.choices?.includes(s)) {
      throw new UsageError(`--${name}: expected one of ${f.choices?.join(", ")}, got "${s}"`);
    } else if (f.type === "path" && f.path) checkPath(name, f.path, s);
    if (f.check) {
      try {
        f.check(v);
      } catch (e) {
        throw new UsageError(`--${name}: ${(e as Error).message}`);
      }
    }
    out[name] = v;
  }
  return out as CliValues<S>;
}

/**
 * Runs a task: parses flags (`--help` → help on stdout, exit 0; usage error → one line on
 * stderr, exit 2), then the body; an error from the body prints `task: message` (with the stack
 * under `--debug`) and exits 1.
 *
 * @param spec the task's declared flags
 * @param main the task body, called with the validated values
 * @param args the arguments (default `Deno.args`)
 * @returns when the body has finished successfully
 */
export async function runCli<const S extends Record<string, FlagSpec>>(
  spec: CliSpec<S>,
  main: (values: CliValues<S>) => Promise<void> | void,
  args: readonly string[] = Deno.args,
): Promise<void> {
  let values: CliValues<S>;
  try {
    values = parseCli(spec, args);
  } catch (e) {
    console.error(`${spec.task}: ${(e as Error).message}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(helpText(spec));
    Deno.exit(0);
  }
  try {
    await main(values);
  } catch (e) {
    const err = e as Error;
    console.error(values.debug ? `${spec.task}: ${err.stack ?? err.message}` : `${spec.task}: ${firstLine(err)}`);
    Deno.exit(1);
  }
}

function firstLine(e: Error): string {
  return String(e?.message ?? e).split("\n")[0]!;
}

/**
 * Writes an output directory atomically: `write` fills a fresh temporary directory next to
 * `dir` (same file system, so the rename is atomic); on success it replaces `dir` (an existing
 * directory is removed only after the new one is complete), on failure it is removed.
 *
 * @param dir the output directory (absent, or a directory that is replaced)
 * @param write fills the temporary directory whose path it receives
 * @returns what `write` returned
 * @throws {UsageError} when `dir` exists and is not a directory; rethrows what `write` throws
 */
export async function atomicOutput<T>(dir: string, write: (tmp: string) => Promise<T>): Promise<T> {
  checkPath("out", "out-dir", dir);
  const parent = dirname(dir);
  await Deno.mkdir(parent, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: parent, prefix: `.${basename(dir)}.tmp-` });
  let result: T;
  try {
    result = await write(tmp);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  const old = join(parent, `.${basename(dir)}.old-${Deno.pid}-${Date.now()}`);
  let moved = false;
  try {
    await Deno.rename(dir, old);
    moved = true;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.rename(tmp, dir);
  if (moved) await Deno.remove(old, { recursive: true });
  return result;
}
