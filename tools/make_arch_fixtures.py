"""Generate the architecture fixtures in tests/fixtures/arch/<variant>/ with golden logits.

What: for each variant (Llama plain / llama3 RoPE scaling / linear scaling / tied bf16 /
attention+MLP biases, Mistral sliding window, Qwen2 biases, Qwen2 per-layer sliding window,
Qwen3 q/k norms), a tiny random checkpoint in the Hugging Face layout -- config.json and
model.safetensors -- and golden.safetensors holding `input_ids` (i32 [B, T]) and `logits`
(f32 [B*T, vocab]) from an independent float32 PyTorch forward pass.

Why: the TypeScript forward pass (lib/model/) must match transformers on each architecture.
transformers is not installed here, so this file re-implements the conventions of its
modeling files (modeling_llama/mistral/qwen2/qwen3.py, modeling_rope_utils.py,
masking_utils.py) in plain torch, importing nothing from quantlab:
- RMSNorm: x * rsqrt(mean(x^2) + eps) in f32, times the weight;
- RoPE: rotate_half, inv_freq = 1 / base^(arange(0, hd, 2)/hd) in f32, `linear` divides by
  factor, `llama3` rescales by wavelength band (_compute_llama3_parameters);
- attention: q/k/v(/o) biases where the architecture has them, Qwen3 q_norm/k_norm over head_dim
  before RoPE, repeat_kv for grouped-query attention, scale hd^-1/2, causal mask plus sliding
  window kv_idx > q_idx - window (masking_utils.sliding_window_overlay), softmax in f32;
- MLP: down(silu(gate(x)) * up(x)) (+ biases with Llama mlp_bias);
- Mistral: sliding_window on every layer; Qwen2/3: only with use_sliding_window, on layers
  >= max_window_layers.
Weights stored as bf16 are rounded first and the golden pass uses the rounded values.

Run from the repository root (Debian's python3 with python3-torch; about 5 s):
  /usr/bin/python3 tools/make_arch_fixtures.py
"""
import json, math, os, struct
import torch

OUT = "tests/fixtures/arch"
B, T = 2, 24  # the mistral window (8) and the llama3 original context (16) are shorter than T

BASE = dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
            rms_norm_eps=1e-6, rope_theta=10000.0, hidden_act="silu", tie_word_embeddings=False)

VARIANTS = {
    "llama-plain": dict(model_type="llama", attention_bias=False, mlp_bias=False, rope_scaling=None),
    "llama-llama3": dict(model_type="llama", rope_scaling=dict(
        rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
        original_max_position_embeddings=16)),
    "llama-linear": dict(model_type="llama", rope_scaling=dict(type="linear", factor=4.0)),
    "llama-tied": dict(model_type="llama", tie_word_embeddings=True, _dtype="bf16"),
    "llama-bias": dict(model_type="llama", attention_bias=True, mlp_bias=True),
    "mistral-window": dict(model_type="mistral", sliding_window=8),
    "qwen2": dict(model_type="qwen2", num_key_value_heads=4, tie_word_embeddings=True,
                  use_sliding_window=False, sliding_window=4096, max_window_layers=28),
    "qwen2-window": dict(model_type="qwen2", use_sliding_window=True, sliding_window=6, max_window_layers=1),
    "qwen3": dict(model_type="qwen3", head_dim=16, attention_bias=False, use_sliding_window=False,
                  sliding_window=None, max_window_layers=2, _dtype="bf16"),
}

ARCH = {  # (q/k/v bias, o bias, mlp bias, q/k norm) as the transformers modeling files build them
    "llama": lambda c: (c.get("attention_bias", False), c.get("attention_bias", False), c.get("mlp_bias", False), False),
    "mistral": lambda c: (False, False, False, False),
    "qwen2": lambda c: (True, False, False, False),
    "qwen3": lambda c: (c.get("attention_bias", False), c.get("attention_bias", False), False, True),
}


