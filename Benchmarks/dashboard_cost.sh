#!/usr/bin/env bash
# What the dashboard costs the search: the same config and seed run headless
# and under the dashboard (in a detached 160×50 tmux pane), alternating, and
# compared on the engine's own step times and on whole-run throughput.
#   bash Benchmarks/dashboard_cost.sh [--pairs 2] [--epochs 3] [--config default]
# Prints one line per run and the medians; the dashboard's own frame timing
# (redraw median and 95th percentile) comes from its exit line.
set -euo pipefail
pairs=2 epochs=3 config=default
while [ $# -gt 0 ]; do
    case "$1" in
        --pairs) pairs="$2"; shift 2 ;;
        --epochs) epochs="$2"; shift 2 ;;
        --config) config="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 64 ;;
    esac
done
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
binary="$root/.build/release/dartscope"
[ -x "$binary" ] || { echo "build first: swift build -c release" >&2; exit 1; }
work="$(mktemp -d)"
trap 'tmux kill-session -t dartscope-cost 2>/dev/null || true; rm -rf "$work"' EXIT
ln -s "$root/Configs" "$work/Configs"
ln -s "$root/Themes" "$work/Themes"
cd "$work"
common=(--config "$config" --set "search.epochs=$epochs" --set search.seed=1)

summary() {  # run name, mode, frame line
    python3 - "$work/runs/$1/metrics.jsonl" "$2" "$3" <<'EOF'
import json, statistics, sys
path, mode, frames = sys.argv[1:4]
steps = [json.loads(l) for l in open(path) if '"type":"step"' in l]
times = [s["step_time"] for s in steps[1:]]  # the first step includes warm-up
overall = (len(steps) - 1) / (steps[-1]["wall_time"] - steps[0]["wall_time"])
print(f"{mode:9s} median step {statistics.median(times):.4f} s  mean {statistics.mean(times):.4f} s  "
      f"overall {overall:.3f} steps/s  {frames}")
EOF
}

for pair in $(seq 1 "$pairs"); do
    "$binary" run "${common[@]}" --headless --set "run.name=headless-$pair" >/dev/null 2>"$work/headless-$pair.txt" \
        || { cat "$work/headless-$pair.txt" >&2; exit 1; }
    summary "headless-$pair" headless ""
    tmux kill-session -t dartscope-cost 2>/dev/null || true
    tmux new-session -d -s dartscope-cost -x 160 -y 50 \
        "'$binary' run ${common[*]} --set run.name=dashboard-$pair 2>'$work/frames-$pair.txt'; echo DONE > '$work/done-$pair'"
    # Wait for the last epoch, then quit without a snapshot.
    until grep '"type":"epoch"' "runs/dashboard-$pair/metrics.jsonl" 2>/dev/null | grep -q "\"epoch\":$((epochs - 1)),"; do sleep 2; done
    sleep 3
    tmux send-keys -t dartscope-cost q; sleep 1; tmux send-keys -t dartscope-cost n
    until [ -f "$work/done-$pair" ]; do sleep 1; done
    summary "dashboard-$pair" dashboard "$(grep -o 'drew.*' "$work/frames-$pair.txt" || true)"
done
