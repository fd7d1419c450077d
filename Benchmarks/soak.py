#!/usr/bin/env python3
"""Soak: does a long headless search keep its memory and its files bounded?

Runs a tiny synthetic search (16 steps per epoch, so epoch ends — evaluation,
eigenvalue, snapshot, manifest rewrite — come every 16 steps) for at least
--steps steps, samples the process's resident set size with the step it has
reached, and reports

  * RSS after the warm-up (the step at which every bounded buffer — the
    metrics store's 2 000 steps, the manifest's 4 000 step events — is full)
    and at the end, and the least-squares slope after the warm-up in MB per
    10 000 steps (target < 1 MB);
  * the size of the newest snapshot's manifest.json at the end, and the
    largest one seen (the manifest's history is bounded, so it plateaus).

    python3 Benchmarks/soak.py [--steps 12000] [--warmup 4500] [--samples FILE]

Samples go to a CSV (step, seconds, rss_kb, manifest_bytes) as they are
taken, so an interrupted soak still leaves its data. This is a benchmark, not
a test: it takes minutes and its figures depend on the machine.
"""
import argparse
import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, ".build", "release", "dartscope")
STEPS_PER_EPOCH = 16  # 512 synthetic images, half for training, batch 16


def last_step(metrics_path):
    """The step of the newest complete line of the metrics file (0 before any)."""
    try:
        with open(metrics_path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            lines = handle.read().split(b"\n")[:-1]  # the last piece may be torn
    except OSError:
        return 0
    for line in reversed(lines):
        try:
            return int(json.loads(line).get("step", 0))
        except (ValueError, json.JSONDecodeError):
            continue
    return 0


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def newest_manifest_bytes(run_folder):
    manifests = glob.glob(os.path.join(run_folder, "snapshots", "*", "manifest.json"))
    sizes = []
    for path in manifests:
        try:
            sizes.append((os.path.getmtime(path), os.path.getsize(path)))
        except OSError:
            pass  # rotated away between the glob and the stat
    return max(sizes)[1] if sizes else 0


def slope_per_10k(points):
    """Least-squares slope of RSS (MB) against step, per 10 000 steps."""
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return (sxy / sxx) * 10000 / 1024 if sxx > 0 else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=12000)
    parser.add_argument("--warmup", type=int, default=4500)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between samples")
    parser.add_argument("--samples", default="soak-samples.csv")
    args = parser.parse_args()
    if not os.access(BINARY, os.X_OK):
        sys.exit("build first: swift build -c release")
    if args.warmup >= args.steps:
        sys.exit("--warmup must be below --steps")
    epochs = -(-args.steps // STEPS_PER_EPOCH)
    work = tempfile.mkdtemp(prefix="dartscope-soak-")
    os.symlink(os.path.join(ROOT, "Configs"), os.path.join(work, "Configs"))
    command = [BINARY, "run", "--headless", "--config", "default",
               "--set", "data.dataset=synthetic", "--set", "data.subset=512",
               "--set", "network.init_channels=4", "--set", "search.batch_size=16",
               "--set", f"search.epochs={epochs}", "--set", "run.name=soak"]
    run_folder = os.path.join(work, "runs", "soak")
    print(f"soak: {epochs} epochs × {STEPS_PER_EPOCH} steps of a tiny synthetic search in {work}", flush=True)
    log = open(os.path.join(work, "dartscope.log"), "w")
    process = subprocess.Popen(command, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    start = time.time()
    largest_manifest = 0
    samples = []
    with open(args.samples, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "seconds", "rss_kb", "manifest_bytes"])
        while process.poll() is None:
            time.sleep(args.interval)
            rss = rss_kb(process.pid)
            if rss is None:
                break
            step = last_step(os.path.join(run_folder, "metrics.jsonl"))
            manifest = newest_manifest_bytes(run_folder)
            largest_manifest = max(largest_manifest, manifest)
            samples.append((step, rss))
            writer.writerow([step, round(time.time() - start, 1), rss, manifest])
            handle.flush()
    status = process.wait()
    log.close()
    final_manifest = newest_manifest_bytes(run_folder)
    if status != 0:
        print(open(os.path.join(work, "dartscope.log")).read()[-2000:])
        sys.exit(f"soak: dartscope exited with status {status} (run folder kept: {work})")
    after = [(step, rss) for step, rss in samples if step >= args.warmup]
    if len(after) < 2:
        sys.exit(f"soak: fewer than two samples after step {args.warmup}; raise --steps")
    print(f"soak: {samples[-1][0]} steps in {time.time() - start:.0f} s, {len(samples)} samples in {args.samples}")
    print(f"soak: RSS {after[0][1] / 1024:.1f} MB at step {after[0][0]} (after the warm-up), "
          f"{after[-1][1] / 1024:.1f} MB at step {after[-1][0]}; "
          f"slope after the warm-up {slope_per_10k(after):+.2f} MB per 10 000 steps (target < 1)")
    print(f"soak: newest manifest.json {final_manifest / 1024:.1f} KB, largest seen {largest_manifest / 1024:.1f} KB")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
