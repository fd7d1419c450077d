#!/usr/bin/env bash
# What the dashboard costs the search: the same config and seed run headless
# and under the dashboard (in a detached 160×50 tmux pane), in pairs whose
# order alternates, compared on the engine's own step times and on whole-run
# throughput.
#   bash Benchmarks/dashboard_cost.sh [--pairs 6] [--epochs 1] [--config s3-fmnist]
#
# These 2-core VMs have slow spells (the same step 1.5–2× slower for tens of
# seconds), so a single pair says little: the script prints each pair's
# ratios and the median over pairs. It also prints what the dashboard's side
# used in CPU seconds, which no spell distorts: the UI thread (from the
# dashboard's exit line) and the tmux server that plays the terminal (its
# own socket, so no other session is counted).
set -euo pipefail
pairs=6 epochs=1 config=s3-fmnist
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
trap 'tmux -L dartscope-cost kill-session -t dartscope-cost 2>/dev/null || true; rm -rf "$work"' EXIT
ln -s "$root/Configs" "$work/Configs"
ln -s "$root/Themes" "$work/Themes"
cd "$work"
common=(--config "$config" --set "search.epochs=$epochs" --set search.seed=1)

cpu_seconds() {  # pid → utime + stime in seconds
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}

run_headless() {
    "$binary" run "${common[@]}" --headless --set "run.name=headless-$1" >/dev/null 2>"$work/headless-$1.txt" \
        || { cat "$work/headless-$1.txt" >&2; exit 1; }
}

run_dashboard() {
    tmux -L dartscope-cost kill-session -t dartscope-cost 2>/dev/null || true
    # The pane stays open after dartscope exits so the server's CPU time can be read.
    tmux -L dartscope-cost new-session -d -s dartscope-cost -x 160 -y 50 \
        "'$binary' run ${common[*]} --set run.name=dashboard-$1 2>'$work/frames-$1.txt'; echo DONE > '$work/done-$1'; sleep 3600"
    local server
    server="$(tmux -L dartscope-cost display-message -p -t dartscope-cost '#{pid}')"
    # Wait for the last epoch, then quit without a snapshot.
    until grep '"type":"epoch"' "runs/dashboard-$1/metrics.jsonl" 2>/dev/null | grep -q "\"epoch\":$((epochs - 1)),"; do sleep 2; done
    sleep 3
    tmux -L dartscope-cost send-keys -t dartscope-cost q; sleep 1; tmux -L dartscope-cost send-keys -t dartscope-cost n
    until [ -f "$work/done-$1" ]; do sleep 1; done
    echo "tmux server $(cpu_seconds "$server") s CPU" >>"$work/frames-$1.txt"
    tmux -L dartscope-cost kill-session -t dartscope-cost
}

for pair in $(seq 1 "$pairs"); do
    if [ $((pair % 2)) -eq 1 ]; then run_headless "$pair"; run_dashboard "$pair"
    else run_dashboard "$pair"; run_headless "$pair"; fi
    echo "pair $pair of $pairs done" >&2
done

python3 - "$work" "$pairs" <<'EOF'
import json, re, statistics, sys
work, pairs = sys.argv[1], int(sys.argv[2])

def run(name):
    steps = [json.loads(l) for l in open(f"{work}/runs/{name}/metrics.jsonl") if '"type":"step"' in l]
    times = [s["step_time"] for s in steps[1:]]  # the first step includes warm-up
    return statistics.median(times), (len(steps) - 1) / (steps[-1]["wall_time"] - steps[0]["wall_time"])

step_costs, throughput_costs, ui_shares = [], [], []
for pair in range(1, pairs + 1):
    (h_step, h_rate), (d_step, d_rate) = run(f"headless-{pair}"), run(f"dashboard-{pair}")
    text = open(f"{work}/frames-{pair}.txt").read()
    frames = re.search(r"drew (\d+) frames, redraw median ([\d.]+) ms, 95th percentile ([\d.]+) ms; "
                       r"UI thread ([\d.]+) s CPU in (\d+) s", text)
    server = re.search(r"tmux server ([\d.]+) s CPU", text)
    step_costs.append(d_step / h_step - 1)
    throughput_costs.append(1 - d_rate / h_rate)
    first = "headless first " if pair % 2 else "dashboard first"
    line = (f"pair {pair} ({first}): median step {h_step:.4f} s headless, {d_step:.4f} s dashboard ({step_costs[-1]:+.1%}); "
            f"throughput {h_rate:.3f} vs {d_rate:.3f} steps/s ({-throughput_costs[-1]:+.1%})")
    if frames:
        count, median, p95, cpu, wall = frames.groups()
        ui_shares.append(float(cpu) / float(wall))
        line += f"; {count} frames, redraw median {median} ms, p95 {p95} ms, UI thread {cpu} s CPU in {wall} s"
    if server:
        line += f", tmux server {server.group(1)} s CPU"
    print(line)
print(f"median over {pairs} pairs: step time {statistics.median(step_costs):+.1%}, "
      f"throughput {-statistics.median(throughput_costs):+.1%}"
      + (f"; UI thread {statistics.median(ui_shares):.2%} of one core" if ui_shares else ""))
EOF
