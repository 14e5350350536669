"""Running a prepared TaskRun's steps in order, as local processes.

Each step gets its own process group (so a timeout or Ctrl-C stops everything it started), its output
in ``logs/<step>.log``, and the TaskRun's deadline (``spec.timeout``, Tekton's default 1h) as well as its
own ``timeout``. The first failing step stops the run (unless it says ``onError: continue``); the steps
after it are skipped. Results written by a step are collected after it ends and checked against
Tekton's 4096-byte termination-message limit, which would fail the TaskRun on a cluster.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.localrun import interrupts
from compiler.localrun.errors import LocalRunError
from compiler.localrun.launch import Launch
from compiler.localrun.prepare import Preparer, Step
from compiler.localrun.progress import STATUS_OK, FolderWatch, Progress, StepRecord
from compiler.localrun.reap import Reaper
from compiler.localrun.rundir import RunDir
from compiler.localrun.secrets import Masker
from compiler.units import format_duration

# Tekton's default limit of a step container's termination message, which carries the results.
MAX_RESULTS_BYTES = 4096
TAIL_LINES = 12
POLL_SECONDS = 0.1

Launcher = Callable[[Step], Launch]
Snapshot = dict[Path, tuple[int, int]]


@dataclass(frozen=True)
class Outcome:
    records: list[StepRecord]
    results: dict[str, str]
    failed: StepRecord | None
    interrupted: bool = False

    @property
    def succeeded(self) -> bool:
        return self.failed is None and not self.interrupted

    def as_json(self, name: str, kind: str = "TaskRun") -> dict[str, Any]:
        """The run's summary; ``kind`` names its first key (``taskRun``, ``pod``)."""
        return {
            kind[:1].lower() + kind[1:]: name,
            "status": "Succeeded" if self.succeeded else "Failed",
            "steps": [
                {
                    "name": r.name,
                    "status": r.status,
                    "exitCode": r.exit_code,
                    "durationSeconds": None if r.duration is None else round(r.duration, 3),
                    "cpuSeconds": None if r.cpu is None else round(r.cpu, 3),
                    "results": r.results,
                    "message": r.message,
                }
                for r in self.records
            ],
            "results": self.results,
        }


class Interrupted(Exception):
    """Ctrl-C during a step: the step's processes were stopped."""


