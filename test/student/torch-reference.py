"""Independent oracle for dnc's pretrained students: a forward pass written from the Hugging Face
transformers modeling files (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM,
Qwen3ForCausalLM) in plain torch, reading the checkpoint directory itself (config.json and
safetensors, F32/F16/BF16, single or sharded). It shares no code with dnc.

Usage: torch-reference.py JOBS_JSON, JOBS_JSON = [{"directory": MODEL_DIR, "ids": [...]}, ...]
-> prints [{"logits": [[...], ...]}, ...] (T x V per job; one process, so torch is imported once)

Computation is float64 so that the oracle's own rounding is far below the tolerance of the test.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch


def read_safetensors(path):
    with open(path, "rb") as handle:
        data = handle.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    base = 8 + length
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = data[base + begin : base + end]
        if entry["dtype"] == "F32":
            array = np.frombuffer(raw, dtype="<f4")
        elif entry["dtype"] == "F16":
            array = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif entry["dtype"] == "BF16":
            array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError("unexpected dtype " + entry["dtype"])
        tensors[name] = torch.from_numpy(array.copy()).reshape(entry["shape"]).double()
    return tensors


def read_weights(directory):
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as handle:
            shards = sorted(set(json.load(handle)["weight_map"].values()))
    else:
        shards = ["model.safetensors"]
    weights = {}
    for shard in shards:
        weights.update(read_safetensors(os.path.join(directory, shard)))
    return weights


def rms_norm(x, weight, eps):
    # LlamaRMSNorm / Qwen2RMSNorm / Qwen3RMSNorm
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def inverse_frequencies(config, head_dim):
    base = config.get("rope_theta", 10000.0)
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64).double() / head_dim))
    scaling = config.get("rope_scaling")
    if not scaling or scaling.get("rope_type", scaling.get("type")) in (None, "default"):
        return inv_freq
    assert scaling.get("rope_type", scaling.get("type")) == "llama3"
    # transformers.modeling_rope_utils._compute_llama3_parameters
    factor = scaling["factor"]
    low_freq_factor = scaling["low_freq_factor"]
    high_freq_factor = scaling["high_freq_factor"]
    old_context_len = scaling["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)


def biases(config):
    model_type = config["model_type"]
    if model_type == "qwen2":
        return {"q_proj", "k_proj", "v_proj"}
    result = set()
    if model_type in ("llama", "qwen3") and config.get("attention_bias", False):
        result |= {"q_proj", "k_proj", "v_proj", "o_proj"}
    if model_type == "llama" and config.get("mlp_bias", False):
        result |= {"gate_proj", "up_proj", "down_proj"}
    return result


def forward(directory, token_ids):
    with open(os.path.join(directory, "config.json")) as handle:
        config = json.load(handle)
    w = read_weights(directory)
    model_type = config["model_type"]
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    hidden = config["hidden_size"]
    head_dim = config.get("head_dim") or (128 if model_type == "qwen3" else hidden // heads)
    eps = config.get("rms_norm_eps", 1e-6)
    biased = biases(config)

    def linear(x, module, name):
        y = x @ w[module + ".weight"].T
        return y + w[module + ".bias"] if name in biased else y

    ids = torch.tensor(token_ids)
    length = ids.shape[0]
    x = w["model.embed_tokens.weight"][ids][None]  # (1, T, C)
    positions = torch.arange(length).double()
    freqs = torch.outer(positions, inverse_frequencies(config, head_dim))
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]  # (1, 1, T, hd)
    mask = torch.full((length, length), float("-inf")).triu(1)
    for layer in range(config["num_hidden_layers"]):
        p = "model.layers.%d." % layer
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = linear(h, p + "self_attn.q_proj", "q_proj").view(1, length, -1, head_dim)
        k = linear(h, p + "self_attn.k_proj", "k_proj").view(1, length, -1, head_dim)
        v = linear(h, p + "self_attn.v_proj", "v_proj").view(1, length, -1, head_dim)
        if model_type == "qwen3":  # Qwen3Attention: q_norm / k_norm over head_dim, before RoPE
            q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (1, H, T, hd)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        n_rep = heads // kv_heads  # repeat_kv
        k = k[:, :, None].expand(1, kv_heads, n_rep, length, head_dim).reshape(1, heads, length, head_dim)
        v = v[:, :, None].expand(1, kv_heads, n_rep, length, head_dim).reshape(1, heads, length, head_dim)
        scores = q @ k.transpose(2, 3) * head_dim**-0.5 + mask
        attended = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(1, length, -1)
        x = x + linear(attended, p + "self_attn.o_proj", "o_proj")
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = linear(h, p + "mlp.gate_proj", "gate_proj")
        up = linear(h, p + "mlp.up_proj", "up_proj")
        x = x + linear(torch.nn.functional.silu(gate) * up, p + "mlp.down_proj", "down_proj")
    x = rms_norm(x, w["model.norm.weight"], eps)
    tied = config.get("tie_word_embeddings", False)
    head = w["model.embed_tokens.weight"] if tied else w["lm_head.weight"]
    return (x @ head.T)[0]


if __name__ == "__main__":
    jobs = json.loads(sys.argv[1])
    print(json.dumps([{"logits": forward(job["directory"], job["ids"]).tolist()} for job in jobs]))
