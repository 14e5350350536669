"""``odahu-batch init`` end to end, as processes: init, validate, compile, run on the starter's local
connection; the predictions asserted in the connection's storage (the project's output/ folder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    return subprocess.run(
        [sys.executable, "-m", "compiler.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_init_validate_compile_run(tmp_path: Path) -> None:
    assert _cli(tmp_path, "init", "starter").returncode == 0
    project = tmp_path / "starter"
    for args in (["validate", "specs/"], ["compile", "specs/", "--out", "deploy/"]):
        done = _cli(project, *args)
        assert done.returncode == 0, done.stderr
    done = _cli(project, "run", "specs/", "--job", "starter-sample", "--bind", "predictor:/opt/predictor")
    assert done.returncode == 0, done.stdout + done.stderr
    output = project / "output" / "starter-sample"
    response = json.loads((output / "request-1.json").read_text(encoding="utf-8"))
    request = json.loads((project / "data" / "input" / "request-1.json").read_text(encoding="utf-8"))
    assert response == {
        "model_name": "starter",
        "model_version": "1",
        "id": "request-1",
        "outputs": request["inputs"],
    }
    manifest = json.loads((output / "_manifest.json").read_text(encoding="utf-8"))
    assert (manifest["request_id"], manifest["counts"]["output"]["valid"]) == ("starter-sample", 1)
    assert (output / "_SUCCESS").exists()
