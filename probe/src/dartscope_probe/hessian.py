"""The dominant eigenvalue of the α-Hessian of a loss, by Lanczos over exact
Hessian-vector products (double backward) — the curvature DARTS-ES watches
(Zela et al., 2020). Measured on the model's own device, with its batch-norm
buffers and the random generators put back as they were, so a measurement
never changes the search it observes."""

import contextlib

import torch


@contextlib.contextmanager
def preserved(model: torch.nn.Module):
    """Restores every buffer of `model` (BN running statistics, counters) and
    the CPU and CUDA generators on exit; the forward passes in between may
    update them as they like."""
    buffers = {name: tensor.detach().clone() for name, tensor in model.named_buffers()}
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    try:
        yield
    finally:
        with torch.no_grad():
            for name, tensor in model.named_buffers():
                if name in buffers:
                    tensor.copy_(buffers[name])
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)


def dominant_eigenvalue(loss_fn, parameters, iterations: int = 20, tolerance: float = 1e-6, seed: int = 0):
    """Largest algebraic eigenvalue of ∇²_α loss_fn(), α = `parameters`.

    Returns (eigenvalue, Hessian-vector products used, batch loss).
    Lanczos with full reorthogonalisation (at most `iterations` steps, fewer
    when the Ritz value settles to `tolerance` or the Krylov space is
    exhausted); the start vector comes from a private generator.
    """
    parameters = list(parameters)
    loss = loss_fn()
    # allow_unused: an α no cell of this network reads has zero curvature.
    gradients = torch.autograd.grad(loss, parameters, create_graph=True, allow_unused=True)
    flat_gradient = torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(gradients, parameters)])
    size = flat_gradient.numel()
    device = flat_gradient.device

    def hvp(vector):
        if not flat_gradient.requires_grad:  # the loss is linear in α
            return torch.zeros_like(vector)
        products = torch.autograd.grad(flat_gradient, parameters, grad_outputs=vector.to(flat_gradient.dtype), retain_graph=True,
                                       allow_unused=True)
        return torch.cat([(h if h is not None else torch.zeros_like(p)).reshape(-1) for h, p in zip(products, parameters)]).detach().double()

    generator = torch.Generator(device="cpu").manual_seed(seed)
    start = torch.randn(size, generator=generator, dtype=torch.float64).to(device)
    basis = [start / start.norm()]
    alphas, betas = [], []
    previous, products = None, 0
    for _ in range(min(iterations, size)):
        w = hvp(basis[-1])
        products += 1
        alpha = torch.dot(w, basis[-1])
        alphas.append(alpha.item())
        for v in basis:  # full reorthogonalisation: the α space is small
            w = w - torch.dot(w, v) * v
        beta = w.norm().item()
        ritz = _largest_ritz_value(alphas, betas)
        if beta < 1e-10 or (previous is not None and abs(ritz - previous) <= tolerance * max(1.0, abs(ritz))):
            return ritz, products, loss.item()
        previous = ritz
        betas.append(beta)
        basis.append(w / beta)
    return _largest_ritz_value(alphas, betas[: len(alphas) - 1]), products, loss.item()


def _largest_ritz_value(alphas, betas):
    n = len(alphas)
    tridiagonal = torch.zeros(n, n, dtype=torch.float64)
    for i, a in enumerate(alphas):
        tridiagonal[i, i] = a
    for i, b in enumerate(betas[: n - 1]):
        tridiagonal[i, i + 1] = tridiagonal[i + 1, i] = b
    return torch.linalg.eigvalsh(tridiagonal)[-1].item()

