# SPDX-License-Identifier: MIT
"""Peer timings for `deno task bench` (bench/peers_bench.ts): numpy and PyTorch through Debian's
/usr/bin/python3, driven over stdin/stdout so that every peer measurement can be interleaved with
the matching quantlab one (pairs A B A B ..., medians over pairs).

Usage: OPENBLAS_NUM_THREADS=T OMP_NUM_THREADS=T /usr/bin/python3 bench/peers.py T
Then one JSON request per line on stdin, one JSON reply per line on stdout:

  {"op": "matmul", "m": M, "k": K, "n": N, "reps": R}           numpy f32 a @ b
  {"op": "hessian", "tokens": T, "n": N, "dtype": "f32"|"f64", "reps": R}   numpy H += X.T @ X
  {"op": "gptq", "w": PATH, "h": PATH, "rows": R, "cols": C, "reps": R}      gptq_torch.fasterquant
  {"op": "quit"}

Replies: {"seconds": median over reps} (+ "loss" for gptq). Inputs are made once per shape
and reused, so a reply times the operation only, as the quantlab side does.
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def median_seconds(f, reps):
    f()  # warm-up: first touch of outputs, library initialisation
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    t.sort()
    return t[len(t) // 2]


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    rng = np.random.default_rng(0)
    cache = {}
    torch_mod = None
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        reps = int(req.get("reps", 3))
        if op == "quit":
            break
        if op == "matmul":
            key = ("mm", req["m"], req["k"], req["n"])
            if key not in cache:
                a = rng.standard_normal((req["m"], req["k"]), dtype=np.float32)
                b = rng.standard_normal((req["k"], req["n"]), dtype=np.float32)
                cache[key] = (a, b)
            a, b = cache[key]
            reply = {"seconds": median_seconds(lambda: a @ b, reps)}
        elif op == "hessian":
            dt = np.float32 if req["dtype"] == "f32" else np.float64
            key = ("h", req["tokens"], req["n"], req["dtype"])
            if key not in cache:
                x = rng.standard_normal((req["tokens"], req["n"]), dtype=np.float32).astype(dt)
                cache[key] = (x, np.zeros((req["n"], req["n"]), dtype=dt))
            x, h = cache[key]

            def acc():
                # GPTQ's add_batch idiom: H += Xᵀ·X (numpy uses syrk for X.T @ X)
                h.__iadd__(x.T @ x)

            reply = {"seconds": median_seconds(acc, reps)}
        elif op == "gptq":
            if torch_mod is None:
                import torch

                torch.set_num_threads(threads)
                import gptq_torch

                torch_mod = (torch, gptq_torch)
            torch, gptq_torch = torch_mod
            rows, cols = req["rows"], req["cols"]
            W = torch.from_numpy(np.fromfile(req["w"], dtype=np.float32).reshape(rows, cols))
            # The reference keeps H in f32 (GPTQ.add_batch accumulates in the layer's dtype).
            H = torch.from_numpy(np.fromfile(req["h"], dtype=np.float64).reshape(cols, cols).astype(np.float32))
            out = {}

            def run():
                out["loss"] = gptq_torch.fasterquant(W, H, bits=4, groupsize=128)[1]

            reply = {"seconds": median_seconds(run, reps), "loss": out["loss"], "threads": torch.get_num_threads()}
        else:
            reply = {"error": f"unknown op {op}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
