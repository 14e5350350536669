#!/usr/bin/env bash
# Set up, then compile the shipped examples and run the multiplier example's job locally.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bin=.venv/bin
echo "== odahu-batch validate examples/"
"$bin/odahu-batch" validate examples/
echo "== odahu-batch compile examples/ --out build/"
"$bin/odahu-batch" compile examples/ --out build/
echo "== odahu-batch run (multiplier, locally)"
PATH="$root/.venv/bin:$PATH" "$bin/odahu-batch" run examples/multiplier/specs \
  --job multiplier-sample --bind examples/multiplier/app:/opt/app --workdir runs
