"""Live progress of a local run and the summary table at its end.

On a terminal one line is redrawn in place (step, elapsed time, files done of total), with rich
(``terminal.py``); otherwise plain lines: one when a step starts, one when it ends, and one every
``interval`` seconds in between. A shard of a sharded run reports to its line of a ``ShardBoard``.
Files are counted in the step's folders (at most every ``count_every`` seconds) or read from the
``Transferred: N / M`` statistics rclone writes to the step's log.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from rich.table import Table

from compiler.localrun.terminal import LiveLine, ShardBoard, console, status_text, table

STATUS_OK = "succeeded"
_RCLONE_FILES = re.compile(rb"Transferred:\s+(\d+)\s*/\s*(\d+),\s*[\d-]+%")
_TAIL_BYTES = 16384


@dataclass
class StepRecord:
    """What happened to one step: the summary table's row and ``summary.json``'s entry."""

    name: str
    status: str = "pending"
    exit_code: int | None = None
    duration: float | None = None
    results: dict[str, str] = field(default_factory=dict)
    message: str = ""
    cpu: float | None = None  # CPU seconds of the step's process and the children it waited for

    def counts(self) -> str:
        return format_counts(self.results)


@dataclass(frozen=True)
class FileCount:
    done: int | None
    total: int | None

    def __str__(self) -> str:
        if self.done is None:
            return f"{self.total} files"
        return f"files {self.done}" + (f"/{self.total}" if self.total is not None else "")


def count_files(folders: Iterable[Path]) -> int:
    total = 0
    stack = [str(f) for f in folders]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        total += 1
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
    return total


def rclone_files(log: Path) -> FileCount | None:
    """The last ``Transferred: N / M, P%`` file count in a step's log, if rclone wrote stats."""
    try:
        with open(log, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - _TAIL_BYTES))
            tail = handle.read()
    except OSError:
        return None
    found = _RCLONE_FILES.findall(tail)
    if not found:
        return None
    done, total = found[-1]
    return FileCount(int(done), int(total))


class FolderWatch:
    """Files done (new in the step's output folders) of total (in its input folders), counted now and then.

    Files already in an output folder when the step starts are not counted as done.
    """

    def __init__(
        self,
        inputs: Sequence[Path],
        outputs: Sequence[Path],
        log: Path | None = None,
        count_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inputs, self.outputs, self.log = list(inputs), list(outputs), log
        self.count_every, self.clock = count_every, clock
        self._total: int | None = count_files(self.inputs) if self.inputs else None
        self._baseline = count_files(self.outputs)
        self._last: FileCount | None = None if self._total is None else FileCount(None, self._total)
        self._at = float("-inf")

    def count(self) -> FileCount | None:
        now = self.clock()
        if now - self._at < self.count_every:
            return self._last
        self._at = now
        stats = rclone_files(self.log) if self.log is not None else None
        if stats is not None:
            self._last = stats
        elif self.outputs:
            self._last = FileCount(max(0, count_files(self.outputs) - self._baseline), self._total)
        return self._last


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def format_counts(results: dict[str, str]) -> str:
    """Numbers from a step's results: JSON objects as ``key=value``; short plain values as ``name=value``."""
    parts: list[str] = []
    values = {name: _parsed(text) for name, text in sorted(results.items())}
    # sync-output reports both summaries: each group is named, or the two read as one.
    several = sum(isinstance(v, dict) for v in values.values()) > 1
    for name, value in values.items():
        if isinstance(value, dict):
            if several:
                parts.append(f"{name.removesuffix('-summary')}:")
            parts += [
                f"{k}={v}" for k, v in value.items() if isinstance(v, int | float | str) and len(str(v)) <= 24
            ]
        elif isinstance(value, int | float) or (isinstance(value, str) and value and len(value) <= 24):
            parts.append(f"{name}={value}")
    return " ".join(parts)


def _parsed(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text.strip()


def step_table(records: Sequence[StepRecord]) -> Table:
    rows = [
        (r.name, r.status, format_duration(r.duration), format_duration(r.cpu), r.counts()) for r in records
    ]
    return table(("step", "status", "duration", "cpu", "counts"), rows, right=(2, 3))


class Progress:
    """Reports steps starting, running and ending to ``stream``."""

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool | None = None,
        interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.console = console(stream, self.tty)
        self.live = LiveLine(self.console)
        self.interval = interval
        self.clock = clock
        self._last_plain = 0.0
        self._label = ""

    def begin(self, index: int, total: int, step: str) -> None:
        self._label = f"[{index}/{total}] {step}"
        self._last_plain = self.clock()
        if not self.tty:
            self._print(f"{self._label} started")
        else:
            self.update(0.0, None)

    def update(self, elapsed: float, files: FileCount | None) -> None:
        line = f"{self._label}  {format_duration(elapsed)}" + (f"  {files}" if files is not None else "")
        if self.tty:
            self.live.show(line)
        elif self.clock() - self._last_plain >= self.interval:
            self._last_plain = self.clock()
            self._print(line)

    def end(self, record: StepRecord) -> None:
        self.live.clear()
        counts = record.counts()
        done = f" in {format_duration(record.duration)}" + (f"  {counts}" if counts else "")
        if self.tty:
            self.console.print(f"{self._label} ", status_text(record.status), done, sep="")
        else:
            self._print(f"{self._label} {record.status}{done}")

    def note(self, text: str) -> None:
        self.live.clear()
        self._print(text)

    def _print(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


class ShardProgress(Progress):
    """One shard's steps as one line of the sharded task's board, instead of a line per step and event."""

    def __init__(self, board: ShardBoard, name: str) -> None:
        self.board, self.name = board, name
        self._label = ""

    def begin(self, index: int, total: int, step: str) -> None:
        self._label = f"[{index}/{total}] {step}"
        self.board.set(self.name, self._label, format_duration(0.0), "")

    def update(self, elapsed: float, files: FileCount | None) -> None:
        self.board.set(self.name, self._label, format_duration(elapsed), "" if files is None else str(files))

    def end(self, record: StepRecord) -> None:
        self.board.set(
            self.name, f"{self._label} {record.status}", format_duration(record.duration), record.counts()
        )

    def note(self, text: str) -> None:
        self.board.write(f"{self.name}: {text}\n")
