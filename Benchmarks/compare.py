"""Runs `dartscope bench` and torch_bench.py side by side and prints the table.

For each network and round, dartscope and PyTorch run one after the other in
separate processes (so peak RSS is per network) at the same thread count; the
order alternates between rounds. Each side's JSON is kept in --results as it
finishes, so an interrupted comparison loses at most one measurement and
`--report-only` rebuilds the table from what is there. Each cell is the median
over rounds of each side's median over repetitions. Writes the Markdown table
to --output too.

Both sides time the same problem: PyTorch loads the weights, α, batches and
Lanczos start vector `dartscope bench --write-check` writes (the number of
HVPs an eigenvalue estimate needs depends on all of them).
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NETWORKS = ["demo-darts", "demo-s3", "paper-darts"]
PHASES = ["forward", "weight step", "arch step", "Λ weight step", "one HVP", "eigenvalue", "2nd-order arch step"]
TARGETS = {"demo-darts": 3.0, "demo-s3": 3.0, "paper-darts": 1.5}


def run(command, path):
    """Runs one side for one network unless its JSON is already in `path`."""
    if not path.exists():
        result = subprocess.run(command, check=True, capture_output=True, text=True)
        path.write_text(result.stdout)
    return json.loads(path.read_text())[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dartscope", default=str(HERE.parent / ".build/release/dartscope"))
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--network", action="append", choices=NETWORKS)
    parser.add_argument("--phase", action="append", choices=PHASES, help="time only these phases (repeatable; default all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs before each side's repetitions")
    parser.add_argument("--eigenvalue-repetitions", type=int,
                        help="repetitions of the eigenvalue phase (default --repetitions; each is a whole Lanczos run)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--output", default=str(HERE / "results.md"))
    parser.add_argument("--results", default=str(HERE / "results"), help="folder for each side's raw JSON")
    parser.add_argument("--report-only", action="store_true", help="only build the table from --results")
    parser.add_argument("--instance", help="folder from `dartscope bench --write-check` (default: write one to a "
                        "temporary folder): PyTorch times the same weights, α, batches and Lanczos start as dartscope")
    parser.add_argument("--per-phase", action="store_true",
                        help="run each phase as its own pair of processes, both sides back to back (paired rounds)")
    args = parser.parse_args()

    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.TemporaryDirectory()
    instance = args.instance
    if instance is None and not args.report_only:
        instance = scratch.name
        print("compare: writing the shared benchmark instance", file=sys.stderr, flush=True)
        subprocess.run([args.dartscope, "bench", "--write-check", instance], check=True, capture_output=True)
    ours, theirs = {}, {}
    phases = args.phase or PHASES
    for name in args.network or NETWORKS:
        # --per-phase: every phase is a pair of processes of its own, so the
        # two sides of a ratio run seconds apart instead of minutes (this VM
        # slows down for minutes at a time; see the README's Noise paragraph).
        groups = [[p] for p in phases] if args.per_phase else [args.phase or []]
        for round_index in range(args.rounds):
            for group_index, group in enumerate(groups):
                repetitions = args.repetitions
                if group == ["eigenvalue"] and args.eigenvalue_repetitions:
                    repetitions = args.eigenvalue_repetitions
                common = ["--threads", str(args.threads), "--repetitions", str(repetitions), "--warmup", str(args.warmup)]
                for phase in group:
                    common += ["--phase", phase]
                sides = [("dartscope", [args.dartscope, "bench", "--json", "--network", name] + common),
                         ("torch", [args.python, str(HERE / "torch_bench.py"), "--network", name, "--instance", str(instance)] + common)]
                selection = "" if not group else "." + "+".join(str(PHASES.index(p)) for p in group)
                for side, command in sides if (round_index + group_index) % 2 == 0 else reversed(sides):
                    path = results / f"{name}.{side}.shared.t{args.threads}.r{repetitions}w{args.warmup}{selection}.{round_index + 1}.json"
                    if args.report_only and not path.exists():
                        continue
                    print(f"compare: {name} round {round_index + 1}{' ' + group[0] if args.per_phase else ''}: {side}",
                          file=sys.stderr, flush=True)
                    (ours if side == "dartscope" else theirs).setdefault(name, []).append(run(command, path))
        if name not in ours or name not in theirs:
            ours.pop(name, None)
            theirs.pop(name, None)

    eigenvalue_note = (f" ({args.eigenvalue_repetitions} for the eigenvalue)"
                       if args.eigenvalue_repetitions and args.per_phase and "eigenvalue" in phases else "")
    lines = [f"Threads: {args.threads} on both sides; medians of {args.repetitions} repetitions{eigenvalue_note} after a warm-up"
             f"{f', median over {args.rounds} alternating rounds' if args.rounds > 1 else ''}"
             f"{' (each phase a pair of processes run back to back)' if args.per_phase else ''}. "
             f"Ratio = median over rounds of PyTorch time / dartscope time in the same round (> 1: dartscope faster). GFLOP/s: dartscope's convolution FLOPs / time.", "",
             "| network | phase | dartscope ms | PyTorch ms | ratio | target | GFLOP/s | ratio per round |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for name in ours:
        for phase in phases:
            mine = [p for r in ours[name] for p in r["phases"] if p["phase"] == phase]
            other = [p for r in theirs[name] for p in r["phases"] if p["phase"] == phase]
            if not mine or not other:
                continue
            a = statistics.median(p["median_seconds"] for p in mine)
            b = statistics.median(p["median_seconds"] for p in other)
            # The ratio pairs the two sides round by round (each round's runs are adjacent).
            paired = [o["median_seconds"] / m["median_seconds"] for m, o in zip(mine, other)]
            ratio = statistics.median(paired)
            hvps = (f" ({mine[0]['hvps']} HVPs vs {other[0]['hvps']})" if "hvps" in mine[0] else "")
            target = "" if phase in ("forward",) else f"≥ {TARGETS[name]:g}"
            lines.append(f"| {name} | {phase}{hvps} | {a * 1e3:.1f} | {b * 1e3:.1f} | {ratio:.2f} | {target} | "
                         f"{statistics.median(p['gflops_per_second'] for p in mine):.1f} | {', '.join(f'{r:.2f}' for r in paired)} |")
    estimates = []
    for name in ours:
        mine = next((p for r in ours[name] for p in r["phases"] if p.get("eigenvalue") is not None), None)
        other = next((p for r in theirs[name] for p in r["phases"] if p.get("eigenvalue") is not None), None)
        if mine and other:
            difference = abs(mine["eigenvalue"] - other["eigenvalue"]) / abs(other["eigenvalue"])
            estimates.append(f"{name} {mine['eigenvalue']:.6g} vs {other['eigenvalue']:.6g} (rel. diff {difference:.1e})")
    if estimates:
        lines += ["", "Dominant eigenvalue on the shared instance, dartscope (central-difference HVPs) vs PyTorch "
                  "(double-backward HVPs): " + "; ".join(estimates) + "."]
    lines += ["", "| network | weights | forward MFLOP/sample | peak RSS dartscope MB | peak RSS PyTorch MB |", "|---|---:|---:|---:|---:|"]
    for name in ours:
        r, t = ours[name][0], theirs[name][0]
        flops = max(x["forward_flops_per_sample"] for x in ours[name])
        lines.append(f"| {name} | {r['parameters']} (PyTorch {t['parameters']}) | {flops / 1e6:.1f} | "
                     f"{max(x['peak_rss_mb'] for x in ours[name]):.0f} | {max(x['peak_rss_mb'] for x in theirs[name]):.0f} |")
    lines += ["", "Time by op kind in dartscope's weight step (profiled run):", ""]
    for name in ours:
        step = next((p for r in ours[name] for p in r["phases"] if p["phase"] == "weight step"), None)
        if step is None:
            continue
        shares = sorted(step["breakdown"].items(), key=lambda kv: -kv[1])
        lines.append(f"- {name}: " + ", ".join(f"{k} {v * 100:.0f}%" for k, v in shares if v >= 0.005))
    text = "\n".join(lines) + "\n"
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
