"""dartscope's own PyTorch implementation of the DARTS search network.

Used (1) to produce test fixtures once (state_dict key lists, exact Hessians)
and (2) as the PyTorch side of the side-by-side benchmark. Module nesting is
chosen so that `state_dict()` names match the reference `model_search.Network`
(stem.0.weight, cells.L._ops.E._ops.K.op.1.weight, ...), which is what
dartscope's snapshots use.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

SPACES = {
    "darts": [["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
               "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]] * 14,
    "s2": [["skip_connect", "sep_conv_3x3"]] * 14,
    "s3": [["none", "skip_connect", "sep_conv_3x3"]] * 14,
    "s4": [["noise", "sep_conv_3x3"]] * 14,
    "tiny": [["skip_connect", "sep_conv_3x3", "max_pool_3x3"]] * 4,
}
S1_NORMAL = [
    ("skip_connect", "dil_conv_3x3"), ("skip_connect", "dil_conv_5x5"),
    ("skip_connect", "dil_conv_5x5"), ("skip_connect", "sep_conv_3x3"), ("skip_connect", "dil_conv_3x3"),
    ("max_pool_3x3", "skip_connect"), ("skip_connect", "sep_conv_3x3"), ("skip_connect", "sep_conv_3x3"),
    ("skip_connect", "dil_conv_3x3"), ("skip_connect", "sep_conv_3x3"), ("max_pool_3x3", "skip_connect"),
    ("skip_connect", "dil_conv_3x3"), ("dil_conv_3x3", "dil_conv_5x5"), ("dil_conv_3x3", "dil_conv_5x5"),
]
S1_REDUCE = [
    ("max_pool_3x3", "avg_pool_3x3"), ("max_pool_3x3", "dil_conv_3x3"),
    ("max_pool_3x3", "avg_pool_3x3"), ("max_pool_3x3", "avg_pool_3x3"), ("skip_connect", "dil_conv_5x5"),
    ("max_pool_3x3", "avg_pool_3x3"), ("max_pool_3x3", "sep_conv_3x3"), ("skip_connect", "dil_conv_3x3"),
    ("skip_connect", "dil_conv_5x5"), ("max_pool_3x3", "avg_pool_3x3"), ("max_pool_3x3", "avg_pool_3x3"),
    ("skip_connect", "dil_conv_5x5"), ("skip_connect", "dil_conv_5x5"), ("skip_connect", "dil_conv_5x5"),
]
TOPOLOGY = {"tiny": [[0, 1], [1, 2]]}


def candidates(space, reduction):
    if space == "s1":
        return [list(p) for p in (S1_REDUCE if reduction else S1_NORMAL)]
    return SPACES[space]


def topology(space):
    return TOPOLOGY.get(space, [list(range(2 + j)) for j in range(4)])


class Shifted(nn.Module):
    """x[:, :, 1:, 1:] zero-padded back to the input size (dartscope's FactorizedReduce branch)."""

    def forward(self, x):
        return F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))


class FactorizedReduce(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv_1 = nn.Conv2d(cin, cout // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(cin, cout // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(cout, affine=False)
        self.shift = Shifted()

    def forward(self, x):
        x = F.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(self.shift(x))], dim=1))


class Sequenced(nn.Module):
    """Holds an nn.Sequential under the attribute name `op` (ReLUConvBN, SepConv, DilConv)."""

    def __init__(self, *layers):
        super().__init__()
        self.op = nn.Sequential(*layers)

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x[:, :, ::self.stride, ::self.stride] * 0.0


class Noise(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return torch.randn_like(x[:, :, ::self.stride, ::self.stride])


def make_op(name, c, stride):
    if name == "none":
        return Zero(stride)
    if name == "noise":
        return Noise(stride)
    if name in ("max_pool_3x3", "avg_pool_3x3"):
        pool = (nn.MaxPool2d(3, stride, 1) if name.startswith("max")
                else nn.AvgPool2d(3, stride, 1, count_include_pad=False))
        return nn.Sequential(pool, nn.BatchNorm2d(c, affine=False))
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    k = 5 if name.endswith("5x5") else 3
    if name.startswith("sep"):
        return Sequenced(
            nn.ReLU(), nn.Conv2d(c, c, k, stride, k // 2, groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c, affine=False),
            nn.ReLU(), nn.Conv2d(c, c, k, 1, k // 2, groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c, affine=False))
    return Sequenced(
        nn.ReLU(), nn.Conv2d(c, c, k, stride, k - 1, dilation=2, groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False),
        nn.BatchNorm2d(c, affine=False))


class MixedEdge(nn.Module):
    def __init__(self, names, c, stride):
        super().__init__()
        self.names = names
        self._ops = nn.ModuleList(make_op(n, c, stride) for n in names)

    def forward(self, x, weights):
        return sum(w * op(x) for w, op, n in zip(weights, self._ops, self.names) if n != "none") \
            if any(n != "none" for n in self.names) else self._ops[0](x)


class Cell(nn.Module):
    def __init__(self, space, cpp, cp, c, reduction, reduction_prev):
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(cpp, c) if reduction_prev else \
            Sequenced(nn.ReLU(), nn.Conv2d(cpp, c, 1, bias=False), nn.BatchNorm2d(c, affine=False))
        self.preprocess1 = Sequenced(nn.ReLU(), nn.Conv2d(cp, c, 1, bias=False), nn.BatchNorm2d(c, affine=False))
        self.nodes = topology(space)
        ops = candidates(space, reduction)
        edges, e = [], 0
        for inputs in self.nodes:
            for i in inputs:
                edges.append(MixedEdge(ops[e], c, 2 if reduction and i < 2 else 1))
                e += 1
        self._ops = nn.ModuleList(edges)

    def forward(self, s0, s1, weights):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        e = 0
        for inputs in self.nodes:
            total = 0
            for i in inputs:
                total = total + self._ops[e](states[i], weights[e])
                e += 1
            states.append(total)
        return torch.cat(states[2:], dim=1)


class Network(nn.Module):
    def __init__(self, space="darts", in_channels=1, classes=10, C=8, layers=5):
        super().__init__()
        self.space = space
        stem = 3 * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem, 3, padding=1, bias=False), nn.BatchNorm2d(stem))
        cpp, cp, c = stem, stem, C
        nodes = len(topology(space))
        cells, reduction_prev = [], False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c *= 2
            cells.append(Cell(space, cpp, cp, c, reduction, reduction_prev))
            reduction_prev = reduction
            cpp, cp = cp, nodes * c
        self.cells = nn.ModuleList(cells)
        self.classifier = nn.Linear(cp, classes)
        k = sum(len(i) for i in topology(space))
        width = len(candidates(space, False)[0])
        self.shared = space == "tiny"
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(k, width))
        self.alphas_reduce = None if self.shared else nn.Parameter(1e-3 * torch.randn(k, width))

    def weights(self):
        return [p for n, p in self.named_parameters() if not n.startswith("alphas")]

    def alphas(self):
        return [self.alphas_normal] + ([] if self.shared else [self.alphas_reduce])

    def forward(self, x, mixing=None):
        """mixing: optional per-cell mixing matrices p_l (else softmax(α) of the cell's type)."""
        s0 = s1 = self.stem(x)
        for l, cell in enumerate(self.cells):
            if mixing is not None:
                w = mixing[l]
            else:
                a = self.alphas_reduce if cell.reduction and not self.shared else self.alphas_normal
                w = F.softmax(a, dim=-1)
            s0, s1 = s1, cell(s0, s1, w)
        return self.classifier(F.adaptive_avg_pool2d(s1, 1).flatten(1))
