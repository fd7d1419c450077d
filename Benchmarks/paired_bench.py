#!/usr/bin/env python3
"""Paired before/after table from `dartscope bench --json` rounds.

Usage: paired_bench.py DIR   (DIR holds before-N.json and after-N.json, run
alternately: before-1, after-1, before-2, ...). For each network and phase it
prints the median over rounds of each side's median time, the per-round
ratios after/before, and their median (> 1: after is slower)."""
import json, pathlib, statistics, sys

folder = pathlib.Path(sys.argv[1])
rounds = sorted({int(p.stem.split("-")[1]) for p in folder.glob("before-*.json")})
def load(side, r):
    return {(n["network"], p["phase"]): p["median_seconds"] for n in json.load(open(folder / f"{side}-{r}.json")) for p in n["phases"]}
before = [load("before", r) for r in rounds if (folder / f"after-{r}.json").exists()]
after = [load("after", r) for r in rounds if (folder / f"after-{r}.json").exists()]
print(f"| network | phase | before ms | after ms | after/before | per round |")
print("|---|---|---:|---:|---:|---|")
for key in before[0]:
    b = [x[key] * 1e3 for x in before]; a = [x[key] * 1e3 for x in after]
    ratios = [y / x for x, y in zip(b, a)]
    print(f"| {key[0]} | {key[1]} | {statistics.median(b):.1f} | {statistics.median(a):.1f} | {statistics.median(ratios):.3f} | "
          + ", ".join(f"{r:.2f}" for r in ratios) + " |")
