"""What the ``status`` tests of both backends share beyond fixtures (tests/e2e/conftest.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from compiler.cli import main


def status_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """``odahu-batch status ARGS --format json``: the exit code and the report."""
    capsys.readouterr()
    code = main(["status", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)
