#!/usr/bin/env bash
# Set up everything the tests need, then run lint, types and the whole test suite.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bin=.venv/bin
echo "== ruff"
"$bin/ruff" check compiler tests bench
"$bin/ruff" format --check compiler tests bench
echo "== mypy --strict"
"$bin/mypy" compiler tests bench
echo "== odahu-batch compile examples/ --out build/ --check (the committed tree is current)"
"$bin/odahu-batch" compile examples/ --out build/ --check
echo "== pytest"
"$bin/pytest" -n "${ODAHU_TEST_WORKERS:-2}" "$@"
