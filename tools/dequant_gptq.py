# SPDX-License-Identifier: MIT
"""Dequantize a Hugging Face GPTQ checkpoint with the AutoGPTQ formulas, independently of quantlab.

Usage: /usr/bin/python3 tools/dequant_gptq.py IN_DIR OUT_DIR [IN_DIR OUT_DIR ...]

Reads IN_DIR (config.json with quantization_config, or quantize_config.json; model.safetensors or
model.safetensors.index.json) and writes OUT_DIR/model.safetensors with every tensor in F32 under
its plain name (a linear's qweight/qzeros/scales/g_idx become `<linear>.weight` [out, in]) and
OUT_DIR/config.json without quantization_config, so any loader of full-precision checkpoints reads
the result. Prints one JSON line per checkpoint with what it read.

Written from the public description of the GPTQ checkpoint (AutoGPTQ `QuantLinear`, GPTQModel's
v1/v2 checkpoint formats), not from quantlab's code:

  qweight  int32 [in*bits/32, out]  codes packed along `in`, little-endian: for bits in {2, 4, 8},
                                    value j of a word is (word >> (bits*j)) & (2^bits - 1);
                                    for 3 bits, 32 values fill 3 words as one bitstream
  qzeros   int32 [G, out*bits/32]   zero points packed the same way along `out`;
                                    checkpoint_format "gptq" (v1) stores zero - 1, "gptq_v2" zero
  scales   fp16  [G, out]
  g_idx    int32 [in]               group of each input column
  W[i, o] = scales[g_idx[i], o] * (q[i, o] - zero[g_idx[i], o]);  weight = W^T  [out, in]

The product is formed in float32 (scales widened exactly from fp16). It is exact: an fp16 scale has
11 significant bits and |q - zero| < 2^8, so the product has at most 19 and float32 holds 24. fp16
GPU kernels round the same product to fp16 instead.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F16": np.float16, "I32": np.int32, "BF16": np.uint16, "F64": np.float64}


def read_safetensors(path):
    """Every tensor of one safetensors file as a numpy array (BF16 widened to float32)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        a = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        if info["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        out[name] = a
    return out


def read_checkpoint(d):
    index = os.path.join(d, "model.safetensors.index.json")
    if not os.path.exists(index):
        return read_safetensors(os.path.join(d, "model.safetensors"))
    with open(index) as f:
        files = sorted(set(json.load(f)["weight_map"].values()))
    tensors = {}
    for name in files:
        tensors.update(read_safetensors(os.path.join(d, name)))
    return tensors


def unpack_rows(packed, bits):
    """int32 [R, N] packed along dim 0 -> int64 [R*32/bits, N] (AutoGPTQ's `wf` shifts)."""
    p = torch.from_numpy(packed.astype(np.int64) & 0xFFFFFFFF)  # the words as unsigned 32-bit
    mask = (1 << bits) - 1
    if 32 % bits == 0:
        per = 32 // bits
        shifts = torch.arange(0, 32, bits, dtype=torch.int64)  # [per]
        v = (p.unsqueeze(1) >> shifts.view(1, per, 1)) & mask  # [R, per, N]
        return v.reshape(p.shape[0] * per, p.shape[1])
    # 3 bits: 32 values per 3 words; value k spans bits [3k, 3k + 3) of the 96-bit run
    R, N = p.shape
    runs = p.reshape(R // bits, bits, N)  # [R/3, 3, N]
    out = torch.empty((R // bits) * 32, N, dtype=torch.int64)
    for k in range(32):
        bit = k * bits
        w, off = bit // 32, bit % 32
        v = runs[:, w, :] >> off
        if off + bits > 32:
            v = v | (runs[:, w + 1, :] << (32 - off))
        out[k::32] = v & mask
    return out


def unpack_cols(packed, bits):
    """int32 [G, N*bits/32] packed along dim 1 -> int64 [G, N]."""
    return unpack_rows(np.ascontiguousarray(packed.T), bits).T


def dequantize(tensors, base, bits, v2):
    qweight = tensors.pop(base + ".qweight")
    qzeros = tensors.pop(base + ".qzeros")
    scales = torch.from_numpy(tensors.pop(base + ".scales").astype(np.float32))  # exact widening
    g_idx = torch.from_numpy(tensors.pop(base + ".g_idx").astype(np.int64))
    q = unpack_rows(qweight, bits)  # [in, out]
    zeros = unpack_cols(qzeros, bits) + (0 if v2 else 1)  # [G, out]
    W = scales[g_idx] * (q - zeros[g_idx]).to(torch.float32)  # [in, out]
    return W.t().contiguous().numpy(), zeros


def write_safetensors(path, tensors):
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def convert(src, dst):
    with open(os.path.join(src, "config.json")) as f:
        config = json.load(f)
    qc = config.pop("quantization_config", None)
    if qc is None:
        with open(os.path.join(src, "quantize_config.json")) as f:
            qc = json.load(f)
    fmt = qc.get("checkpoint_format", "gptq")
    if qc.get("quant_method", "gptq") != "gptq" or fmt not in ("gptq", "gptq_v2"):
        raise SystemExit(f"dequant_gptq.py: {src}: not a GPTQ checkpoint ({qc.get('quant_method')}, {fmt})")
    bits, sym = int(qc["bits"]), bool(qc.get("sym", True))
    tensors = read_checkpoint(src)
    bases = sorted(n[: -len(".qweight")] for n in tensors if n.endswith(".qweight"))
    out, sym_ok = {}, True
    for base in bases:
        W, zeros = dequantize(tensors, base, bits, fmt == "gptq_v2")
        # Marlin ignores qzeros for sym=True and uses 2^(bits-1): the stored ones must agree
        sym_ok = sym_ok and (not sym or bool((zeros == 2 ** (bits - 1)).all()))
        out[base + ".weight"] = W
    for name, a in tensors.items():
        out[name] = a.astype(np.float32)
    os.makedirs(dst, exist_ok=True)
    write_safetensors(os.path.join(dst, "model.safetensors"), out)
    config["torch_dtype"] = "float32"
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(json.dumps({"dir": src, "checkpoint_format": fmt, "bits": bits, "sym": sym, "linears": len(bases),
                      "other_tensors": len(tensors), "sym_zeros_implicit": sym_ok}))


def main(argv):
    if len(argv) < 2 or len(argv) % 2 != 0:
        raise SystemExit(__doc__.split("\n\n")[1])
    torch.set_num_threads(1)
    for i in range(0, len(argv), 2):
        convert(argv[i], argv[i + 1])


if __name__ == "__main__":
    main(sys.argv[1:])
