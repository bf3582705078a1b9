# SPDX-License-Identifier: MIT
"""GPTQ reference timing in PyTorch (IST-DASLab/gptq `fasterquant`, int, min-max per group,
lazy blocks of 128), for bench/gptq_bench.ts on the same machine.

Usage: /usr/bin/python3 bench/gptq_torch.py ROWSxCOLS [ROWSxCOLS ...]
Prints one JSON line per size: {"size": "256x768", "seconds": ...} (median of 3 after a warm-up).
Run with OMP_NUM_THREADS=2 (Debian torch defaults to 1 thread).
"""
import json
import sys
import time

import torch


def quantize(x, scale, zero, maxq):
    q = torch.clamp(torch.round(x / scale) + zero, 0, maxq)
    return scale * (q - zero)


def find_params(w, maxq):
    xmin = torch.minimum(w.min(1)[0], torch.zeros(w.shape[0]))
    xmax = torch.maximum(w.max(1)[0], torch.zeros(w.shape[0]))
    tmp = (xmin == 0) & (xmax == 0)
    xmin[tmp] = -1
    xmax[tmp] = +1
    scale = (xmax - xmin) / maxq
    zero = torch.round(-xmin / scale)
    return scale.unsqueeze(1), zero.unsqueeze(1)


def fasterquant(W, H, bits=4, blocksize=128, percdamp=0.01, groupsize=128):
    W = W.clone()
    H = H.clone()
    maxq = 2**bits - 1
    rows, columns = W.shape
    scale, zero = find_params(W, maxq)
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    Q = torch.zeros_like(W)
    damp = percdamp * torch.mean(torch.diag(H))
    diag = torch.arange(columns)
    H[diag, diag] += damp
    H = torch.linalg.cholesky(H)
    H = torch.cholesky_inverse(H)
    H = torch.linalg.cholesky(H, upper=True)
    Hinv = H
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            if groupsize != -1 and (i1 + i) % groupsize == 0:
                scale, zero = find_params(W[:, (i1 + i):(i1 + i + groupsize)], maxq)
            q = quantize(w.unsqueeze(1), scale, zero, maxq).flatten()
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        Q[:, i1:i2] = Q1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return Q


def main():
    torch.manual_seed(0)
    for size in sys.argv[1:]:
        rows, cols = (int(v) for v in size.split("x"))
        W = torch.randn(rows, cols) * 0.05
        X = torch.randn(max(2 * cols, 512), cols)
        H = 2 * X.t().matmul(X) / X.shape[0]
        fasterquant(W, H)  # warm-up
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            fasterquant(W, H)
            times.append(time.perf_counter() - t0)
        times.sort()
        print(json.dumps({"size": size, "seconds": times[1], "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
