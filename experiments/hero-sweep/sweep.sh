#!/usr/bin/env bash
# The sweep that chose the default search (issue 16, item 3): plain
# first-order DARTS in tiny-s3 under the variations R-DARTS makes and those
# that speed collapse on small data, 3 seeds each, one thread per run.
# Resumable: a run whose metrics file ends with its last epoch is skipped.
# Usage: bash experiments/hero-sweep/sweep.sh [JOBS]   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=${1:-1}
out=experiments/hero-sweep/runs
mkdir -p "$out"
variants=(
  "lr3e-3:optim.arch_lr=3e-3"
  "lr6e-3:optim.arch_lr=6e-3"
  "lr1e-2:optim.arch_lr=1e-2"
  "n2000-e30:optim.arch_lr=3e-3 data.subset=2000 search.epochs=30"
  "l8:optim.arch_lr=3e-3 network.layers=8"
  "wd0:optim.arch_lr=3e-3 optim.weight_decay=0"
)
run_one() {
  local name=$1 sets=$2 seed=$3
  local metrics="$out/$name-s$seed.jsonl"
  if [[ -f "$metrics.done" ]]; then return; fi
  local args=()
  for s in $sets; do args+=(--set "$s"); done
  rm -f "$metrics"
  .build/release/dartscope run --headless --config hero "${args[@]}" --set search.seed="$seed" \
    --set search.threads=1 --set snapshot.keep=0 --set run.name="hero-sweep-$name-s$seed" \
    --metrics "$metrics" > "$out/$name-s$seed.log" 2>&1 && touch "$metrics.done"
}
for seed in 1 2 3; do
  for v in "${variants[@]}"; do
    run_one "${v%%:*}" "${v#*:}" "$seed" &
    while (( $(jobs -rp | wc -l) >= jobs )); do wait -n; done
  done
done
wait
