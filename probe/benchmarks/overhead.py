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
JSON, to probe/benchmarks/overhead.json.

    probe/.venv/bin/python probe/benchmarks/overhead.py --in-process [--runs 3] [--steps 600] [--block 10]

measures it inside one process instead, so both sides share that process's
noise: the example search with a dashboard attached (a reader process that
takes every line the probe sends) calls the probe only in every other block
of --block steps (--probe-alternate), and each run reports the median step
of the blocks with and without the calls, a block's first step left out.
Results go to probe/benchmarks/overhead-in-process.json."""

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
parser.add_argument("--in-process", action="store_true", help="alternating blocks in one process, a dashboard attached")
parser.add_argument("--runs", type=int, default=3, help="--in-process: runs of the example")
parser.add_argument("--block", type=int, default=10, help="--in-process: steps per block")
options = parser.parse_args()
options.network = shlex.split(options.network)
common = options.network + ["--epochs", "100", "--steps", str(options.steps), "--threads", str(options.threads), "--no-eigenvalue"]

# A dashboard that reads everything: hello, then every line, discarded.
DRAIN = """
import json, socket, sys, time
deadline = time.time() + 60
while True:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1]); break
    except OSError:
        if time.time() > deadline: raise
        time.sleep(0.05)
s.sendall((json.dumps({"type": "hello", "schema": 2, "client": "overhead"}) + "\\n").encode())
count = 0
while True:
    data = s.recv(1 << 16)
    if not data: break
    count += data.count(b"\\n")
print(count)
"""


def in_process():
    runs = []
    for index in range(options.runs):
        with tempfile.TemporaryDirectory() as folder:
            address = f"{folder}/p.sock"
            example_run = subprocess.Popen([sys.executable, example, *common, "--probe-alternate", str(options.block),
                                            "--listen", f"unix:{address}"], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            reader = subprocess.Popen([sys.executable, "-c", DRAIN, address], stdout=subprocess.PIPE, text=True)
            out, err = example_run.communicate()
            lines = int(reader.communicate(timeout=30)[0].strip() or 0)
        found = re.search(r"with probe calls median ([0-9.]+) ms \((\d+) steps\), without ([0-9.]+) ms \((\d+) steps\)", out)
        calls = re.search(r"probe calls ([0-9.]+) ms per step", out)
        if not found or lines == 0:
            raise SystemExit(f"the example failed or no dashboard read it ({lines} lines):\n{out}\n{err}")
        run = {"with_ms": float(found.group(1)), "with_steps": int(found.group(2)), "without_ms": float(found.group(3)),
               "without_steps": int(found.group(4)), "probe_calls_ms_per_step": float(calls.group(1)) if calls else None,
               "lines_read_by_dashboard": lines}
        run["overhead_percent"] = 100 * (run["with_ms"] / run["without_ms"] - 1)
        runs.append(run)
        print(f"run {index + 1}: with calls {run['with_ms']:.2f} ms ({run['with_steps']} steps), without {run['without_ms']:.2f} ms "
              f"({run['without_steps']} steps): {run['overhead_percent']:+.2f} %; the dashboard read {lines} lines", flush=True)
    import torch
    result = {"settings": common + ["--probe-alternate", str(options.block)], "runs": runs,
              "overhead_percent_median": statistics.median(r["overhead_percent"] for r in runs), "torch": torch.__version__}
    print(json.dumps(result, indent=1))
    with open(os.path.join(here, "overhead-in-process.json"), "w") as handle:
        json.dump(result, handle, indent=1)


if options.in_process:
    in_process()
    raise SystemExit(0)


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
