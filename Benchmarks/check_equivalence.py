"""Checks that dartscope and the PyTorch harness compute the same thing.

Loads the model file dartscope writes for each benchmark network (exactly a
snapshot's model.safetensors) into Benchmarks/torch_supernet.Network with
strict key matching, runs the batch dartscope used, and compares the loss and
every gradient (weights and α) with dartscope's. Exits 1 on a mismatch.

    dartscope bench --write-check /tmp/check && python check_equivalence.py /tmp/check
"""
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from torch_bench import NETWORKS
from torch_supernet import Network

# dartscope computes the check's loss and gradients with its generic supernet
# code in Double from the float32 model values, and PyTorch does the same in
# float64, so both sides agree up to summation order.
TOLERANCE = 1e-8


def relative(a, b):
    return float((a - b).norm() / b.norm().clamp_min(1e-300))


def check(folder, name):
    spec = NETWORKS[name]
    model = Network(spec["space"], spec["in_channels"], 10, spec["C"], spec["layers"])
    state = load_file(f"{folder}/{name}.model.safetensors")
    model.load_state_dict(state, strict=True)  # same names, same shapes, nothing missing or extra
    model = model.double().train()
    data = load_file(f"{folder}/{name}.check.safetensors")
    loss = F.cross_entropy(model(data["input"].double()), data["labels"])
    named = list(model.named_parameters())
    missing = [n for n, _ in named if f"grad.{n}" not in data]
    grads = torch.autograd.grad(loss, [p for _, p in named])
    errors = {n: relative(data[f"grad.{n}"], g) for (n, _), g in zip(named, grads) if f"grad.{n}" in data}
    worst = max(errors, key=errors.get)
    loss = loss.detach()
    loss_error = abs(float(data["loss"]) - float(loss)) / abs(float(loss))
    ok = loss_error < TOLERANCE and errors[worst] < TOLERANCE and not missing
    print(f"{name}: {len(state)} tensors loaded (strict); loss dartscope {float(data['loss']):.12f} torch "
          f"{float(loss):.12f} (rel. diff {loss_error:.1e}); {len(errors)} gradients, worst relative difference "
          f"{errors[worst]:.1e} ({worst})" + (f"; no dartscope gradient for {missing}" if missing else "")
          + ("" if ok else "  FAILED"))
    return ok

if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else "/tmp/dartscope-check"
    results = [check(folder, name) for name in NETWORKS]
    sys.exit(0 if all(results) else 1)
