#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Executes notebooks in the real Deno Jupyter kernel and checks their outputs.

Usage (Debian's interpreter: it is the one that sees jupyter_client and nbformat):

    /usr/bin/python3 tools/run_notebooks.py [--html] [--timeout S] [NOTEBOOK.ipynb ...]

With no paths it runs every ``notebooks/*.ipynb`` in name order. Each notebook gets a fresh
``deno`` kernel whose working directory is the notebook's folder, so ``../mod.ts`` imports
and relative data paths work as they do in Jupyter. Executed copies are written to
``build/notebooks/<name>.ipynb`` (and ``<name>.html`` with ``--html``, through
``jupyter nbconvert``, Debian package ``jupyter-nbconvert``).

Why not nbclient / ``jupyter execute``: the Deno kernel sometimes publishes a cell's
``execute_result`` or stream output *after* its ``status: idle`` message, and nbclient stops
listening at idle, silently dropping it (4 of 10 runs lost an output here). This runner drives
``jupyter_client`` directly: for each cell it waits for both the shell ``execute_reply`` and
``status: idle``, then keeps draining IOPub until ``LATE_OUTPUT_GRACE_S`` passes with nothing
new. Outputs that arrive later still are attached to the cell they belong to (by parent
message id) while later cells run.

A notebook fails when
  * a cell produces an ``error`` output or an ``execute_reply`` with status error
    (execution stops at that cell, like "Run All"),
  * a cell runs longer than ``--timeout`` seconds (default 600; the kernel is interrupted),
  * a cell that *should* show something produced no output at all ("missing output").
    Heuristic, deliberately simple: looking only at the last non-empty line that is not a
    ``//`` comment, a cell is expected to show output unless that line ends with ``;``,
    ``}`` or ``*/``, or starts with a statement keyword (``const``, ``let``, ``import``,
    ``if``, ``for``, ``return``, ``type``, ...). So: end a cell with the
    value to display (house style), and end it with ``;`` when it deliberately shows
    nothing (e.g. ``await saveTable(path, t);``) or when its last expression is
    ``undefined`` (the Deno kernel shows nothing for ``undefined``).

Prints one summary line per notebook (cells, seconds, ok/FAILED) and exits 1 if any failed.
"""

import argparse
import importlib.util
import os
import queue
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbformat.v4 import output_from_msg

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
OUT_DIR = ROOT / "build" / "notebooks"
KERNEL_NAME = "deno"
# Quiet time after idle + reply before a cell counts as done (the late-output race).
LATE_OUTPUT_GRACE_S = 0.3
KERNEL_START_TIMEOUT_S = 60
POLL_S = 0.02

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
STATEMENT = re.compile(
    r"^(const|let|var|function|async\s+function|class|import|export|if|else|for|while|do|"
    r"switch|case|default|try|catch|finally|return|throw|type|interface|enum|declare|"
    r"namespace|break|continue)\b"
)


def expects_output(source):
    """The missing-output heuristic described in the module docstring."""
    lines = [s.strip() for s in source.splitlines()]
    lines = [s for s in lines if s and not s.startswith("//")]
    if not lines:
        return False
    last = lines[-1]
    if last.endswith((";", "}", "*/")):
        return False
    return STATEMENT.match(last) is None


def ensure_kernelspec(name):
    """Installs the Deno kernelspec (``deno jupyter --install --force``) if missing or stale."""
    try:
        argv0 = KernelSpecManager().get_kernel_spec(name).argv[0]
        if os.path.exists(argv0) or shutil.which(argv0):
            return
    except NoSuchKernel:
        pass
    deno = shutil.which("deno")
    if deno is None:
        sys.exit("run_notebooks: Cannot install the Deno kernel: `deno` is not on PATH")
    print(f"installing the Jupyter kernelspec '{name}' with {deno}", flush=True)
    subprocess.run([deno, "jupyter", "--install", "--force", "--name", name], check=True)


class Failure(Exception):
    """A notebook check failed at one cell."""

    def __init__(self, index, message):
        super().__init__(message)
        self.index = index
        self.message = message


class CellOutputs:
    """Routes IOPub messages to the cell that sent the request (by parent msg_id)."""

    def __init__(self):
        self.owners = {}  # msg_id -> cell
        self.clear_pending = set()  # ids of cells with a clear_output(wait=True) pending
        self.displays = {}  # display_id -> outputs to update
        self.last_message = 0.0

    def handle(self, msg):
        """Attaches one IOPub message; returns the execution state for status messages."""
        cell = self.owners.get(msg["parent_header"].get("msg_id"))
        kind = msg["msg_type"]
        content = msg["content"]
        if cell is None:
            return None
        if kind == "status":
            return content["execution_state"]
        self.last_message = time.monotonic()
        if kind == "execute_input":
            cell.execution_count = content.get("execution_count")
        elif kind == "clear_output":
            if content.get("wait"):
                self.clear_pending.add(id(cell))
            else:
                cell.outputs = []
        elif kind == "update_display_data":
            for out in self.displays.get(content.get("transient", {}).get("display_id"), []):
                out.data = content["data"]
                out.metadata = content.get("metadata", {})
        elif kind in ("stream", "display_data", "execute_result", "error"):
            if id(cell) in self.clear_pending:
                self.clear_pending.discard(id(cell))
                cell.outputs = []
            out = output_from_msg(msg)
            prev = cell.outputs[-1] if cell.outputs else None
            if kind == "stream" and prev is not None and prev.output_type == "stream" and prev.name == out.name:
                prev.text += out.text
            else:
                cell.outputs.append(out)
            display_id = content.get("transient", {}).get("display_id")
            if display_id:
                self.displays.setdefault(display_id, []).append(out)
        return None


def error_text(out):
    trace = "\n".join(out.get("traceback", [])) or f"{out.get('ename')}: {out.get('evalue')}"
    return ANSI.sub("", trace)


def drain(kc, router, seconds):
    """Routes IOPub messages until `seconds` pass with none arriving."""
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < seconds:
        try:
            router.handle(kc.get_iopub_msg(timeout=POLL_S))
            quiet_since = time.monotonic()
        except queue.Empty:
            pass


def run_cell(km, kc, router, index, cell, timeout):
    """Executes one code cell, collecting its outputs; raises Failure on error or timeout."""
    msg_id = kc.execute(cell.source, store_history=True, allow_stdin=False, stop_on_error=True)
    router.owners[msg_id] = cell
    reply = None
    idle_at = None
    deadline = time.monotonic() + timeout
    while True:
        now = time.monotonic()
        if reply is not None and idle_at is not None and now - max(idle_at, router.last_message) >= LATE_OUTPUT_GRACE_S:
            break
        if now > deadline:
            km.interrupt_kernel()
            drain(kc, router, 1.0)
            raise Failure(index, f"timed out after {timeout} s (kernel interrupted)")
        if reply is None and not km.is_alive():
            raise Failure(index, "the kernel died")
        try:
            msg = kc.get_iopub_msg(timeout=POLL_S)
            state = router.handle(msg)
            if state == "idle" and msg["parent_header"].get("msg_id") == msg_id:
                idle_at = time.monotonic()
        except queue.Empty:
            pass
        try:
            msg = kc.get_shell_msg(timeout=0)
            if msg["parent_header"].get("msg_id") == msg_id:
                reply = msg["content"]
        except queue.Empty:
            pass
    errors = [o for o in cell.outputs if o.output_type == "error"]
    if errors:
        raise Failure(index, error_text(errors[0]))
    if reply.get("status") == "error":
        raise Failure(index, f"{reply.get('ename')}: {reply.get('evalue')}")


def run_notebook(path, out_dir, timeout, kernel_name):
    """Executes `path`; returns (executed notebook, code cell count, failures)."""
    nb = nbformat.read(path, as_version=4)
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for _, cell in code:
        cell.outputs = []
        cell.execution_count = None
    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel(cwd=str(path.parent))
    kc = km.client()
    kc.start_channels()
    failures = []
    router = CellOutputs()
    try:
        kc.wait_for_ready(timeout=KERNEL_START_TIMEOUT_S)
        nb.metadata["kernelspec"] = {"name": kernel_name, "display_name": "Deno", "language": "typescript"}
        info = kc.kernel_info(reply=True, timeout=10)
        if "language_info" in info["content"]:
            nb.metadata["language_info"] = info["content"]["language_info"]
        for index, cell in code:
            if not cell.source.strip():
                continue
            try:
                run_cell(km, kc, router, index, cell, timeout)
            except Failure as f:
                failures.append(f)
                break
        drain(kc, router, LATE_OUTPUT_GRACE_S)  # late outputs of the last cell
        if not failures:
            for index, cell in code:
                if not cell.outputs and expects_output(cell.source):
                    last = [s for s in cell.source.splitlines() if s.strip()][-1].strip()
                    failures.append(Failure(
                        index,
                        f"missing output: the cell ends with the expression `{last}` but showed nothing "
                        "(end the cell with `;` if that is intended)",
                    ))
    except RuntimeError as e:  # kernel did not start
        failures.append(Failure(-1, str(e)))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    return nb, len(code), failures


def to_html(ipynb, out_dir):
    """Converts an executed notebook to HTML next to it; returns False (and says why) on failure."""
    args = [sys.executable, "-m", "nbconvert", "--to", "html", "--log-level", "WARN", "--output-dir", str(out_dir)]
    done = subprocess.run([*args, str(ipynb)], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  {ipynb.name}: nbconvert failed:\n{done.stderr}", file=sys.stderr, flush=True)
    return done.returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: notebooks/*.ipynb)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per cell (default 600)")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR, help="where executed copies go (default build/notebooks)")
    parser.add_argument("--html", action="store_true", help="also convert executed notebooks to HTML (jupyter nbconvert)")
    parser.add_argument("--kernel", default=KERNEL_NAME, help="kernelspec name (default deno)")
    args = parser.parse_args()

    paths = [p.resolve() for p in args.notebooks] or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    if not paths:
        print(f"no notebooks in {NOTEBOOK_DIR.relative_to(ROOT)}/")
        return 0
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        sys.exit(f"run_notebooks: Cannot find {', '.join(missing)}")
    if args.html and importlib.util.find_spec("nbconvert") is None:
        sys.exit("run_notebooks: --html needs nbconvert: apt-get install -y jupyter-nbconvert")
    ensure_kernelspec(args.kernel)

    failed = 0
    for path in paths:
        t0 = time.monotonic()
        nb, n_code, failures = run_notebook(path, args.out_dir, args.timeout, args.kernel)
        seconds = time.monotonic() - t0
        if args.html and not to_html(args.out_dir / path.name, args.out_dir):
            failures.append(Failure(-1, "HTML conversion failed"))
        status = "ok" if not failures else "FAILED"
        print(f"{path.name}: {len(nb.cells)} cells ({n_code} code), {seconds:.1f} s, {status}", flush=True)
        for f in failures:
            where = f"cell {f.index}" if f.index >= 0 else "notebook"
            print(f"  {path.name} {where}: {f.message}".replace("\n", "\n    "), file=sys.stderr, flush=True)
        failed += bool(failures)
    print(f"{len(paths)} notebooks, {failed} failed; executed copies in {args.out_dir}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
