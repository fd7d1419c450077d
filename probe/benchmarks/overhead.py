"""What the probe costs the search it watches (not a test):

    probe/.venv/bin/python probe/benchmarks/overhead.py [--pairs 5] [--steps 40] [--network='--space darts ...']

Runs the example search in rounds of three — with the probe (telemetry, α
and per-layer alignment every step, eigenvalue off), with the probe
constructed but never called (--probe-idle: its threads alone) and without it
(--no-probe) — rotating the order, each in a fresh process on the same settings, and reports each run's median
step time, the median of the pairs' ratios, the time spent inside the
probe's calls per step (its direct cost, which run-to-run noise of ±15 % on
these machines cannot hide) and the eigenvalue's cost per Hessian-vector
product on the same network. Results go to stdout and, as
JSON, to probe/benchmarks/overhead.json."""

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
example = os.path.join(here, "..", "examples", "search.py")
sys.path.insert(0, os.path.join(here, "..", "examples"))

parser = argparse.ArgumentParser()
parser.add_argument("--pairs", type=int, default=3, help="rounds (of three runs each)")
parser.add_argument("--steps", type=int, default=40)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--network", default="--space s3 --images 2000 --channels 8 --layers 5 --batch-size 32",
                    help="the example's network options, one string (--network='--space darts ...')")
options = parser.parse_args()
options.network = shlex.split(options.network)
common = options.network + ["--epochs", "100", "--steps", str(options.steps), "--threads", str(options.threads), "--no-eigenvalue"]


def median_step(extra, inside=None):
    with tempfile.TemporaryDirectory() as folder:
        run = subprocess.run([sys.executable, example, *common, *extra, "--listen", f"unix:{folder}/p.sock"], cwd=folder,
                             capture_output=True, text=True)
    found = re.search(r"median step ([0-9.]+) ms", run.stdout)
    if not found:
        raise SystemExit(f"the example failed:\n{run.stdout}\n{run.stderr}")
    calls = re.search(r"probe calls ([0-9.]+) ms per step", run.stdout)
    if inside is not None and calls and not extra:
        inside.append(float(calls.group(1)))
    return float(found.group(1))


pairs = []
inside = []  # ms per step spent inside the probe's calls (its direct cost, free of run-to-run noise)
for index in range(options.pairs):
    order = [("probe", []), ("plain", ["--no-probe"]), ("idle", ["--probe-idle"])]
    order = order[index % 3:] + order[: index % 3]
    times = {name: median_step(extra, inside) for name, extra in order}
    pairs.append(times)
    print(f"round {index + 1}: with probe {times['probe']:.2f} ms, idle probe {times['idle']:.2f} ms, without {times['plain']:.2f} ms, "
          f"ratios {times['probe'] / times['plain']:.4f}, {times['idle'] / times['plain']:.4f}", flush=True)
ratios = [p["probe"] / p["plain"] for p in pairs]
idle_ratios = [p["idle"] / p["plain"] for p in pairs]

# The eigenvalue: Lanczos on the example network, per HVP.
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import fashion_mnist  # noqa: E402
from supernet import PRIMITIVES, Supernet  # noqa: E402

from dartscope_probe import dominant_eigenvalue, preserved  # noqa: E402

torch.set_num_threads(options.threads)
torch.manual_seed(1)
arguments = dict(zip(options.network[::2], options.network[1::2]))
model = Supernet(int(arguments.get("--channels", 8)), int(arguments.get("--layers", 5)),
                 primitives=PRIMITIVES if arguments.get("--space", "darts") == "darts" else ["none", "skip_connect", "sep_conv_3x3"])
images, labels = fashion_mnist.load(int(arguments.get("--batch-size", 32)))
per_hvp = []
for _ in range(3):
    with preserved(model):
        start = time.perf_counter()
        _, products, _ = dominant_eigenvalue(lambda: F.cross_entropy(model(images), labels), model.arch_parameters(), 20)
        per_hvp.append((time.perf_counter() - start) / products)
result = {"settings": common, "rounds": pairs, "ratio_median": statistics.median(ratios),
          "idle_ratio_median": statistics.median(idle_ratios),
          "probe_calls_ms_per_step_median": statistics.median(inside),
          "probe_calls_percent_of_step": 100 * statistics.median(inside) / statistics.median(p["probe"] for p in pairs),
          "overhead_percent_median": 100 * (statistics.median(ratios) - 1), "seconds_per_hvp_median": statistics.median(per_hvp),
          "torch": torch.__version__}
print(json.dumps(result, indent=1))
with open(os.path.join(here, "overhead.json"), "w") as handle:
    json.dump(result, handle, indent=1)
