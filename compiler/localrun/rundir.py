"""The run directory: what a pod's file system would be, as folders on the host.

``<workdir>/<taskrun>/``::

    volumes/<volume>/        one folder per Task volume (emptyDir empty; configMap/secret filled)
    results/                 /tekton/results (the TaskRun's results)
    steps/step-<s>/results/  /tekton/steps (step results)
    workspace/  home/        /workspace and /tekton/home, which Tekton mounts in every step
    logs/<step>.log          each step's stdout and stderr
    summary.json             every step's status, exit code, duration and results
    .odahu/                  the runner's own files (tool shims, scripts, lock)
    history/<n>/             earlier runs' logs/ and summary.json (the last KEEP_RUNS; 1 is the oldest)

A pod is never reused, so a rerun of the same TaskRun starts from an empty run directory, except for
``history/``: a rerun keeps the logs of the runs before it, so a failure stays readable after a retry.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.localrun.errors import LocalRunError
from compiler.localrun.secrets import SecretStore
from compiler.localrun.tekton import RESULTS_DIR, STEPS_DIR

MARKER = ".odahu"
HISTORY = "history"
KEEP_RUNS = 10
# Paths Tekton mounts into every step of a TaskRun.
IMPLICIT_MOUNTS = {
    RESULTS_DIR: "results",
    STEPS_DIR: "steps",
    "/workspace": "workspace",
    "/tekton/home": "home",
}


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def internal(self) -> Path:
        return self.root / MARKER

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def bin(self) -> Path:
        return self.internal / "bin"

    @property
    def scripts(self) -> Path:
        return self.internal / "scripts"

    def volume(self, name: str) -> Path:
        return self.root / "volumes" / name

    def log(self, step: str) -> Path:
        return self.logs / f"{step}.log"

    def step_results(self, step: str) -> Path:
        return self.root / "steps" / f"step-{step}" / "results"

    def implicit_mounts(self) -> dict[str, Path]:
        return {path: self.root / folder for path, folder in IMPLICIT_MOUNTS.items()}

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold a lock beside the run directory, so two runs of one TaskRun cannot mix their files."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.root.parent / f".{self.root.name}.lock"
        with open(lock_path, "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise LocalRunError(f"another run of {self.root.name} is using {self.root}") from exc
            yield

    def reset(self) -> None:
        """Remove a previous run of this TaskRun (only a folder this runner made) and lay out a new one."""
        if self.root.exists():
            if not (self.root / MARKER).is_dir():
                raise LocalRunError(
                    f"{self.root} exists and is not a run directory; choose another --workdir"
                )
            clear_keeping_logs(self.root)
        for folder in (self.internal, self.logs, self.bin, self.scripts):
            folder.mkdir(parents=True, exist_ok=True)
        for host in self.implicit_mounts().values():
            host.mkdir(parents=True, exist_ok=True)

    def free_volumes(self) -> None:
        """Delete the volumes' data (after a successful run, unless --keep)."""
        shutil.rmtree(self.root / "volumes", ignore_errors=True)


def clear_keeping_logs(root: Path) -> None:
    """Empty a previous run's folder but for its history, to which its logs and summaries are added.

    The ``logs/`` folder and ``summary.json`` of the run and of each TaskRun folder in it (a
    PipelineRun's) move to ``history/<n>/`` at the same relative path; the oldest entries beyond KEEP_RUNS go.
    """
    history = root / HISTORY
    # The run's own folder and, for a PipelineRun, its TaskRuns' folders: never a volume's data.
    runs = [root, *(d for d in sorted(root.iterdir()) if d.is_dir() and (d / MARKER).exists())]
    kept = [p for run in runs for p in (run / "logs", run / "summary.json") if p.exists()]
    if kept:
        numbers = [int(p.name) for p in history.glob("*") if p.name.isdigit()] if history.is_dir() else []
        target = history / str(max(numbers, default=0) + 1)
        for path in kept:
            destination = target / path.relative_to(root)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, destination)
        numbers = sorted(int(p.name) for p in history.glob("*") if p.name.isdigit())
        for old in numbers[: max(0, len(numbers) - KEEP_RUNS)]:
            shutil.rmtree(history / str(old), ignore_errors=True)
    for entry in root.iterdir():
        if entry.name != HISTORY:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


def make_volumes(
    rundir: RunDir,
    volumes: list[Mapping[str, Any]],
    substitute: Callable[[str], str],
    configmaps: Mapping[str, Mapping[str, Any]],
    secrets: SecretStore,
) -> None:
    """One folder per volume: emptyDir empty, configMap and secret volumes filled with their keys."""
    for volume in volumes:
        name = volume["name"]
        folder = rundir.volume(name)
        folder.mkdir(parents=True, exist_ok=True)
        if "emptyDir" in volume:
            continue
        if "configMap" in volume:
            source = volume["configMap"]
            ref = substitute(str(source.get("name", "")))
            configmap = configmaps.get(ref)
            data = _configmap_data(configmap) if configmap is not None else None
            what = f"ConfigMap {ref!r} (volume {name})"
        elif "secret" in volume:
            source = volume["secret"]
            ref = substitute(str(source.get("secretName", "")))
            data = (
                {k: v.encode() for k, v in secrets.secrets[ref].items()} if ref in secrets.secrets else None
            )
            what = f"Secret {ref!r} (volume {name}); give it with --secret {ref}/KEY=VALUE or --secrets-file"
        else:
            kinds = ", ".join(sorted(set(volume) - {"name"}))
            raise LocalRunError(
                f"volume {name} is a {kinds} volume; locally only emptyDir, configMap and secret"
            )
        if data is None:
            if source.get("optional"):
                continue
            raise LocalRunError(f"missing {what}")
        _fill(folder, data, source, what)


def _configmap_data(configmap: Mapping[str, Any]) -> dict[str, bytes]:
    data = {str(k): str(v).encode() for k, v in (configmap.get("data") or {}).items()}
    for key, value in (configmap.get("binaryData") or {}).items():
        try:
            data[str(key)] = base64.b64decode(str(value), validate=True)
        except binascii.Error as exc:
            raise LocalRunError(f"ConfigMap binaryData {key}: not base64") from exc
    return data


def _fill(folder: Path, data: Mapping[str, bytes], source: Mapping[str, Any], what: str) -> None:
    mode = int(source.get("defaultMode", 0o644))
    items = source.get("items")
    if items is None:
        items = [{"key": key, "path": key} for key in data]
    for item in items:
        key = item["key"]
        if key not in data:
            if source.get("optional"):
                continue
            raise LocalRunError(f"{what} has no key {key!r}")
        target = (folder / item["path"]).resolve()
        if not target.is_relative_to(folder.resolve()):
            raise LocalRunError(f"{what}: item path {item['path']!r} leaves the volume")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data[key])
        os.chmod(target, int(item.get("mode", mode)))
