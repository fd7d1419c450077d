#!/usr/bin/env bash
# One command for the Performance table: builds dartscope, installs the pinned
# PyTorch into Benchmarks/.venv, checks that both compute the same loss and
# gradients from a dartscope model file, then times both side by side.
#   bash Benchmarks/compare.sh [--threads 2] [--repetitions 10] [--rounds 1] [--network NAME]...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
bash scripts/setup.sh
swift build -c release
python="${DARTSCOPE_TORCH_PYTHON:-$(bash "$here/setup_torch.sh")}"
check="$(mktemp -d)"
trap 'rm -rf "$check"' EXIT
.build/release/dartscope bench --write-check "$check"
(cd "$here" && "$python" check_equivalence.py "$check")
"$python" "$here/compare.py" --python "$python" --instance "$check" "$@"
