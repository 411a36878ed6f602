"""Independent check of dnc's merged LoRA adapters in PEFT's on-disk layout, in plain torch (float64):
reads adapter_config.json and adapter_model.safetensors the way PEFT's LoraModel does (tensor names
base_model.model.<module>.lora_A|lora_B.weight, scaling lora_alpha / r) and compares the merged
adapter's change of every module, (alpha / r) B A, with the weighted sum of its parents' changes.
Shares no code with dnc (safetensors are read by test/student/torch-reference.py's reader).

Usage: peft-torch-reference.py MERGED_DIR '[[PARENT_DIR, WEIGHT], ...]'
-> prints {"modules": N, "max_error": float, "max_change": float}
"""
import importlib.util
import json
import os
import sys

_spec = importlib.util.spec_from_file_location(
    "torch_reference",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "student", "torch-reference.py"),
)
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)

PREFIX = "base_model.model."


def deltas(directory):
    """PEFT's merge of each adapted module: W += (lora_alpha / r) * B @ A."""
    with open(os.path.join(directory, "adapter_config.json")) as handle:
        config = json.load(handle)
    assert config["peft_type"] == "LORA" and not config.get("use_rslora", False)
    scaling = config["lora_alpha"] / config["r"]
    tensors = reference.read_safetensors(os.path.join(directory, "adapter_model.safetensors"))
    result = {}
    for name, a in tensors.items():
        if not name.endswith(".lora_A.weight"):
            continue
        module = name[len(PREFIX) : -len(".lora_A.weight")]
        assert name.startswith(PREFIX) and a.shape[0] == config["r"], name
        b = tensors[PREFIX + module + ".lora_B.weight"]
        assert module.split(".")[-1] in config["target_modules"], module
        result[module] = scaling * (b.double() @ a.double())
    return result


if __name__ == "__main__":
    merged = deltas(sys.argv[1])
    parents = [(deltas(directory), weight) for directory, weight in json.loads(sys.argv[2])]
    worst, largest = 0.0, 0.0
    for module, change in merged.items():
        expected = sum(weight * parent[module] for parent, weight in parents if module in parent)
        worst = max(worst, float((change - expected).abs().max()))
        largest = max(largest, float(change.abs().max()))
    modules = set().union(*(parent.keys() for parent, _ in parents))
    assert modules == set(merged.keys()), (sorted(modules), sorted(merged.keys()))
    print(json.dumps({"modules": len(merged), "max_error": worst, "max_change": largest}))
