# SPDX-License-Identifier: MIT
"""A port of IST-DASLab/gptq `gptq.py` `GPTQ.fasterquant` with `quant.py` `Quantizer.find_params`
(asymmetric, per channel, `weight=True`) in PyTorch, written from the public code: f32
throughout, `torch.linalg.cholesky` + `torch.cholesky_inverse` + upper Cholesky for Hinv,
lazy blocks of `blocksize` columns, a Python loop over the columns of each block, groups fitted
on the fly when a column starts a group (no act-order, no static groups: the defaults of the
paper's W4 g128 runs). Used as the peer of quantlab's `gptq` by bench/peers.py.

Returns the dequantized weight and `torch.sum(Losses)`, the proxy loss the reference prints
as `error`. Run as a script (`/usr/bin/python3 bench/gptq_torch.py 768x3072 ...`) it prints one
JSON line of timings per size for bench/gptq_bench.ts.
"""
import torch


def find_params(x, maxq):
    """Quantizer.find_params(x, weight=True), asymmetric, per channel (rows of x)."""
    tmp = torch.zeros(x.shape[0], device=x.device)
    xmin = torch.minimum(x.min(1)[0], tmp)
    xmax = torch.maximum(x.max(1)[0], tmp)
    tmp = (xmin == 0) & (xmax == 0)
    xmin[tmp] = -1
    xmax[tmp] = +1
    scale = (xmax - xmin) / maxq
    zero = torch.round(-xmin / scale)
    return scale.reshape(-1, 1), zero.reshape(-1, 1)


def quantize(x, scale, zero, maxq):
    q = torch.clamp(torch.round(x / scale) + zero, 0, maxq)
    return scale * (q - zero)


def fasterquant(W, H, bits=4, blocksize=128, percdamp=0.01, groupsize=-1):
    """GPTQ.fasterquant on a weight W [rows, columns] and its Hessian H [columns, columns] (f32)."""
    W = W.clone().float()
    H = H.clone()  # the reference consumes self.H; clone so that repeated timings see the same input
    maxq = 2**bits - 1
    rows, columns = W.shape
    scale, zero = find_params(W, maxq)

    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0

    Losses = torch.zeros_like(W)
    Q = torch.zeros_like(W)

    damp = percdamp * torch.mean(torch.diag(H))
    diag = torch.arange(columns, device=W.device)
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
        Losses1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]

        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]

            if groupsize != -1 and (i1 + i) % groupsize == 0:
                scale, zero = find_params(W[:, (i1 + i):(i1 + i + groupsize)], maxq)

            q = quantize(w.unsqueeze(1), scale, zero, maxq).flatten()
            Q1[:, i] = q
            Losses1[:, i] = (w - q) ** 2 / d**2

            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1

        Q[:, i1:i2] = Q1
        Losses[:, i1:i2] = Losses1 / 2

        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])

    return Q, torch.sum(Losses).item()


def main():
    """CLI for bench/gptq_bench.ts --torch: one JSON line per ROWSxCOLS size (median of 3 after a warm-up)."""
    import json
    import sys
    import time

    torch.manual_seed(0)
    for size in sys.argv[1:]:
        rows, cols = (int(v) for v in size.split("x"))
        W = torch.randn(rows, cols) * 0.05
        X = torch.randn(max(2 * cols, 512), cols)
        H = 2 * X.t().matmul(X) / X.shape[0]
        fasterquant(W, H, groupsize=128)  # warm-up
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            fasterquant(W, H, groupsize=128)
            times.append(time.perf_counter() - t0)
        times.sort()
        print(json.dumps({"size": size, "seconds": times[1], "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
