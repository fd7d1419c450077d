"""`:rollback` and `:fork` on a probe: a snapshot restores the run bit for
bit, a damaged or foreign one changes nothing, a fork goes on as a new run."""

import json
import os
import time

import pytest
import torch

from conftest import attached, search_step
from dartscope_probe import snapshot
from schema import problems
from test_probe import make_probe


def queued(probe, count=1):
    deadline = time.time() + 5
    while probe.server.commands.qsize() < count and time.time() < deadline:
        time.sleep(0.01)
    assert probe.server.commands.qsize() == count


def state_of(model, *optimizers):
    """Everything a rollback must bring back, cloned."""
    return ({k: v.clone() for k, v in model.state_dict().items()},
            [{name: {k: v.clone() for k, v in opt.state[p].items()} for name, p in model.named_parameters() if p in opt.state}
             for opt in optimizers],
            [opt.param_groups[0]["lr"] for opt in optimizers])


def assert_same(found, expected):
    model, optimizers, rates = found
    assert model.keys() == expected[0].keys() and all(torch.equal(model[k], expected[0][k]) for k in model)
    for got, want in zip(optimizers, expected[1]):
        assert got.keys() == want.keys()
        for name in got:
            assert got[name].keys() == want[name].keys() and all(torch.equal(got[name][k], want[name][k]) for k in got[name]), name
    assert rates == expected[2]


def test_a_rollback_restores_the_run_bit_for_bit(tiny):
    model, weights, arch, batch, tmp = tiny
    probe = make_probe(tiny)
    client = attached(probe)
    for _ in range(2):
        search_step(model, weights, arch, batch, probe)
    probe.write_snapshot("s")
    random_after_snapshot = torch.rand(5)
    for _ in range(2):
        search_step(model, weights, arch, batch, probe)
    expected = state_of(model, weights, arch)  # two steps on from the snapshot

    client.command({"set": {"key": "optim.lr", "value": 0.5}})
    queued(probe)
    for _ in range(2):
        search_step(model, weights, arch, batch, probe)  # the run moves away
    client.command({"rollback": {"name": "s"}})
    queued(probe)
    search_step(model, weights, arch, batch, probe)  # step 7; the rollback at its boundary
    assert probe.step == 2, [m for m in client.messages if m["type"] == "error"] + [client.read() for _ in range(0)]
    assert probe.epoch == 0 and weights.param_groups[0]["lr"] == 0.05
    assert torch.equal(torch.rand(5), random_after_snapshot)
    for _ in range(2):
        search_step(model, weights, arch, batch, probe)
    assert_same(state_of(model, weights, arch), expected)

    # The dashboard receives the run afresh at the snapshot's step, with no history past it.
    run = client.read_until(lambda m: m["type"] == "run" and m["step"] == 2)
    afresh = [run]
    while afresh[-1]["type"] != "status":
        afresh.append(client.read())
    assert afresh[-2]["type"] != "step" or afresh[-2]["step"] <= 2
    assert all(m["step"] <= 2 for m in afresh if "step" in m and m["type"] != "run"), [m["type"] for m in afresh]
    assert [m for m in client.messages if problems(m)] == []
    control = client.read_until(lambda m: m["type"] == "control" and m["command"] == "rollback s")
    assert control["step"] == 2
    journal = [json.loads(line) for line in open(tmp / "run" / "journal.jsonl")]
    assert journal[-1] == {"step": 7, "epoch": 0, "command": {"rollback": {"name": "s"}}}
    probe.close()


def rewrite(folder, file, tensors):
    """Replaces one file of a snapshot and keeps the manifest's record true,
    so only the damage under test remains."""
    data = snapshot.safetensors_bytes(tensors) if isinstance(tensors, dict) else tensors
    with open(os.path.join(folder, file), "wb") as handle:
        handle.write(data)
    edit_manifest(folder, lambda m: m["files"].update({file: {"bytes": len(data), "crc32": __import__("zlib").crc32(data)}}))


def edit_manifest(folder, change):
    path = os.path.join(folder, "manifest.json")
    manifest = json.load(open(path))
    change(manifest)
    json.dump(manifest, open(path, "w"))


def model_tensors(folder):
    _, files = snapshot.read(folder)
    return dict(files["model.safetensors"])


def with_tensor(folder, key, value):
    tensors = model_tensors(folder)
    tensors[key] = value
    rewrite(folder, "model.safetensors", tensors)


def lying_offsets(folder):
    data = bytearray(open(os.path.join(folder, "model.safetensors"), "rb").read())
    (length,) = __import__("struct").unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    name = sorted(k for k in header if k != "__metadata__")[0]
    header[name]["data_offsets"][1] += 1 << 30
    encoded = json.dumps(header).encode()
    rewrite(folder, "model.safetensors", __import__("struct").pack("<Q", len(encoded)) + encoded + bytes(data[8 + length:]))


