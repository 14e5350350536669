"""What a run of several pods shares, whichever engine schedules them: a Tekton PipelineRun's TaskRuns
(``pipeline.py``) or an Argo Workflow's dag (``workflow.py``).

Each pod runs in its own run directory under the run's folder, with the ordinary single-pod machinery
(``runner.start_pod``). A fanned-out task runs its pods on threads, at most ``workers`` at once (the rest
wait their turn), one line per pod on a :class:`ShardBoard`; a pod is retried on its own, each attempt in
a fresh run directory whose earlier logs move to ``history/``. Ctrl-C sets one cancel event: every
running pod stops its step, none starts.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import TextIO, cast

from compiler.localrun.errors import LocalRunError
from compiler.localrun.executor import Executor, Outcome, log_tail
from compiler.localrun.pipeline_report import TaskRunRecord
from compiler.localrun.progress import Progress, ShardProgress
from compiler.localrun.progress import format_duration as short_duration
from compiler.localrun.rundir import RunDir
from compiler.localrun.runner import RunOptions, failure_headline
from compiler.localrun.terminal import ShardBoard, console

# (the pod's run directory, its progress, the attempt (0 first), the seconds left) -> its executor
Setup = Callable[[RunDir, Progress, int, float | None], Executor]
# Called with a finished pod's outcome before its volumes are freed (to read its outputs).
Collect = Callable[[RunDir, Outcome], None]


class PrefixedLines(io.TextIOBase):
    """A text stream that prefixes each complete line and writes it to ``out`` under a lock."""

    def __init__(self, out: TextIO, prefix: str, lock: threading.Lock) -> None:
        self.out, self.prefix, self.lock, self.buffer = out, prefix, lock, ""

    def write(self, text: str) -> int:
        self.buffer += text
        *lines, self.buffer = self.buffer.split("\n")
        if lines:
            with self.lock:
                for line in lines:
                    self.out.write(f"{self.prefix}{line.rpartition(chr(13))[2]}\n")
                self.out.flush()
        return len(text)

    def isatty(self) -> bool:
        return False


class ChildRuns:
    """The pods of one run: their streams, attempts, fan-out and cancel event."""

    def __init__(self, options: RunOptions, out: TextIO, deadline_label: str) -> None:
        self.options = options
        self.out = out
        self.deadline_label = deadline_label  # what a pod that outlived the run's deadline says
        self.lock = threading.Lock()
        self.cancel = threading.Event()  # Ctrl-C: every pod stops its running step, none starts
        self.board: ShardBoard | None = None  # while a fan-out runs: its pods' lines

    def fan_out(self, count: int, one: Callable[[int], None], workers: int | None = None) -> None:
        """``one(i)`` for every i, at most ``workers`` at once (None: all), one board line per pod."""
        if count == 1:
            one(0)
            return
        if not count:
            return
        self.board = ShardBoard(self.out, console(self.out, self.options.tty))
        with self.board, ThreadPoolExecutor(max_workers=min(count, workers or count)) as pool:
            futures = [pool.submit(one, index) for index in range(count)]
            try:
                wait(futures)
            except KeyboardInterrupt:  # it reaches this thread only: the others stop on the event
                self.cancel.set()
                wait(futures)
            for future in futures:
                future.result()
        self.board = None

    def attempts(
        self,
        record: TaskRunRecord,
        root: Path,
        setup: Setup,
        deadline: float | None,
        retries: int,
        prefix: str,
        collect: Collect | None = None,
    ) -> None:
        """Run ``record``'s pod in ``root/<record.name>`` until it succeeds, at most ``retries + 1`` times."""
        started = time.monotonic()
        stream = cast(TextIO, PrefixedLines(cast(TextIO, self.board) or self.out, prefix, self.lock))
        for attempt in range(retries + 1):
            if self.cancel.is_set():
                record.status, record.message = "interrupted", "Ctrl-C"
                break
            record.attempts = attempt + 1
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                record.status, record.message = "timed out", self.deadline_label
                break
            if attempt:
                stream.write(f"retry {attempt} of {retries}\n")
            rundir = RunDir(root / record.name)
            record.rundir = rundir.root
            try:
                outcome = self.run_pod(rundir, stream, attempt, left, setup, collect)
            except LocalRunError as exc:  # this pod could not start: it fails, and may be retried
                record.status, record.message = "failed", f"cannot start: {exc}"
                stream.write(f"{record.message}\n")
                continue
            record.results = outcome.results
            if outcome.interrupted:
                self.cancel.set()
                record.status, record.message = "interrupted", "Ctrl-C: the running step was stopped"
                break
            if outcome.succeeded:
                record.status, record.message = "succeeded", ""
                break
            failed = outcome.failed
            record.status = "failed"
            record.message = failure_headline(failed) if failed is not None else "failed"
            tail = log_tail(rundir.log(failed.name)) if failed is not None else ""
            stream.write(f"{record.message}\n" + "".join(f"  | {line}\n" for line in tail.splitlines()))
        record.duration = time.monotonic() - started
        stream.write(f"{record.name} {record.status} in {short_duration(record.duration)}\n")

    def run_pod(
        self,
        rundir: RunDir,
        stream: TextIO,
        attempt: int,
        left: float | None,
        setup: Setup,
        collect: Collect | None = None,
    ) -> Outcome:
        board = self.board
        progress = (
            ShardProgress(board, rundir.root.name) if board is not None else Progress(stream, tty=False)
        )
        with rundir.locked():
            rundir.reset()
            executor = setup(rundir, progress, attempt, left)
            outcome = executor.run()
            if collect is not None and outcome.succeeded:
                collect(rundir, outcome)
        if outcome.succeeded and not self.options.keep:
            rundir.free_volumes()
        return outcome