class Executor:
    def __init__(
        self,
        preparer: Preparer,
        rundir: RunDir,
        launcher: Launcher,
        progress: Progress,
        masker: Masker,
        *,
        verbose: bool = False,
        kill_grace: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        cancel: threading.Event | None = None,
    ) -> None:
        self.preparer = preparer
        self.rundir = rundir
        self.launcher = launcher
        self.progress = progress
        self.masker = masker
        self.verbose = verbose
        self.kill_grace = kill_grace
        self.clock = clock
        # Set from another thread (a sharded run's Ctrl-C reaches only the main thread): stop like Ctrl-C.
        self.cancel = cancel or threading.Event()
        self.volume_kinds = {
            str(v["name"]): "emptyDir" if "emptyDir" in v else "other" for v in preparer.volumes
        }
        # volume -> index of the last step that mounted it writable (for the progress's file counts)
        self.last_writer: dict[str, int] = {}
        # Where the steps write the run's results: Tekton's /tekton/results, else the pod's results volume.
        volume = preparer.pod.results_volume
        self.results_dir = rundir.volume(volume) if volume else rundir.results

    def run(self) -> Outcome:
        names = self.preparer.step_names
        records = [StepRecord(name) for name in names]
        deadline = None if self.preparer.timeout is None else self.clock() + self.preparer.timeout
        failed: StepRecord | None = None
        interrupted = False
        for index, (raw, record) in enumerate(zip(self.preparer.raw_steps, records, strict=True)):
            if failed is not None or interrupted or self.cancel.is_set():
                record.status = "skipped"
                interrupted = interrupted or (failed is None and self.cancel.is_set())
                continue
            try:
                self._run_step(index, len(names), raw, record, deadline)
            except Interrupted:
                interrupted = True
            if record.status != STATUS_OK and not record.status.endswith("(ignored)"):
                failed = record
            self._write_summary(records, failed, interrupted)
        self._write_summary(records, failed, interrupted)
        return self._outcome(records, failed, interrupted)

    def _outcome(self, records: list[StepRecord], failed: StepRecord | None, interrupted: bool) -> Outcome:
        results = {p.name: _read(p) for p in sorted(self.results_dir.glob("*")) if p.is_file()}
        return Outcome(records, results, failed, interrupted)

    def _write_summary(self, records: list[StepRecord], failed: StepRecord | None, interrupted: bool) -> None:
        outcome = self._outcome(records, failed, interrupted)
        path = self.rundir.root / "summary.json"
        path.write_text(
            json.dumps(outcome.as_json(self.rundir.root.name, self.preparer.pod.kind), indent=2) + "\n"
        )

    def _run_step(
        self, index: int, total: int, raw: Mapping[str, Any], record: StepRecord, deadline: float | None
    ) -> None:
        self.progress.begin(index + 1, total, record.name)
        started = self.clock()
        try:
            step = self.preparer.step(raw, self._step_result)
            launch = self.launcher(step)
        except LocalRunError as exc:
            record.status, record.exit_code, record.duration = "failed", None, 0.0
            record.message = f"cannot start: {exc}"
            self.progress.end(record)
            return
        if self.verbose:
            self.progress.note(launch.describe(self.masker))
        limit = deadline
        if step.timeout is not None:
            limit = started + step.timeout if limit is None else min(limit, started + step.timeout)
        self.rundir.step_results(step.name).mkdir(parents=True, exist_ok=True)
        before = self._snapshot(step)
        try:
            code, timed_out, record.cpu = self._run_process(step, launch, limit, started, index)
        except Interrupted:
            record.status, record.duration, record.message = "interrupted", self.clock() - started, "Ctrl-C"
            self.progress.end(record)
            raise
        record.duration = self.clock() - started
        record.exit_code = code
        record.results = self._changed_results(step, before)
        if timed_out:
            record.status = "timed out"
            own = step.timeout is not None and limit != deadline
            limit_s = step.timeout if own else self.preparer.timeout
            which = "its own timeout" if own else self.preparer.pod.deadline_label
            record.message = f"killed after {record.duration:.1f}s ({which} of {format_seconds(limit_s)})"
        elif code != 0:
            record.status = "failed (ignored)" if step.on_error == "continue" else "failed"
            record.message = f"exit {code}"
        else:
            record.status = STATUS_OK
            too_big = self._results_size()
            if too_big:
                record.status, record.message = "failed", too_big
        self.progress.end(record)

    def _run_process(
        self, step: Step, launch: Launch, limit: float | None, started: float, index: int
    ) -> tuple[int, bool, float | None]:
        """Exit code, whether the step timed out, and its CPU seconds (None when unknown)."""
        log_path = self.rundir.log(step.name)
        watch = self._watch(step, index, log_path)
        # An interrupt while the step starts or runs sets self.cancel: the loop below stops the step.
        with open(log_path, "wb") as log, interrupts.deferred_to(self.cancel):
            try:
                proc = subprocess.Popen(
                    launch.argv,
                    env=launch.env,
                    cwd=launch.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                log.write(f"cannot start {launch.argv[0]}: {exc.strerror or exc}\n".encode())
                return 127, False, None
            reaper = Reaper(proc)
            try:
                while True:
                    code = reaper.wait(POLL_SECONDS)
                    if code is not None:
                        return code, False, reaper.cpu_seconds
                    if self.cancel.is_set():
                        raise KeyboardInterrupt
                    now = self.clock()
                    if limit is not None and now >= limit:
                        self._stop(proc, launch)
                        return (proc.returncode if proc.returncode is not None else -9), True, None
                    self.progress.update(now - started, watch.count())
            except KeyboardInterrupt:
                self._stop(proc, launch)
                raise Interrupted from None
            except BaseException:
                # Whatever stops the runner (a closed stdout, a bug) must not leave the step running.
                self._stop(proc, launch)
                raise
            finally:
                reaper.close()

    def _stop(self, proc: subprocess.Popen[bytes], launch: Launch) -> None:
        """SIGTERM to the step's process group, SIGKILL after the grace period."""
        if launch.stop is not None:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                launch.stop()
        for sig, wait in ((signal.SIGTERM, self.kill_grace), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Whatever is left in the group (children that outlived the leader).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def _watch(self, step: Step, index: int, log: Path) -> FolderWatch:
        """Inputs: the read-only data folders the latest earlier step wrote; outputs: the writable ones."""
        data = [m for m in step.mounts if self.volume_kinds.get(m.volume) == "emptyDir"]
        written = [m for m in data if m.read_only and m.volume in self.last_writer]
        latest = max((self.last_writer[m.volume] for m in written), default=None)
        inputs = [m.host for m in written if self.last_writer[m.volume] == latest]
        outputs = [m.host for m in data if not m.read_only]
        self.last_writer.update({m.volume: index for m in data if not m.read_only})
        return FolderWatch(inputs, outputs, log, clock=self.clock)

    def _step_result(self, step: str, result: str) -> str | None:
        path = self.rundir.step_results(step) / result
        return _read(path) if path.is_file() else None

    def _result_files(self, step: Step) -> list[Path]:
        folders = [self.results_dir, self.rundir.step_results(step.name)]
        return [p for folder in folders if folder.is_dir() for p in sorted(folder.iterdir()) if p.is_file()]

    def _snapshot(self, step: Step) -> Snapshot:
        return {p: _stamp(p) for p in self._result_files(step)}

    def _changed_results(self, step: Step, before: Snapshot) -> dict[str, str]:
        return {p.name: _read(p) for p in self._result_files(step) if before.get(p) != _stamp(p)}

    def _results_size(self) -> str:
        """Why the results would not fit Tekton's termination message, or ``""``."""
        if self.preparer.pod.results_volume:  # not Tekton's results: no termination message carries them
            return ""
        entries = [
            {"key": p.name, "value": _read(p), "type": 1} for p in sorted(self.rundir.results.glob("*"))
        ]
        size = len(json.dumps(entries, separators=(",", ":")).encode())
        if size <= MAX_RESULTS_BYTES:
            return ""
        return (
            f"the results total {size} bytes, above Tekton's {MAX_RESULTS_BYTES}-byte termination message: "
            "the TaskRun would fail on a cluster"
        )


def format_seconds(seconds: float | None) -> str:
    """Seconds as a Go duration, the way the TaskRun writes its timeout (``1h0m0s``)."""
    return format_duration(round((seconds or 0) * 1e9))


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_mtime_ns, st.st_size)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def log_tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last non-empty lines of a log."""
    text = _read(path)
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])
