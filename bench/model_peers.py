# SPDX-License-Identifier: MIT
"""PyTorch peer of the forward-pass benchmark (bench/model_bench.ts): an independent float32 torch
forward of the bundled Llama checkpoint, written from the Hugging Face modeling_llama conventions
(RMSNorm, rotate_half RoPE, causal softmax attention in f32, SwiGLU MLP), importing nothing from
quantlab. It reads config.json and model.safetensors itself.

Usage: OPENBLAS_NUM_THREADS=T OMP_NUM_THREADS=T /usr/bin/python3 bench/model_peers.py MODEL_DIR T
Then one JSON request per line on stdin, one JSON reply per line on stdout:

  {"op": "forward", "ids": [..B*T ints..], "batch": B, "seq": T}   loads the ids (no timing)
  {"op": "time"}                                                   one timed forward of the loaded ids
  {"op": "logits"}                                                 the first 8 logits of row 0 (a sanity check)
  {"op": "quit"}

Replies: {"seconds": s} for "time", {"ok": true} / {"logits": [...]} otherwise, {"error": msg} on failure.
One forward per "time" request so the caller can interleave it with the other sides.
"""
import json
import math
import struct
import sys
import time

import numpy as np
import torch


def read_safetensors(path):
    """safetensors by hand: u64 LE header size, JSON header, raw LE f32 data."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            raise ValueError(f"model_peers: Cannot read {name}: dtype {meta['dtype']} (expected F32)")
        a, b = meta["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(meta["shape"]).copy())
    return out


class Llama:
    def __init__(self, model_dir):
        with open(f"{model_dir}/config.json") as f:
            c = json.load(f)
        self.c = c
        self.w = read_safetensors(f"{model_dir}/model.safetensors")
        self.H, self.KV = c["num_attention_heads"], c["num_key_value_heads"]
        self.hd = c.get("head_dim") or c["hidden_size"] // self.H
        self.eps = c["rms_norm_eps"]
        if c.get("rope_scaling") or c.get("sliding_window") or c.get("attention_bias") or c.get("mlp_bias"):
            raise ValueError("model_peers: Cannot run this config: the peer implements plain Llama only")
        self.cache = {}

    def rms_norm(self, x, weight):
        return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def tables(self, T):
        if T not in self.cache:
            inv = 1.0 / (self.c["rope_theta"] ** (torch.arange(0, self.hd, 2, dtype=torch.int64).float() / self.hd))
            freqs = (inv[:, None] @ torch.arange(T).float()[None, :]).T  # [T, hd/2]
            emb = torch.cat((freqs, freqs), dim=-1)
            mask = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)
            self.cache[T] = (emb.cos(), emb.sin(), mask)
        return self.cache[T]

    @staticmethod
    def rotate_half(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    def forward(self, ids):
        w, H, KV, hd = self.w, self.H, self.KV, self.hd
        B, T = ids.shape
        cos, sin, mask = self.tables(T)
        x = w["model.embed_tokens.weight"][ids]  # [B, T, d]
        for l in range(self.c["num_hidden_layers"]):
            p = f"model.layers.{l}"
            h = self.rms_norm(x, w[f"{p}.input_layernorm.weight"])
            q = (h @ w[f"{p}.self_attn.q_proj.weight"].T).view(B, T, H, hd).transpose(1, 2)
            k = (h @ w[f"{p}.self_attn.k_proj.weight"].T).view(B, T, KV, hd).transpose(1, 2)
            v = (h @ w[f"{p}.self_attn.v_proj.weight"].T).view(B, T, KV, hd).transpose(1, 2)
            q, k = q * cos + self.rotate_half(q) * sin, k * cos + self.rotate_half(k) * sin
            if KV != H:
                k, v = k.repeat_interleave(H // KV, dim=1), v.repeat_interleave(H // KV, dim=1)
            scores = (q @ k.transpose(2, 3)) * (1 / math.sqrt(hd)) + mask
            attn = torch.softmax(scores, dim=-1) @ v  # [B, H, T, hd]
            x = x + attn.transpose(1, 2).reshape(B, T, H * hd) @ w[f"{p}.self_attn.o_proj.weight"].T
            h = self.rms_norm(x, w[f"{p}.post_attention_layernorm.weight"])
            g, u = h @ w[f"{p}.mlp.gate_proj.weight"].T, h @ w[f"{p}.mlp.up_proj.weight"].T
            x = x + (torch.nn.functional.silu(g) * u) @ w[f"{p}.mlp.down_proj.weight"].T
        x = self.rms_norm(x, w["model.norm.weight"])
        head = w["model.embed_tokens.weight"] if self.c["tie_word_embeddings"] else w["lm_head.weight"]
        return (x @ head.T).reshape(B * T, -1)


def main():
    model_dir, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    model = Llama(model_dir)
    ids = None
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        try:
            if op == "quit":
                break
            if op == "forward":
                ids = torch.tensor(req["ids"], dtype=torch.int64).view(req["batch"], req["seq"])
                with torch.inference_mode():
                    model.forward(ids)  # warm-up: allocator, thread pool
                reply = {"ok": True}
            elif op == "time":
                with torch.inference_mode():
                    t0 = time.perf_counter()
                    model.forward(ids)
                    reply = {"seconds": time.perf_counter() - t0}
            elif op == "logits":
                with torch.inference_mode():
                    reply = {"logits": model.forward(ids)[0, :8].tolist()}
            else:
                reply = {"error": f"model_peers: Cannot run op {op!r}: expected forward, time, logits or quit"}
        except Exception as e:  # reported to the caller, which stops the benchmark
            reply = {"error": f"model_peers: {op}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
