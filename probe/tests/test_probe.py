import json
import os
import subprocess
import threading
import time

import pytest
import torch

from conftest import S3, Client, attached, search_step
from dartscope_probe import Probe, dominant_eigenvalue, preserved
from schema import problems


def make_probe(tiny, listen=None, **options):
    model, weights, arch, batch, tmp = tiny
    listen = listen or f"unix:{tmp}/probe.sock"
    probe = Probe(model, weight_optimizer=weights, arch_optimizer=arch, listen=listen, run_name="t", space="test",
                  operations=S3, cells=model.cell_types(), epochs=2, steps_per_epoch=3, run_dir=str(tmp / "run"), quiet=True,
                  layer_weights=lambda: model.cell_weights, **options)
    probe.curvature(lambda: torch.nn.functional.cross_entropy(model(batch[0]), batch[1]))
    return probe


def test_every_message_follows_the_schema(tiny):
    model, weights, arch, batch, tmp = tiny
    probe = make_probe(tiny)
    search_step(model, weights, arch, batch, probe)  # history a late dashboard must get
    client = attached(probe)
    client.command({"set": {"key": "optim.lr", "value": 0.01}})
    client.command({"snapshot": {"name": "s1"}})
    client.command({"set": {"key": "no.such", "value": 1}})
    time.sleep(0.3)
    for _ in range(3):
        search_step(model, weights, arch, batch, probe)
    probe.epoch_end(1.0, 0.5, 1.1, 0.4)
    probe.close()
    while client.read() is not None:
        pass
    types = [m["type"] for m in client.messages]
    assert types[:2] == ["hello", "run"]
    for kind in ("step", "alphas", "alignment", "epoch", "hessian", "control", "snapshot", "error", "status"):
        assert kind in types, (kind, [m for m in client.messages if m["type"] == "error"])
    assert [m for m in client.messages if problems(m)] == [], [problems(m) for m in client.messages if problems(m)]
    assert client.messages[-1] == dict(client.messages[-1], type="status", state="FINISHED")


def test_eigenvalue_is_the_largest_of_the_full_hessian(tiny):
    model, _, _, (x, y), _ = tiny
    model = model.double()
    x = x.double()
    alphas = model.arch_parameters()

    def loss():
        return torch.nn.functional.cross_entropy(model(x), y)

    with preserved(model):
        value, products, _ = dominant_eigenvalue(loss, alphas, iterations=30, tolerance=1e-12)
        # The full Hessian, independently: torch's functional Hessian of the
        # loss as a function of the flattened α (both matrices).
        weights = dict(model.named_parameters())
        shapes = [a.shape for a in alphas]

        def of_flat(vector):
            normal, reduce = torch.split(vector, [s.numel() for s in shapes])
            replaced = dict(weights, alphas_normal=normal.view(shapes[0]), alphas_reduce=reduce.view(shapes[1]))
            return torch.nn.functional.cross_entropy(torch.func.functional_call(model, replaced, (x,)), y)

        flat = torch.cat([a.detach().reshape(-1) for a in alphas])
        hessian = torch.autograd.functional.hessian(of_flat, flat)
    largest = torch.linalg.eigvalsh((hessian + hessian.T) / 2)[-1].item()
    assert products <= 30
    assert abs(value - largest) <= 1e-6 * max(1.0, abs(largest)), (value, largest)


def test_per_layer_gradients_add_up_to_the_alpha_gradient(tiny):
    """Each cell's Λ_l is its share of ∂L/∂α: over the cells of a type they
    sum to the gradient α itself received on the architecture step."""
    model, weights, arch, batch, tmp = tiny
    probe = make_probe(tiny)
    search_step(model, weights, arch, batch, probe)  # arch.step() ran before arch_step: α.grad is still the valid one
    x, y = batch
    arch.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    probe.arch_step(0.0, 0.0)
    layers = probe._valid_layers
    for cell_type, alpha in (("normal", model.alphas_normal), ("reduce", model.alphas_reduce)):
        total = sum(layers[i] for i, c in enumerate(probe.cells) if c == cell_type)
        assert torch.allclose(total.float(), alpha.grad, atol=1e-6, rtol=1e-4), cell_type
    probe.weight_step(0.0)
    alignment = json.loads(probe._alignment_history[-1][1])
    reduce = [i for i, c in enumerate(probe.cells) if c == "reduce"]
    assert len(alignment["valid_cosine_reduce"]) == len(reduce) == 2
    assert alignment["valid_corr_reduce"] == alignment["valid_cosine_reduce"][0][1]
    assert alignment["valid_corr_normal"] is None  # one normal cell: no pairs
    probe.close()


