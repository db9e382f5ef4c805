#!/usr/bin/env bash
# One command for a fresh machine: install, then open the chat on the bundled movie graph.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/kgreason serve "$@"
