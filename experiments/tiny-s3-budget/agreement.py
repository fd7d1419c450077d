"""Seed agreement of a tabular table beyond its seed pairs (issue 16):

    python3 experiments/tiny-s3-budget/agreement.py TABLE.json [...]

For a table with per-seed accuracies (`seed_accs`) it prints
- Kendall τ (τ-b, ties counted as dartscope's RankAgreement counts them; the
  seed pairs are recomputed here and must match the table's own figures),
- split-half: τ between one seed and the mean of the others, and
- an estimate of τ between two *independent* tables of the same number of
  seeds each (a parametric bootstrap: each architecture's accuracy drawn as
  its mean plus Gaussian noise of its own seed standard deviation / √seeds,
  two tables per draw, 2 000 draws). The means it starts from carry their own
  noise, so the spread is slightly overstated and the estimate leans high;
  the same bootstrap for single-seed tables is printed beside it as the check
  (it should land on the seed pairs' measured τ).
Standard library only."""

import itertools
import json
import math
import random
import statistics
import sys


def kendall_tau_b(a, b):
    concordant = discordant = ties_a = ties_b = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        da, db = a[i] - a[j], b[i] - b[j]
        if da == 0 and db == 0:
            continue
        if da == 0:
            ties_a += 1
        elif db == 0:
            ties_b += 1
        elif (da > 0) == (db > 0):
            concordant += 1
        else:
            discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b))
    return (concordant - discordant) / denominator if denominator else 0.0


def report(path):
    table = json.load(open(path))
    entries = table["entries"]
    seeds = table.get("seeds", [])
    accs = [entry["seed_accs"] for entry in entries]
    count = len(seeds)
    print(f"{path}: {len(entries)} architectures, seeds {seeds}")
    for agreement in table.get("seedAgreement", []):
        i, j = (seeds.index(s) for s in agreement["seeds"])
        mine = kendall_tau_b([a[i] for a in accs], [a[j] for a in accs])
        print(f"  seeds {agreement['seeds']}: τ {mine:.3f} (table says {agreement['agreement']['kendall_tau']:.3f})")
    for i in range(count):
        others = [statistics.fmean(a[k] for k in range(count) if k != i) for a in accs]
        print(f"  split-half: seed {seeds[i]} vs the mean of the others: τ {kendall_tau_b([a[i] for a in accs], others):.3f}")
    means = [statistics.fmean(a) for a in accs]
    deviations = [statistics.stdev(a) for a in accs]
    pooled = math.sqrt(statistics.fmean(d * d for d in deviations))
    generator = random.Random(16)

    def bootstrap(per_table):
        draws = []
        for _ in range(2000):
            first = [m + generator.gauss(0, d / math.sqrt(per_table)) for m, d in zip(means, deviations)]
            second = [m + generator.gauss(0, d / math.sqrt(per_table)) for m, d in zip(means, deviations)]
            draws.append(kendall_tau_b(first, second))
        draws.sort()
        return f"τ ≈ {statistics.median(draws):.3f} (5–95 %: {draws[100]:.3f}–{draws[1899]:.3f})"
    # The check of the method: for single seeds it must give what the seed pairs measured.
    print(f"  root-mean-square seed standard deviation {pooled:.4f}; bootstrap for two single-seed tables (the check): {bootstrap(1)}")
    print(f"  bootstrap for two independent {count}-seed tables: {bootstrap(count)}")


for argument in sys.argv[1:]:
    report(argument)
