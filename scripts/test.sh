#!/usr/bin/env bash
# The whole test suite: the Swift package's tests, then the probe's (pytest
# in probe/.venv with the CPU build of torch), among them the end-to-end
# runs of the example search under `dartscope attach` in tmux, against the
# dartscope the Swift tests just built.
set -euo pipefail
cd "$(dirname "$0")/.."
swift test -c release
python=$(bash scripts/probe_venv.sh)
DARTSCOPE_BIN="$PWD/.build/release/dartscope" "$python" -m pytest -q -p no:cacheprovider probe/tests
