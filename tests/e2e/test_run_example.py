"""The README's main command: the multiplier example on its local connection, as ``scripts/demo.sh`` runs it
(relative paths, from the folder that holds ``examples/``), here in a copy of the example under tmp, from
the Tekton documents and from the Argo ones."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_run_support import EXAMPLE, expected_outputs

pytestmark = pytest.mark.e2e

COMMAND = [
    "run",
    "examples/multiplier/specs",
    "--job",
    "multiplier-sample",
    "--bind",
    "examples/multiplier/app:/opt/app",
    "--workdir",
    "runs",
]


def test_multiplier_example_as_the_readme_runs_it(tmp_path: Path, backend: str) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "examples" / "multiplier", ignore=shutil.ignore_patterns("output"))
    done = subprocess.run(
        [sys.executable, "-m", "compiler.cli", *COMMAND, "--target", backend],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output = tmp_path / "examples" / "multiplier" / "output" / "multiplier-sample"
    produced = {p.name: json.loads(p.read_text()) for p in sorted(output.glob("request-*.json"))}
    assert produced == expected_outputs()
    assert (output / "_SUCCESS").exists()
    assert "run succeeded; run directory: " in done.stdout
