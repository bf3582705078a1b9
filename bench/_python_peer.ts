// SPDX-License-Identifier: MIT
/**
 * A Python peer process for the benchmarks: Debian's `/usr/bin/python3` running a script that
 * answers one JSON request per stdin line with one JSON reply per stdout line, so peer timings can
 * be interleaved with quantlab's (pairs A B A B …) instead of being taken in separate phases.
 *
 * @module
 */

/** A request/reply Python process (see the module doc). */
export class PythonPeer {
  #proc: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;

  /**
   * Starts `/usr/bin/python3 script ...args` with `OPENBLAS_NUM_THREADS`, `OMP_NUM_THREADS` and
   * `MKL_NUM_THREADS` set to `threads`.
   *
   * @param script path of the Python script
   * @param args its arguments
   * @param threads thread count for the peer's math libraries
   */
  constructor(script: string, args: string[], threads: number) {
    const t = String(threads);
    this.#proc = new Deno.Command("/usr/bin/python3", {
      args: [script, ...args],
      env: { OPENBLAS_NUM_THREADS: t, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    this.#lines = this.#proc.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines())[
      Symbol.asyncIterator
    ]();
  }

  /**
   * Sends one request and waits for its reply.
   *
   * @param req a JSON object with an `op`
   * @returns the parsed reply
   * @throws {Error} when the process ended or replied `{ error }`
   */
  async ask(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(req) + "\n"));
    const r = await this.#lines.next();
    if (r.done) throw new Error(`PythonPeer.ask: Cannot read a reply to ${req.op}: the process ended`);
    const j = JSON.parse(r.value);
    if (j.error) throw new Error(`PythonPeer.ask: ${j.error}`);
    return j;
  }

  /** Asks the process to quit and waits for it. */
  async close(): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify({ op: "quit" }) + "\n")).catch(() => undefined);
    await this.#writer.close().catch(() => undefined);
    await this.#proc.status;
  }
}

function splitLines(): TransformStream<string, string> {
  let buf = "";
  return new TransformStream({
    transform(chunk, ctl) {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        ctl.enqueue(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    },
  });
}