def head_dim(c):
    return c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]


def layer_windows(c):
    """Sliding window of each layer (None: full causal), as the transformers configs derive it."""
    n = c["num_hidden_layers"]
    if c["model_type"] == "mistral":
        return [c.get("sliding_window", 4096)] * n
    if c["model_type"] in ("qwen2", "qwen3"):
        w = c.get("sliding_window", 4096) if c.get("use_sliding_window", False) else None
        return [w if w is not None and i >= c.get("max_window_layers", 28) else None for i in range(n)]
    return [None] * n


def make_weights(c, gen):
    d, ffn, V, hd = c["hidden_size"], c["intermediate_size"], c["vocab_size"], head_dim(c)
    H, KV = c["num_attention_heads"], c["num_key_value_heads"]
    qkv_b, o_b, mlp_b, qk_norm = ARCH[c["model_type"]](c)
    rn = lambda *s: torch.randn(*s, generator=gen)
    w = {"model.embed_tokens.weight": rn(V, d)}
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}"
        w[f"{p}.input_layernorm.weight"] = 1 + 0.2 * rn(d)
        w[f"{p}.post_attention_layernorm.weight"] = 1 + 0.2 * rn(d)
        lin = {"self_attn.q_proj": (H * hd, d, qkv_b), "self_attn.k_proj": (KV * hd, d, qkv_b),
               "self_attn.v_proj": (KV * hd, d, qkv_b), "self_attn.o_proj": (d, H * hd, o_b),
               "mlp.gate_proj": (ffn, d, mlp_b), "mlp.up_proj": (ffn, d, mlp_b), "mlp.down_proj": (d, ffn, mlp_b)}
        for name, (o, i, bias) in lin.items():
            w[f"{p}.{name}.weight"] = rn(o, i) / math.sqrt(i)
            if bias:
                w[f"{p}.{name}.bias"] = 0.5 * rn(o)
        if qk_norm:
            w[f"{p}.self_attn.q_norm.weight"] = 1 + 0.3 * rn(hd)
            w[f"{p}.self_attn.k_norm.weight"] = 1 + 0.3 * rn(hd)
    w["model.norm.weight"] = 1 + 0.2 * rn(d)
    if not c["tie_word_embeddings"]:
        w["lm_head.weight"] = rn(V, d) / math.sqrt(d)
    return w


def rms_norm(x, weight, eps):
    x32 = x.float()
    return weight * (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps))