DAMAGE = {
    "a flipped byte": (lambda f: open(os.path.join(f, "model.safetensors"), "r+b").write(b"\x00\x00\x00\x00\x00\x00\x00\x00\xff"),
                       "crc32 differs"),
    "a truncated model file": (lambda f: os.truncate(os.path.join(f, "model.safetensors"), 100), "the manifest says"),
    "a manifest that is not JSON": (lambda f: open(os.path.join(f, "manifest.json"), "w").write("{"), "not JSON"),
    "offsets beyond the file": (lying_offsets, "do not hold"),
    "a tensor of another shape": (lambda f: with_tensor(f, "alphas_normal", torch.zeros(3, 3)), "alphas_normal is (3, 3)"),
    "a non-finite weight": (lambda f: with_tensor(f, "alphas_normal", torch.full_like(model_tensors(f)["alphas_normal"], float("nan"))),
                            "non-finite"),
    "a tensor the model lacks": (lambda f: with_tensor(f, "extra.weight", torch.zeros(2)), "unexpected ['extra.weight']"),
    "another run's snapshot": (lambda f: edit_manifest(f, lambda m: m.update(run_name="other")), "a snapshot of run 'other'"),
    "a step outside its epoch": (lambda f: edit_manifest(f, lambda m: m.update(step=40)), "step 40 is not in epoch 0"),
    "an impossible learning rate": (lambda f: edit_manifest(f, lambda m: m["values"].update({"optim.lr": -1.0})), "values: optim.lr"),
    "optimiser state of no parameter": (lambda f: rewrite(f, "optimizer.safetensors", {"weight.ghost.momentum_buffer": torch.zeros(2)}),
                                        "weight.ghost.momentum_buffer is no optimiser state"),
    "a random state out of range": (lambda f: rewrite(f, "rng.safetensors", {"cpu": torch.full((5056,), 300)}), "rng.safetensors: cpu"),
    "a missing snapshot": (lambda f: __import__("shutil").rmtree(f), "No such file"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_or_foreign_snapshot_is_refused_and_changes_nothing(tiny, damage):
    model, weights, arch, batch, tmp = tiny
    probe = make_probe(tiny)
    client = attached(probe)
    search_step(model, weights, arch, batch, probe)
    folder = probe.write_snapshot("s")
    search_step(model, weights, arch, batch, probe)
    damaged, fragment = DAMAGE[damage]
    damaged(folder)
    before = state_of(model, weights, arch)
    client.command({"rollback": {"name": "s"}})
    queued(probe)
    probe.weight_step(0.0)  # a boundary with no training before it
    assert probe.step == 3
    assert_same(state_of(model, weights, arch), before)
    error = client.read_until(lambda m: m["type"] == "error")
    assert error["message"].startswith("refused rollback s: ") and fragment in error["message"], error["message"]
    probe.close()


def test_a_fork_goes_on_as_a_new_run(tiny):
    model, weights, arch, batch, tmp = tiny
    probe = make_probe(tiny)
    client = attached(probe)
    search_step(model, weights, arch, batch, probe)
    client.command({"fork": {"name": "b"}})
    queued(probe)
    search_step(model, weights, arch, batch, probe)
    assert probe.run_name == "b" and probe.run_dir == str(tmp / "b")
    assert (tmp / "run" / "snapshots" / "fork-b" / "manifest.json").exists()  # the original stays behind
    assert (tmp / "b" / "snapshots" / "fork-b" / "manifest.json").exists()
    journal = [json.loads(line) for line in open(tmp / "b" / "journal.jsonl")]
    assert journal[-1] == {"step": 2, "epoch": 0, "command": {"fork": {"name": "b"}}}
    fork = client.read_until(lambda m: m["type"] == "fork")
    assert (fork["from"], fork["to"], fork["snapshot"]) == ("t", "b", "fork-b")
    assert client.read_until(lambda m: m["type"] == "run")["run_name"] == "b"
    assert client.read_until(lambda m: m["type"] == "status")["snapshots"] == ["fork-b"]

    # The fork's snapshot is its own to roll back to; a fork onto an existing run is refused.
    search_step(model, weights, arch, batch, probe)
    client.command({"rollback": {"name": "fork-b"}})
    client.command({"fork": {"name": "run"}})
    queued(probe, 2)
    search_step(model, weights, arch, batch, probe)
    assert probe.step == 2 and probe.run_name == "b"
    error = client.read_until(lambda m: m["type"] == "error")
    assert "exists: fork to a new run name" in error["message"], error["message"]
    assert [m for m in client.messages if problems(m)] == []
    probe.close()
