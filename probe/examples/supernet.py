"""A compact DARTS supernet written for dartscope's probe examples: cells of
four intermediate nodes, every edge a softmax(α)-weighted mixture of
candidate operations, one α matrix for normal cells and one for reduction
cells (Liu et al., 2019). Small enough to search on a CPU."""

import torch
import torch.nn as nn
import torch.nn.functional as F

PRIMITIVES = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
              "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in, c_out, kernel, stride, padding):
        super().__init__(nn.ReLU(), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False), nn.BatchNorm2d(c_out, affine=False))


class DilatedConv(nn.Sequential):
    def __init__(self, c, kernel, stride, padding, dilation):
        super().__init__(nn.ReLU(), nn.Conv2d(c, c, kernel, stride, padding, dilation=dilation, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c, affine=False))


class SeparableConv(nn.Sequential):
    """Two depthwise-separable convolutions in a row, the first carrying the stride."""

    def __init__(self, c, kernel, stride, padding):
        super().__init__(DilatedConv(c, kernel, stride, padding, 1), DilatedConv(c, kernel, 1, padding, 1))


class Zero(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x[:, :, :: self.stride, :: self.stride] * 0.0


class FactorizedReduce(nn.Module):
    """Halves the resolution with two offset 1×1 convolutions (a strided skip)."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.relu = nn.ReLU()
        self.even = nn.Conv2d(c_in, c_out // 2, 1, 2, bias=False)
        self.odd = nn.Conv2d(c_in, c_out - c_out // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=False)

    def forward(self, x):
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.even(x), self.odd(shifted)], dim=1))


def operation(name, c, stride):
    if name == "none":
        return Zero(stride)
    if name == "max_pool_3x3":
        return nn.Sequential(nn.MaxPool2d(3, stride, 1), nn.BatchNorm2d(c, affine=False))
    if name == "avg_pool_3x3":
        return nn.Sequential(nn.AvgPool2d(3, stride, 1, count_include_pad=False), nn.BatchNorm2d(c, affine=False))
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    kind, size = name.rsplit("_", 1)
    kernel = int(size.split("x")[0])
    if kind == "sep_conv":
        return SeparableConv(c, kernel, stride, kernel // 2)
    return DilatedConv(c, kernel, stride, kernel - 1, 2)  # dil_conv


class MixedEdge(nn.Module):
    def __init__(self, c, stride, primitives):
        super().__init__()
        self.candidates = nn.ModuleList(operation(p, c, stride) for p in primitives)

    def forward(self, x, weights):
        return sum(w * op(x) for w, op in zip(weights, self.candidates))


class Cell(nn.Module):
    def __init__(self, nodes, c_prev_prev, c_prev, c, reduction, reduction_prev, primitives):
        super().__init__()
        self.reduction = reduction
        self.nodes = nodes
        self.pre0 = FactorizedReduce(c_prev_prev, c) if reduction_prev else ReLUConvBN(c_prev_prev, c, 1, 1, 0)
        self.pre1 = ReLUConvBN(c_prev, c, 1, 1, 0)
        self.edges = nn.ModuleList()
        for node in range(nodes):
            for state in range(2 + node):
                self.edges.append(MixedEdge(c, 2 if reduction and state < 2 else 1, primitives))

    def forward(self, s0, s1, weights):
        states = [self.pre0(s0), self.pre1(s1)]
        edge = 0
        for _ in range(self.nodes):
            states.append(sum(self.edges[edge + i](h, weights[edge + i]) for i, h in enumerate(states)))
            edge += len(states) - 1
        return torch.cat(states[2:], dim=1)


class Supernet(nn.Module):
    def __init__(self, channels=8, layers=5, classes=10, nodes=4, in_channels=1, primitives=PRIMITIVES, per_layer=False):
        super().__init__()
        self.primitives = list(primitives)
        self.channels = channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 3 * channels, 3, padding=1, bias=False), nn.BatchNorm2d(3 * channels))
        c_prev_prev, c_prev, c = 3 * channels, 3 * channels, channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        for layer in range(layers):
            reduction = layer in (layers // 3, 2 * layers // 3)
            if reduction:
                c *= 2
            self.cells.append(Cell(nodes, c_prev_prev, c_prev, c, reduction, reduction_prev, self.primitives))
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, nodes * c
        self.classifier = nn.Linear(c_prev, classes)
        edges = sum(2 + i for i in range(nodes))
        if per_layer:  # every cell its own α (Probe(layer_arch_parameters=model.cell_alphas))
            self.cell_alphas = nn.ParameterList(nn.Parameter(1e-3 * torch.randn(edges, len(self.primitives))) for _ in self.cells)
        else:
            self.alphas_normal = nn.Parameter(1e-3 * torch.randn(edges, len(self.primitives)))
            self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(edges, len(self.primitives)))

    def dartscope_network(self):
        """How dartscope rebuilds this supernet as its own (Probe(network=...)),
        so `dartscope hessian` reads this search's snapshots: the shape, and
        for every weight the name dartscope's network (the reference DARTS
        layout) gives it. The operations are the same; only names differ."""
        names = {}
        for name, _ in self.named_parameters():
            if not _is_alpha(name):
                names[_dartscope_name(name, self)] = name
        return {"init_channels": self.channels, "layers": len(self.cells), "classes": self.classifier.out_features,
                "in_channels": self.stem[0].in_channels, "parameter_names": names}

    def cell_types(self):
        return ["reduce" if cell.reduction else "normal" for cell in self.cells]

    def weights(self):
        return [p for name, p in self.named_parameters() if not _is_alpha(name)]

    def arch_parameters(self):
        return list(self.cell_alphas) if hasattr(self, "cell_alphas") else [self.alphas_normal, self.alphas_reduce]

    def alpha_of(self, index):
        if hasattr(self, "cell_alphas"):
            return self.cell_alphas[index]
        return self.alphas_reduce if self.cells[index].reduction else self.alphas_normal

    def forward(self, x):
        s0 = s1 = self.stem(x)
        # Each cell gets its own softmax copy of its type's α, so the
        # gradient each cell sends to α can be told apart (the probe's
        # per-layer panels: layer_weights=lambda: model.cell_weights).
        self.cell_weights = []
        for index, cell in enumerate(self.cells):
            weights = F.softmax(self.alpha_of(index), dim=-1)
            if weights.requires_grad:
                weights.retain_grad()
            self.cell_weights.append(weights)
            s0, s1 = s1, cell(s0, s1, weights)
        return self.classifier(F.adaptive_avg_pool2d(s1, 1).flatten(1))


def _is_alpha(name):
    return name.startswith("alphas_") or name.startswith("cell_alphas.")


def _dartscope_name(name, model):
    """This module's parameter name → dartscope's (reference layout):
    cells.L.pre0/pre1 → preprocess0/1, edges.E.candidates.K → _ops.E._ops.K,
    and within each module its layers renamed by `_renamed`."""
    parts = name.split(".")
    if parts[0] != "cells":
        return name  # stem.*, classifier.*
    cell = model.cells[int(parts[1])]
    rest = parts[2:]
    if rest[0] in ("pre0", "pre1"):
        head, module, tail = [f"preprocess{rest[0][-1]}"], getattr(cell, rest[0]), rest[1:]
    else:  # edges.E.candidates.K.…
        head, module, tail = ["_ops", rest[1], "_ops", rest[3]], cell.edges[int(rest[1])].candidates[int(rest[3])], rest[4:]
    return ".".join(parts[:2] + head + _renamed(module, tail))


def _renamed(module, tail):
    """A module's parameter path as dartscope names it: FactorizedReduce's
    even/odd → conv_1/conv_2, a separable conv's two 4-layer halves → op.0 …
    op.7, the layers of any other sequence under `op.`."""
    if isinstance(module, FactorizedReduce):
        return [{"even": "conv_1", "odd": "conv_2", "bn": "bn"}[tail[0]]] + tail[1:]
    if isinstance(module, SeparableConv):
        return ["op", str(4 * int(tail[0]) + int(tail[1]))] + tail[2:]
    if isinstance(module, (DilatedConv, ReLUConvBN)):
        return ["op"] + tail
    return tail  # a pool's BN (no parameters: affine-free)
