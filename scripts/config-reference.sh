#!/usr/bin/env bash
# Regenerates docs/configuration.md from the parameter table (`dartscope config
# --markdown`). ConfigurationReferenceTests fails while the committed file differs.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product dartscope >&2
.build/release/dartscope config --markdown > docs/configuration.md
echo "wrote docs/configuration.md" >&2