def test_measuring_the_eigenvalue_leaves_buffers_and_generators_untouched(tiny):
    model, weights, arch, batch, tmp = tiny
    probe = make_probe(tiny)
    search_step(model, weights, arch, batch, probe)
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    rng = torch.get_rng_state()
    state = {id(p): {k: v.clone() for k, v in s.items() if torch.is_tensor(v)} for p, s in weights.state.items()}
    probe._measure_curvature(epoch_end=True)
    assert all(torch.equal(buffers[k], v) for k, v in model.named_buffers())
    assert torch.equal(rng, torch.get_rng_state())
    for p, s in weights.state.items():
        assert all(torch.equal(state[id(p)][k], v) for k, v in s.items() if torch.is_tensor(v))
    history = [json.loads(line) for _, line in probe._other_history]
    assert any(m["type"] == "hessian" and m["hvps"] > 0 for m in history)
    probe.close()


def test_a_set_takes_effect_at_the_next_step_boundary_and_not_before(tiny):
    model, weights, arch, batch, tmp = tiny
    probe = make_probe(tiny)
    client = attached(probe)
    client.command({"set": {"key": "optim.lr", "value": 0.0125}})
    deadline = time.time() + 5
    while probe.server.commands.qsize() == 0 and time.time() < deadline:
        time.sleep(0.01)
    assert probe.server.commands.qsize() == 1
    assert weights.param_groups[0]["lr"] == 0.05  # arrived, not applied
    search_step(model, weights, arch, batch, probe)  # the boundary at its end applies it
    assert weights.param_groups[0]["lr"] == 0.0125
    control = client.read_until(lambda m: m["type"] == "control")
    assert control["step"] == 1 and control["key"] == "optim.lr"
    entries = [json.loads(line) for line in open(tmp / "run" / "journal.jsonl")]
    assert entries == [{"step": 1, "epoch": 0, "command": {"set": {"key": "optim.lr", "value": 0.0125}}}]
    probe.close()


def test_pause_holds_the_loop_until_resume(tiny):
    model, weights, arch, batch, tmp = tiny
    probe = make_probe(tiny)
    client = attached(probe)
    client.command({"pause": {}})
    time.sleep(0.2)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (search_step(model, weights, arch, batch, probe), done.set()))
    worker.start()
    client.read_until(lambda m: m["type"] == "status" and m["state"] == "PAUSED")
    time.sleep(0.5)
    assert not done.is_set() and probe.step == 1
    client.command({"resume": {}})
    worker.join(5)
    assert done.is_set()
    probe.close()


def test_bad_messages_are_refused_and_training_goes_on(tiny):
    model, weights, arch, batch, tmp = tiny
    logs = []
    probe = make_probe(tiny)
    probe.quiet = False
    probe.server.log = logs.append
    client = attached(probe)
    client.socket.sendall(b"not json\n")
    client.send({"type": "command", "command": {"format": {"disk": True}}})
    client.send({"type": "command", "command": {"step": {"count": -3}}})
    try:
        client.socket.sendall(b"x" * (2 << 20) + b"\n")  # oversized: the dashboard is dropped
    except (BrokenPipeError, ConnectionResetError):
        pass  # the probe hung up mid-line, as it should
    time.sleep(0.5)
    for _ in range(2):
        search_step(model, weights, arch, batch, probe)
    assert probe.step == 2 and not probe.stopped
    assert any("not JSON" in line for line in logs) and any("not a command" in line for line in logs)
    assert any("longer than" in line for line in logs)
    # A dashboard that vanished does not block either.
    client.close()
    other = attached(probe)
    other.socket.close()
    for _ in range(3):
        search_step(model, weights, arch, batch, probe)
    assert probe.step == 5
    probe.close()


def test_beyond_loopback_a_token_is_required(tiny):
    probe = make_probe(tiny, listen="0.0.0.0:0")
    port = probe.server.address.rsplit(":", 1)[1]
    assert probe.server.token
    refused = Client(f"127.0.0.1:{port}")
    assert refused.read()["type"] == "refused"
    accepted = Client(f"127.0.0.1:{port}", token=probe.server.token)
    assert accepted.read()["type"] == "hello"
    wrong_schema = Client(f"127.0.0.1:{port}", token=probe.server.token, schema=99)
    reason = wrong_schema.read()["reason"]
    assert "99" in reason and "2" in reason
    probe.close()


