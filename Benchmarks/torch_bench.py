"""The PyTorch side of `dartscope bench`: the same networks, the same phases.

Each phase is written the way a careful PyTorch user would write it (no
copies of the public DARTS code): autograd.grad for the α-gradient only,
double-backward for exact Hessian-vector products in the eigenvalue phase.
Prints JSON shaped like `dartscope bench --json` (medians in seconds).

    python torch_bench.py --network demo-s3 --threads 2 --repetitions 10
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from torch_supernet import Network

NETWORKS = {
    "demo-darts": dict(space="darts", in_channels=1, size=28, C=8, layers=5, batch=32),
    "demo-s3": dict(space="s3", in_channels=1, size=28, C=8, layers=5, batch=32),
    "paper-darts": dict(space="darts", in_channels=3, size=32, C=16, layers=8, batch=64),
}
PHASES = ["forward", "weight step", "arch step", "Λ weight step", "one HVP", "eigenvalue", "2nd-order arch step"]
# The search defaults (Configs/default.toml, DESIGN §3).
LR, MOMENTUM, WEIGHT_DECAY, CLIP = 0.025, 0.9, 3e-4, 5.0
ARCH_LR, ARCH_BETAS, ARCH_WEIGHT_DECAY = 3e-4, (0.5, 0.999), 1e-3
LAMBDA, LAMBDA_EPSILON0 = 0.125, 1e-4
HESSIAN_STEP, HESSIAN_TOLERANCE, HESSIAN_MAX_ITERATIONS = 1e-2, 1e-3, 20


class Bench:
    def __init__(self, spec, instance=None):
        """`instance`: the (model, check) safetensors `dartscope bench --write-check`
        wrote for this network, so both sides time the same weights, α, batches
        and Lanczos start vector (the eigenvalue's HVP count depends on them)."""
        torch.manual_seed(1)
        self.model = Network(spec["space"], spec["in_channels"], 10, spec["C"], spec["layers"])
        b, c, s = spec["batch"], spec["in_channels"], spec["size"]
        self.train = (torch.randn(b, c, s, s), torch.randint(0, 10, (b,)))
        self.valid = (torch.randn(b, c, s, s), torch.randint(0, 10, (b,)))
        self.lanczos_start = None
        if instance is not None:
            model, data = instance
            self.model.load_state_dict(model, strict=True)
            self.train = (data["input"], data["labels"])
            self.valid = (data["valid_input"], data["valid_labels"])
            self.lanczos_start = data["lanczos_start"]
        self.weights = self.model.weights()
        self.alphas = self.model.alphas()
        self.sgd = torch.optim.SGD(self.weights, LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
        self.adam = torch.optim.Adam(self.alphas, ARCH_LR, betas=ARCH_BETAS, weight_decay=ARCH_WEIGHT_DECAY)
        self.normal_cells = [i for i, cell in enumerate(self.model.cells) if not cell.reduction]

    def loss(self, batch, mixing=None):
        return F.cross_entropy(self.model(batch[0], mixing), batch[1])

    def mixing(self):
        """Per-cell copies p_l of softmax(α), leaves of their own (Λ_l = ∂L/∂p_l)."""
        result = []
        for cell in self.model.cells:
            a = self.model.alphas_reduce if cell.reduction and not self.model.shared else self.model.alphas_normal
            result.append(F.softmax(a, dim=-1).detach().requires_grad_(True))
        return result

    # --- phases -------------------------------------------------------------
    def forward(self):
        self.loss(self.train)

    def weight_step(self):
        self.sgd.zero_grad(set_to_none=True)
        self.loss(self.train).backward()
        torch.nn.utils.clip_grad_norm_(self.weights, CLIP)
        self.sgd.step()

    def arch_step(self):
        grads = torch.autograd.grad(self.loss(self.valid), self.alphas)
        for a, g in zip(self.alphas, grads):
            a.grad = g
        self.adam.step()

    def lambda_step(self):
        p = self.mixing()
        loss = self.loss(self.train, p)
        grads = torch.autograd.grad(loss, self.weights + p)
        task, layer = grads[:len(self.weights)], grads[len(self.weights):]
        # corr: d_l = c/‖g_l‖ (I − u_l u_lᵀ) s, u_l = g_l/‖g_l‖, s = Σ u_l over normal cells.
        g = [layer[i].flatten() for i in self.normal_cells]
        n = len(g)
        c = 1.0 / (n * (n - 1) / 2)
        norms = [x.norm().clamp_min(1e-30) for x in g]
        u = [x / m for x, m in zip(g, norms)]
        s = sum(u)
        d = [c / m * (s - ui * (ui @ s)) for ui, m in zip(u, norms)]
        eps = LAMBDA_EPSILON0 / torch.sqrt(sum((x * x).sum() for x in d))

        def shifted(sign):
            q = list(p)
            for k, i in enumerate(self.normal_cells):
                q[i] = (p[i] + sign * eps * d[k].view_as(p[i])).detach()
            return torch.autograd.grad(self.loss(self.train, q), self.weights)

        plus, minus = shifted(-1), shifted(1)
        for w, t, gp, gm in zip(self.weights, task, plus, minus):
            w.grad = t + LAMBDA * (gp - gm) / (2 * eps)
        torch.nn.utils.clip_grad_norm_(self.weights, CLIP)
        self.sgd.step()

    def _frozen_batch_norm(self):
        """BN in batch-statistics mode without touching the running statistics."""
        saved = [(m, m.momentum) for m in self.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        for m, _ in saved:
            m.momentum = 0.0
        return saved

    @staticmethod
    def _restore(saved):
        for m, momentum in saved:
            m.momentum = momentum

    def fd_hvp(self, v):
        """One central-difference HVP of the validation loss w.r.t. α (two gradient passes)."""
        saved = self._frozen_batch_norm()
        grads = []
        with torch.no_grad():
            for a, x in zip(self.alphas, v):
                a.add_(HESSIAN_STEP * x)
        grads.append(torch.autograd.grad(self.loss(self.valid), self.alphas))
        with torch.no_grad():
            for a, x in zip(self.alphas, v):
                a.sub_(2 * HESSIAN_STEP * x)
        grads.append(torch.autograd.grad(self.loss(self.valid), self.alphas))
        with torch.no_grad():
            for a, x in zip(self.alphas, v):
                a.add_(HESSIAN_STEP * x)
        self._restore(saved)
        return [(gp - gm) / (2 * HESSIAN_STEP) for gp, gm in zip(*grads)]

    def eigenvalue(self):
        """Dominant eigenvalue of ∇²α L_val + arch-L2·I by Lanczos with exact double-backward HVPs."""
        saved = self._frozen_batch_norm()
        grads = torch.autograd.grad(self.loss(self.valid), self.alphas, create_graph=True)
        flat = torch.cat([g.flatten() for g in grads])

        def hvp(v):
            hv = torch.autograd.grad(flat, self.alphas, v, retain_graph=True)
            return torch.cat([h.flatten() for h in hv]).double() + ARCH_WEIGHT_DECAY * v.double()

        n = flat.numel()
        if self.lanczos_start is None:
            generator = torch.Generator().manual_seed(0)
            q = torch.randn(n, generator=generator, dtype=torch.float64)
        else:
            q = self.lanczos_start.clone()
        basis = [q / q.norm()]
        alpha, beta, previous, count = [], [], None, 0
        for _ in range(min(HESSIAN_MAX_ITERATIONS, n)):
            w = hvp(basis[-1].float())
            count += 1
            alpha.append(float(w @ basis[-1]))
            for b in basis:  # full reorthogonalisation
                w -= (w @ b) * b
            t = torch.diag(torch.tensor(alpha, dtype=torch.float64))
            for i, value in enumerate(beta):
                t[i, i + 1] = t[i + 1, i] = value
            top = float(torch.linalg.eigvalsh(t)[-1])
            if previous is not None and abs(top - previous) <= HESSIAN_TOLERANCE * abs(top):
                break
            previous = top
            norm = float(w.norm())
            if norm < 1e-12:
                break
            beta.append(norm)
            basis.append(w / norm)
        self._restore(saved)
        self.hvps, self.eigenvalue_estimate = count, top
        return top

    def second_order_step(self):
        """The DARTS paper's unrolled α-gradient (eq. 7–8) and the Adam update."""
        weights = self.weights
        backup = [w.detach().clone() for w in weights]
        grads = torch.autograd.grad(self.loss(self.train), weights)
        with torch.no_grad():
            for w, g in zip(weights, grads):
                state = self.sgd.state.get(w, {})
                buffer = state.get("momentum_buffer")
                step = g + WEIGHT_DECAY * w + (MOMENTUM * buffer if buffer is not None else 0)
                w.sub_(LR * step)
        valid_loss = self.loss(self.valid)
        both = torch.autograd.grad(valid_loss, self.alphas + weights)
        d_alpha, d_w = both[:len(self.alphas)], both[len(self.alphas):]
        eps = 0.01 / torch.sqrt(sum((g * g).sum() for g in d_w))

        def train_alpha_gradient(sign):
            with torch.no_grad():
                for w, b, g in zip(weights, backup, d_w):
                    w.copy_(b + sign * eps * g)
            saved = self._frozen_batch_norm()
            result = torch.autograd.grad(self.loss(self.train), self.alphas)
            self._restore(saved)
            return result

        plus, minus = train_alpha_gradient(1), train_alpha_gradient(-1)
        with torch.no_grad():
            for w, b in zip(weights, backup):
                w.copy_(b)
        for a, g, gp, gm in zip(self.alphas, d_alpha, plus, minus):
            a.grad = g - LR * (gp - gm) / (2 * eps)
        self.adam.step()


def measure(body, warmup, repetitions):
    for _ in range(warmup):
        body()
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        body()
        samples.append(time.perf_counter() - start)
    samples.sort()
    q = statistics.quantiles(samples, n=4) if len(samples) > 1 else [samples[0]] * 3
    return {"median_seconds": statistics.median(samples), "spread_seconds": (q[2] - q[0]) / 2, "samples": samples}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", action="append", choices=sorted(NETWORKS))
    parser.add_argument("--phase", action="append", choices=PHASES)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--instance", help="folder from `dartscope bench --write-check`: time that network's "
                        "weights, α, batches and Lanczos start instead of a random network of the same shape")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    results = []
    for name in args.network or list(NETWORKS):
        instance = None
        if args.instance:
            instance = (load_file(f"{args.instance}/{name}.model.safetensors"),
                        load_file(f"{args.instance}/{name}.check.safetensors"))
        bench = Bench(NETWORKS[name], instance)
        generator = torch.Generator().manual_seed(3)
        direction = [torch.randn(a.shape, generator=generator) for a in bench.alphas]
        bodies = {
            "forward": bench.forward, "weight step": bench.weight_step, "arch step": bench.arch_step,
            "Λ weight step": bench.lambda_step, "one HVP": lambda: bench.fd_hvp(direction),
            "eigenvalue": bench.eigenvalue, "2nd-order arch step": bench.second_order_step,
        }
        phases = []
        for phase in args.phase or PHASES:
            result = {"phase": phase, **measure(bodies[phase], args.warmup, args.repetitions)}
            if phase == "eigenvalue":
                result["hvps"], result["eigenvalue"] = bench.hvps, bench.eigenvalue_estimate
            phases.append(result)
        results.append({
            "network": name, "threads": args.threads,
            "parameters": sum(w.numel() for w in bench.weights),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "torch": torch.__version__, "instance": bool(args.instance), "phases": phases,
        })
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
