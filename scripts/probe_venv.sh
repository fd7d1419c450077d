#!/usr/bin/env bash
# Creates probe/.venv for the probe's tests (idempotent) and prints its python:
# the CPU build of torch 2.13 (pip here finds it in the local wheel folder;
# the registry's CUDA build runs on the CPU too but is gigabytes larger),
# pytest, and the probe itself, reinstalled from probe/ every time.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=probe/.venv
if ! "$venv/bin/python" -c "import torch, pytest" 2>/dev/null; then
    if ! python3 -c "import ensurepip" 2>/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "torch==2.13.0" pytest >&2
fi
"$venv/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall ./probe >&2
rm -rf probe/build probe/src/*.egg-info
echo "$PWD/$venv/bin/python"