def dartscope_binary():
    candidate = os.environ.get("DARTSCOPE_BIN") or os.path.join(os.path.dirname(__file__), "..", "..", ".build", "release", "dartscope")
    if not os.path.exists(candidate):
        if os.environ.get("DARTSCOPE_BIN"):
            pytest.fail(f"DARTSCOPE_BIN={candidate} does not exist")
        pytest.skip("dartscope is not built (swift build -c release); CI sets DARTSCOPE_BIN")
    return candidate


def test_a_probe_snapshot_is_read_by_dartscope(tiny):
    model, weights, arch, batch, tmp = tiny
    binary = dartscope_binary()
    probe = make_probe(tiny)
    for _ in range(2):
        search_step(model, weights, arch, batch, probe)
    with torch.no_grad():
        model.alphas_normal.zero_()
        model.alphas_normal[:, 2] = 1.0  # every normal edge: sep_conv_3x3
    path = probe.write_snapshot("probe-snap")
    expected = probe._architecture().genotype
    probe.close()
    printed = subprocess.run([binary, "genotype", path], capture_output=True, text=True)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == expected
    assert "('sep_conv_3x3', 0), ('sep_conv_3x3', 1)" in printed.stdout
    exported = subprocess.run([binary, "export", path, "--format", "json"], capture_output=True, text=True)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    assert document["step"] == 2 and document["normal_skip_count"] == 0
    # A damaged probe snapshot is refused like any other.
    with open(os.path.join(path, "model.safetensors"), "r+b") as handle:
        handle.seek(40)
        handle.write(b"\xff\xff")
    damaged = subprocess.run([binary, "genotype", path], capture_output=True, text=True)
    assert damaged.returncode == 64 and "crc32" in damaged.stderr


def test_dartscope_hessian_of_a_probe_snapshot_matches_torch(tiny):
    """`dartscope hessian` rebuilds the example supernet from a probe
    snapshot (network= and the stored batch) and its spectrum equals the
    full α-Hessian torch computes for the PyTorch model."""
    model, weights, arch, (x, y), tmp = tiny
    binary = dartscope_binary()
    probe = make_probe(tiny, network=model.dartscope_network())
    probe.curvature(lambda: torch.nn.functional.cross_entropy(model(x), y), batch=(x, y))
    for _ in range(3):
        search_step(model, weights, arch, (x, y), probe)
    path = probe.write_snapshot("curvature")
    probe.close()
    printed = subprocess.run([binary, "hessian", path, "--json"], capture_output=True, text=True)
    assert printed.returncode == 0, printed.stderr
    result = json.loads(printed.stdout)
    assert result["step"] == 3 and result["batch_file"].endswith("hessian_batch.safetensors")

    model = model.double()
    alphas = model.arch_parameters()
    shapes = [a.shape for a in alphas]
    parameters = dict(model.named_parameters())

    def of_flat(vector):
        normal, reduce = torch.split(vector, [s.numel() for s in shapes])
        replaced = dict(parameters, alphas_normal=normal.view(shapes[0]), alphas_reduce=reduce.view(shapes[1]))
        return torch.nn.functional.cross_entropy(torch.func.functional_call(model, replaced, (x.double(),)), y)

    flat = torch.cat([a.detach().reshape(-1) for a in alphas])
    hessian = torch.autograd.functional.hessian(of_flat, flat)
    expected = torch.linalg.eigvalsh((hessian + hessian.T) / 2)
    found = torch.tensor(result["eigenvalues"], dtype=torch.float64)
    assert found.shape == expected.shape
    assert abs(result["batch_loss"] - of_flat(flat).item()) < 1e-5
    # dartscope: float32 central differences (h = 0.01); measured 3.8e-5 at most.
    scale = max(1.0, expected.abs().max().item())
    assert (found - expected).abs().max().item() <= 5e-4 * scale, (found[-3:], expected[-3:])


def test_hessian_refuses_a_probe_snapshot_it_cannot_rebuild(tiny):
    model, weights, arch, batch, tmp = tiny
    binary = dartscope_binary()
    probe = make_probe(tiny)  # no network=: dartscope is not told how to rebuild the model
    search_step(model, weights, arch, batch, probe)
    path = probe.write_snapshot("opaque")
    probe.close()
    refused = subprocess.run([binary, "hessian", path], capture_output=True, text=True)
    assert refused.returncode == 64
    assert "no network block" in refused.stderr and "genotype" in refused.stderr
    with pytest.raises(ValueError, match="unknown keys"):
        Probe(model, listen=f"unix:{tmp}/other.sock", operations=S3, quiet=True, network={"channels": 2})
