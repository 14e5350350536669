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
echo "== the predictions match examples/multiplier/expected/"
"$bin/python" - <<'PY'
import json
import pathlib
import sys

out = pathlib.Path("examples/multiplier/output/multiplier-sample")
bad = [p.name for p in sorted(pathlib.Path("examples/multiplier/expected").glob("*.json"))
       if json.loads(p.read_text()) != json.loads((out / p.name).read_text())]
if bad or not (out / "_SUCCESS").exists():
    sys.exit(f"unexpected output in {out}: {bad or 'no _SUCCESS'}")
print(f"ok: {out}/ holds the expected responses, _manifest.json and _SUCCESS")
PY