def inv_freq(c):
    """transformers modeling_rope_utils: default, linear, llama3 (f32 tensors throughout)."""
    dim, base = head_dim(c), c["rope_theta"]
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    rs = c.get("rope_scaling")
    kind = None if rs is None else rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        inv = inv / rs["factor"]
    elif kind == "llama3":
        factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wl, high_wl = old / low, old / high
        wavelen = 2 * math.pi / inv
        inv_l = torch.where(wavelen > low_wl, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wavelen < high_wl) * ~(wavelen > low_wl)
        inv = torch.where(medium, smoothed, inv_l)
    elif kind not in (None, "default"):
        raise ValueError(kind)
    return inv


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def forward(c, w, ids):
    d, hd, eps = c["hidden_size"], head_dim(c), c["rms_norm_eps"]
    H, KV = c["num_attention_heads"], c["num_key_value_heads"]
    qkv_b, o_b, mlp_b, qk_norm = ARCH[c["model_type"]](c)
    Bn, Tn = ids.shape
    lin = lambda x, name, bias: x @ w[f"{name}.weight"].T + (w[f"{name}.bias"] if bias else 0)
    pos = torch.arange(Tn).float()
    freqs = (inv_freq(c)[:, None] @ pos[None, :]).T  # [T, hd/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    qi, kj = torch.arange(Tn)[:, None], torch.arange(Tn)[None, :]
    x = w["model.embed_tokens.weight"][ids]  # [B, T, d]
    for l, window in enumerate(layer_windows(c)):
        p = f"model.layers.{l}"
        allowed = kj <= qi
        if window is not None:
            allowed = allowed & (kj > qi - window)
        mask = torch.zeros(Tn, Tn).masked_fill(~allowed, torch.finfo(torch.float32).min)
        h = rms_norm(x, w[f"{p}.input_layernorm.weight"], eps)
        q = lin(h, f"{p}.self_attn.q_proj", qkv_b).view(Bn, Tn, H, hd)
        k = lin(h, f"{p}.self_attn.k_proj", qkv_b).view(Bn, Tn, KV, hd)
        v = lin(h, f"{p}.self_attn.v_proj", qkv_b).view(Bn, Tn, KV, hd).transpose(1, 2)
        if qk_norm:
            q = rms_norm(q, w[f"{p}.self_attn.q_norm.weight"], eps)
            k = rms_norm(k, w[f"{p}.self_attn.k_norm.weight"], eps)
        q, k = q.transpose(1, 2), k.transpose(1, 2)  # [B, heads, T, hd]
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(H // KV, dim=1), v.repeat_interleave(H // KV, dim=1)
        scores = (q @ k.transpose(2, 3)) * hd ** -0.5 + mask
        attn = torch.softmax(scores, dim=-1, dtype=torch.float32) @ v  # [B, H, T, hd]
        x = x + lin(attn.transpose(1, 2).reshape(Bn, Tn, H * hd), f"{p}.self_attn.o_proj", o_b)
        h = rms_norm(x, w[f"{p}.post_attention_layernorm.weight"], eps)
        g, u = lin(h, f"{p}.mlp.gate_proj", mlp_b), lin(h, f"{p}.mlp.up_proj", mlp_b)
        x = x + lin(torch.nn.functional.silu(g) * u, f"{p}.mlp.down_proj", mlp_b)
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if c["tie_word_embeddings"] else w["lm_head.weight"]
    return (x @ head.T).reshape(Bn * Tn, -1)


def tensor_bytes(t):
    if t.dtype == torch.bfloat16:
        return "BF16", t.contiguous().view(torch.int16).numpy().tobytes()
    if t.dtype == torch.int32:
        return "I32", t.contiguous().numpy().astype("<i4").tobytes()
    return "F32", t.contiguous().numpy().astype("<f4").tobytes()


def write_safetensors(path, tensors):
    """safetensors by hand: u64 LE header size, JSON header (padded to 8 bytes), raw LE data."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        dtype, b = tensor_bytes(t)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    for i, (variant, extra) in enumerate(VARIANTS.items()):
        c = {**BASE, **{k: v for k, v in extra.items() if not k.startswith("_")}}
        gen = torch.Generator().manual_seed(1000 + i)
        w = make_weights(c, gen)
        stored = {k: v.to(torch.bfloat16) for k, v in w.items()} if extra.get("_dtype") == "bf16" else w
        w = {k: v.float() for k, v in stored.items()}  # the golden pass sees exactly the stored values
        ids = torch.randint(0, c["vocab_size"], (B, T), generator=gen)
        with torch.no_grad():
            logits = forward(c, w, ids)
        out = os.path.join(OUT, variant)
        os.makedirs(out, exist_ok=True)
        c = {"architectures": [{"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2":
             "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}[c["model_type"]]], **c,
             "torch_dtype": "bfloat16" if extra.get("_dtype") == "bf16" else "float32"}
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(c, f, indent=2)
            f.write("\n")
        write_safetensors(os.path.join(out, "model.safetensors"), stored)
        write_safetensors(os.path.join(out, "golden.safetensors"),
                          {"input_ids": ids.to(torch.int32), "logits": logits.float()})
        print(f"{variant}: {sum(v.numel() for v in w.values())} parameters, logits max |.| "
              f"{logits.abs().max().item():.3f}")


if __name__ == "__main__":
    main()
