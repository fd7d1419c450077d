"""Writes hessian_fixture.json: a tiny ReLU/max-pool supernet in float64 with
its weights, one batch, and what PyTorch computes for it by double backward —
loss, dL/dalpha, dL/dweights (a sample), Hessian-vector products, the full
Hessian of L w.r.t. alpha and its eigenvalues. BatchNorm uses batch statistics
(train mode) as dartscope's Hessian passes do. Run once with torch installed;
the JSON is committed and the Swift tests need no torch."""
import json, os, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "Benchmarks"))
from torch_supernet import Network

torch.manual_seed(7)
torch.set_default_dtype(torch.float64)


def build(space, C, layers, size, batch, classes):
    net = Network(space=space, in_channels=1, classes=classes, C=C, layers=layers).double()
    net.train()
    with torch.no_grad():
        for a in net.alphas():
            a.copy_(0.5 * torch.randn_like(a))
    x = torch.randn(batch, 1, size, size)
    y = torch.randint(0, classes, (batch,))
    return net, x, y


def case(space, C=2, layers=3, size=8, batch=4, classes=3, directions=2):
    net, x, y = build(space, C, layers, size, batch, classes)
    alphas = net.alphas()
    loss = F.cross_entropy(net(x), y)
    grads = torch.autograd.grad(loss, alphas + net.weights(), create_graph=True)
    ga = grads[:len(alphas)]
    flat = torch.cat([g.reshape(-1) for g in ga])
    n = flat.numel()
    hessian = torch.zeros(n, n)
    for i in range(n):
        row = torch.autograd.grad(flat[i], alphas, retain_graph=True)
        hessian[i] = torch.cat([r.reshape(-1) for r in row])
    vs = [torch.randn(n) for _ in range(directions)]
    hvps = [hessian @ v for v in vs]
    eig = torch.linalg.eigvalsh(0.5 * (hessian + hessian.T))
    state = {k: v.reshape(-1).tolist() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    for name, a in zip(["alphas_normal", "alphas_reduce"], alphas):
        state[name] = a.detach().reshape(-1).tolist()
    weight_grads = {name: g.detach().reshape(-1).tolist() for (name, _), g in
                    zip([(n_, p) for n_, p in net.named_parameters() if not n_.startswith("alphas")], grads[len(alphas):])}
    return {
        "space": space, "C": C, "layers": layers, "size": size, "batch": batch, "classes": classes,
        "input": x.reshape(-1).tolist(), "labels": y.tolist(),
        "parameters": state,
        "loss": loss.item(),
        "alpha_gradient": flat.detach().tolist(),
        "weight_gradients": weight_grads,
        "directions": [v.tolist() for v in vs],
        "hvps": [h.tolist() for h in hvps],
        "hessian": hessian.tolist(),
        "eigenvalues": eig.tolist(),
    }


out = {"tiny": case("tiny"), "s3": case("s3", layers=3), "darts": case("darts", layers=3, directions=1)}
with open(os.path.join(os.path.dirname(__file__), "hessian_fixture.json"), "w") as f:
    json.dump(out, f)
for k, v in out.items():
    print(k, "loss", v["loss"], "alphas", len(v["alpha_gradient"]), "max eig", max(v["eigenvalues"]), "min eig", min(v["eigenvalues"]))
