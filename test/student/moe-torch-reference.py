"""Independent oracle for dnc's MoE students: Hugging Face Mixtral (MixtralForCausalLM) in plain
torch, written from transformers' modeling_mixtral.py (MixtralSparseMoeBlock,
MixtralBlockSparseTop2MLP, load_balancing_loss_func), reading the exported brick directory itself
(config.json, model.safetensors). Attention, norms and rotary come from torch-reference.py (the
Llama oracle); the mixture is written here. It shares no code with dnc.

Usage: moe-torch-reference.py JOBS_JSON, JOBS_JSON = [{"directory": DIR, "ids": [...]}, ...]
-> prints [{"logits": [[...], ...], "balance_loss": float}, ...]

float64 throughout.
"""
import importlib.util
import json
import os
import sys

import torch
import torch.nn.functional as F

_spec = importlib.util.spec_from_file_location(
    "torch_reference", os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch-reference.py")
)
llama = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(llama)


def router_logits_of(w, prefix, hidden_states, config):
    """Mixtral's gate x Wg^T; with config dnc_router "cosine", X-MoE's / LibMoE's cosine gate:
    cos(P x, e_j) / tau with F.normalize (eps 1e-4) on the projected token and the expert embeddings."""
    if config.get("dnc_router", "softmax") != "cosine":
        return hidden_states @ w[prefix + "gate.weight"].T  # (N, E)
    projected = hidden_states @ w[prefix + "gate.projection.weight"].T  # (N, D)
    embeddings = F.normalize(w[prefix + "gate.weight"], p=2.0, dim=-1, eps=1e-4)  # (E, D)
    cosine = F.normalize(projected, p=2.0, dim=-1, eps=1e-4) @ embeddings.T  # (N, E)
    return cosine / config["dnc_router_temperature"]


def sparse_moe_block(w, prefix, hidden_states, top_k, num_experts, config):
    """MixtralSparseMoeBlock.forward (transformers), returns (output, router_logits)."""
    batch_size, sequence_length, hidden_dim = hidden_states.shape
    hidden_states = hidden_states.view(-1, hidden_dim)
    router_logits = router_logits_of(w, prefix, hidden_states, config)  # (N, E)
    routing_weights = F.softmax(router_logits, dim=1, dtype=torch.double)
    routing_weights, selected_experts = torch.topk(routing_weights, top_k, dim=-1)
    routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
    final_hidden_states = torch.zeros_like(hidden_states)
    expert_mask = F.one_hot(selected_experts, num_classes=num_experts).permute(2, 1, 0)
    for expert_idx in range(num_experts):
        e = prefix + "experts.%d." % expert_idx
        idx, top_x = torch.where(expert_mask[expert_idx])
        current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
        # MixtralBlockSparseTop2MLP: w2(act(w1(x)) * w3(x))
        current = (F.silu(current_state @ w[e + "w1.weight"].T) * (current_state @ w[e + "w3.weight"].T)) @ w[
            e + "w2.weight"
        ].T
        current = current * routing_weights[top_x, idx, None]
        final_hidden_states.index_add_(0, top_x, current)
    return final_hidden_states.reshape(batch_size, sequence_length, hidden_dim), router_logits


def load_balancing_loss(gate_logits, num_experts, top_k):
    """load_balancing_loss_func (transformers), without an attention mask."""
    concatenated = torch.cat(gate_logits, dim=0)
    routing_weights = F.softmax(concatenated, dim=-1)
    _, selected_experts = torch.topk(routing_weights, top_k, dim=-1)
    expert_mask = F.one_hot(selected_experts, num_experts)
    tokens_per_expert = torch.mean(expert_mask.double(), dim=0)
    router_prob_per_expert = torch.mean(routing_weights, dim=0)
    return torch.sum(tokens_per_expert * router_prob_per_expert.unsqueeze(0)) * num_experts


def forward(directory, token_ids):
    with open(os.path.join(directory, "config.json")) as handle:
        config = json.load(handle)
    assert config["model_type"] == "mixtral"
    w = llama.read_weights(directory)
    heads = config["num_attention_heads"]
    kv_heads = config["num_key_value_heads"]
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    eps = config["rms_norm_eps"]
    experts, top_k = config["num_local_experts"], config["num_experts_per_tok"]
    ids = torch.tensor(token_ids)
    length = ids.shape[0]
    x = w["model.embed_tokens.weight"][ids][None]  # (1, T, C)
    freqs = torch.outer(torch.arange(length).double(), llama.inverse_frequencies(config, head_dim))
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    mask = torch.full((length, length), float("-inf")).triu(1)
    gate_logits = []
    for layer in range(config["num_hidden_layers"]):
        p = "model.layers.%d." % layer
        h = llama.rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(1, length, -1, head_dim).transpose(1, 2)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(1, length, -1, head_dim).transpose(1, 2)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(1, length, -1, head_dim).transpose(1, 2)
        q = q * cos + llama.rotate_half(q) * sin
        k = k * cos + llama.rotate_half(k) * sin
        n_rep = heads // kv_heads
        k = k[:, :, None].expand(1, kv_heads, n_rep, length, head_dim).reshape(1, heads, length, head_dim)
        v = v[:, :, None].expand(1, kv_heads, n_rep, length, head_dim).reshape(1, heads, length, head_dim)
        scores = q @ k.transpose(2, 3) * head_dim**-0.5 + mask
        attended = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(1, length, -1)
        x = x + attended @ w[p + "self_attn.o_proj.weight"].T
        h = llama.rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        moe, router_logits = sparse_moe_block(w, p + "block_sparse_moe.", h, top_k, experts, config)
        gate_logits.append(router_logits)
        x = x + moe
    x = llama.rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if config["tie_word_embeddings"] else w["lm_head.weight"]
    return (x @ head.T)[0], float(load_balancing_loss(gate_logits, experts, top_k))


if __name__ == "__main__":
    results = []
    for job in json.loads(sys.argv[1]):
        logits, balance = forward(job["directory"], job["ids"])
        results.append({"logits": logits.tolist(), "balance_loss": balance})
    print(json.dumps(results))
