"""Records what a dashboard receives from a probe on a tiny search — hello,
run, history, status, steps, α, epoch, eigenvalue, control, snapshot, error,
the run afresh after a rollback, fork — as the fixture the Swift side's decoding test reads
(Tests/DartsRemoteTests/Fixtures/probe_session.jsonl). Run once after a
change to the probe's messages:

    Benchmarks/.venv/bin/python probe/tests/record_session.py
"""

import os
import sys
import tempfile
import time

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from conftest import S3, attached, search_step  # noqa: E402
from supernet import Supernet  # noqa: E402

from dartscope_probe import Probe  # noqa: E402

torch.manual_seed(0)
model = Supernet(channels=2, layers=3, nodes=2, primitives=S3)
weights = torch.optim.SGD(model.weights(), 0.05, momentum=0.9)
arch = torch.optim.Adam(model.arch_parameters(), 3e-3)
batch = torch.randn(8, 1, 12, 12), torch.randint(0, 10, (8,))
with tempfile.TemporaryDirectory() as folder:
    probe = Probe(model, weight_optimizer=weights, arch_optimizer=arch, listen=f"unix:{folder}/p.sock", run_name="fixture",
                  space="s3-fixture", dataset="random", operations=S3, cells=model.cell_types(), epochs=1, steps_per_epoch=2,
                  run_dir=f"{folder}/run", quiet=True, layer_weights=lambda: model.cell_weights)
    probe.curvature(lambda: torch.nn.functional.cross_entropy(model(batch[0]), batch[1]))
    search_step(model, weights, arch, batch, probe)
    client = attached(probe)
    client.command({"set": {"key": "optim.lr", "value": 0.02}})
    client.command({"snapshot": {"name": "fixture-snap"}})
    client.command({"set": {"key": "optim.lr", "value": 99}})
    time.sleep(0.3)
    search_step(model, weights, arch, batch, probe)
    probe.epoch_end(2.0, 0.2, 2.1, 0.15)
    # A rollback and a fork: the run arrives afresh (twice), with a fork event.
    client.command({"rollback": {"name": "fixture-snap"}})
    client.command({"fork": {"name": "fixture-fork"}})
    time.sleep(0.3)
    search_step(model, weights, arch, batch, probe)
    probe.close()
    lines = []
    while True:
        line = client.reader.readline()
        if not line:
            break
        lines.append(line)
    # What the client read before (the first messages) went through read_until.
    import json
    recorded = [json.dumps(m, sort_keys=True, ensure_ascii=False).encode() + b"\n" for m in client.messages] + lines
out = os.path.join(here, "..", "..", "Tests", "DartsRemoteTests", "Fixtures", "probe_session.jsonl")
with open(out, "wb") as handle:
    handle.writelines(recorded)
print(f"{len(recorded)} lines -> {os.path.normpath(out)}")
