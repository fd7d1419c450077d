"""A probe on a model whose every cell has its own α (layer_arch_parameters):
the alphas events carry each cell's softmax for the per-layer heatmaps, the
cell types' softmax is their cells' mean, and dartscope reads the snapshot."""

import json
import subprocess

import torch

from conftest import S3, attached, search_step
from dartscope_probe import Probe
from schema import problems
from supernet import Supernet
from test_probe import dartscope_binary


def test_per_layer_alphas_reach_the_dashboard_and_the_snapshot(tmp_path):
    binary = dartscope_binary()
    torch.manual_seed(0)
    model = Supernet(channels=2, layers=3, nodes=2, primitives=S3, per_layer=True)
    weights = torch.optim.SGD(model.weights(), 0.05, momentum=0.9)
    arch = torch.optim.Adam(model.arch_parameters(), 3e-3, betas=(0.5, 0.999))
    batch = torch.randn(8, 1, 12, 12), torch.randint(0, 10, (8,))
    cells = model.cell_types()
    assert cells == ["normal", "reduce", "reduce"]
    probe = Probe(model, weight_optimizer=weights, arch_optimizer=arch, listen=f"unix:{tmp_path}/p.sock", run_name="pl",
                  operations=S3, cells=cells, run_dir=str(tmp_path / "run"), quiet=True,
                  layer_arch_parameters=model.cell_alphas, layer_weights=lambda: model.cell_weights)
    probe.curvature(lambda: torch.nn.functional.cross_entropy(model(batch[0]), batch[1]))
    client = attached(probe)
    with torch.no_grad():  # cell 2 all skip, cell 1 all convolution: the mean must not hide either
        model.cell_alphas[1].zero_()
        model.cell_alphas[1][:, 2] = 3.0 + 0.1 * torch.arange(5)  # distinct strengths: no ties for the rule to break
        model.cell_alphas[2].zero_()
        model.cell_alphas[2][:, 1] = 3.0 + 0.1 * torch.arange(5)
    search_step(model, weights, arch, batch, probe)
    alphas = client.read_until(lambda m: m["type"] == "alphas")
    assert problems(alphas) == []
    layers = alphas["layer_softmax"]
    assert len(layers) == len(alphas["layer_genotype_marks"]) == len(alphas["layer_parameter_free"]) == 3
    for cell, own in enumerate(layers):
        assert torch.allclose(torch.tensor(own, dtype=torch.float64), torch.softmax(model.cell_alphas[cell].detach().double(), -1), atol=1e-12)
    mean = (torch.tensor(layers[1], dtype=torch.float64) + torch.tensor(layers[2], dtype=torch.float64)) / 2
    assert torch.allclose(torch.tensor(alphas["softmax_reduce"], dtype=torch.float64), mean, atol=1e-12)
    assert torch.allclose(torch.tensor(alphas["softmax_normal"], dtype=torch.float64), torch.tensor(layers[0], dtype=torch.float64), atol=1e-12)
    kept = [len(m) for m in alphas["layer_genotype_marks"]]
    assert alphas["layer_parameter_free"][1] == 0 and alphas["layer_parameter_free"][2] == kept[2] == 4

    probe.epoch_end(1.0, 0.5, 1.1, 0.4)  # the eigenvalue over every cell's α
    hessian = client.read_until(lambda m: m["type"] == "hessian")
    assert hessian["hvps"] > 0 and hessian["eigenvalue"] == hessian["eigenvalue"]

    path = probe.write_snapshot("pl")
    manifest = json.load(open(f"{path}/manifest.json"))
    assert manifest["layer_alphas"] == ["cell_alphas.0", "cell_alphas.1", "cell_alphas.2"] and manifest["cells"] == cells
    printed = subprocess.run([binary, "genotype", path], capture_output=True, text=True)
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert lines[0] == probe._architecture().genotype
    assert lines[1:] == [f"cell {i} ({cells[i]}): {_cell(alphas, i)}" for i in range(3)], printed.stdout
    assert lines[2].count("sep_conv_3x3") == 4 and lines[3].count("skip_connect") == 4
    refused = subprocess.run([binary, "hessian", path], capture_output=True, text=True)
    assert refused.returncode == 64 and "per-layer" in refused.stderr, refused.stderr
    probe.close()


def _cell(alphas, cell):
    """Cell `cell`'s kept edges as the reference code's list, from its marks."""
    inputs = [0, 1, 0, 1, 2]
    return "[" + ", ".join(f"('{S3[k]}', {inputs[e]})" for e, k in alphas["layer_genotype_marks"][cell]) + "]"
