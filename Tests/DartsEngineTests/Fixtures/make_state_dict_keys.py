"""Writes state_dict_keys.json: the state_dict keys and shapes of the PyTorch
search network (Benchmarks/torch_supernet.py) for the configurations the Swift
test compares against. Run once with torch installed; the JSON is committed."""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "Benchmarks"))
from torch_supernet import Network

configs = {
    "darts-1x28-C8-L5": dict(space="darts", in_channels=1, classes=10, C=8, layers=5),
    "s1-3x32-C16-L8": dict(space="s1", in_channels=3, classes=10, C=16, layers=8),
    "s4-1x28-C8-L5": dict(space="s4", in_channels=1, classes=10, C=8, layers=5),
    "tiny-1x28-C8-L5": dict(space="tiny", in_channels=1, classes=10, C=8, layers=5),
}
out = {}
for name, cfg in configs.items():
    net = Network(**cfg)
    keys = [[k, list(v.shape)] for k, v in net.state_dict().items() if not k.startswith("alphas")]
    keys += [[n, list(a.shape)] for n, a in (("alphas_normal", net.alphas_normal), ("alphas_reduce", net.alphas_reduce)) if a is not None]
    out[name] = {"config": cfg, "parameter_count": sum(p.numel() for p in net.weights()), "state_dict": keys}
with open(os.path.join(os.path.dirname(__file__), "state_dict_keys.json"), "w") as f:
    json.dump(out, f, indent=1)
print({k: (len(v["state_dict"]), v["parameter_count"]) for k, v in out.items()})
