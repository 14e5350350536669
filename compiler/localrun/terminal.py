"""What a local run shows on the terminal, drawn with rich: the live step line, the summary table, and
the compact view of a sharded run (one line per shard).

Colour and live redrawing only on a terminal; ``NO_COLOR`` (https://no-color.org: set and not empty)
turns colour off and ``TERM=dumb`` both, as rich reads them. Output to a pipe or a file is plain
lines, never escape codes, never redrawn.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from rich import box
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

PLAIN_WIDTH = 1000  # a pipe has no width: never wrap a line there
STYLES = {"succeeded": "green", "failed": "bold red", "timed out": "bold red", "interrupted": "yellow"}


def console(stream: TextIO, tty: bool | None = None) -> Console:
    """A rich console on ``stream``: a terminal's when ``tty`` (default: ``stream.isatty()``)."""
    is_tty = stream.isatty() if tty is None else tty
    no_color = os.environ.get("NO_COLOR", "") != ""
    return Console(
        file=stream,
        force_terminal=is_tty,
        no_color=no_color,
        color_system="auto" if is_tty and not no_color else None,
        width=None if is_tty else PLAIN_WIDTH,
        highlight=False,
        emoji=False,
        soft_wrap=not is_tty,
    )


def status_text(status: str) -> Text:
    return Text(status, style=STYLES.get(status, "yellow"))


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> Table:
    """A table without borders (one header rule); a row's cell that is a status gets its colour."""
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for index, name in enumerate(header):
        grid.add_column(name, justify="right" if index in right else "left", no_wrap=True)
    for row in rows:
        grid.add_row(*(status_text(cell) if cell in STYLES or cell == "pending" else cell for cell in row))
    return grid


class LiveLine:
    """The running step's line, redrawn in place on a terminal (removed when the step ends)."""

    def __init__(self, out: Console) -> None:
        self.console = out
        self._live: Live | None = None

    def show(self, text: str) -> None:
        if self._live is None:
            self._live = Live(Text(text), console=self.console, auto_refresh=False, transient=True)
            self._live.start()
        self._live.update(Text(text), refresh=True)

    def clear(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


class ShardBoard:
    """A sharded task's TaskRuns, one line each.

    On a terminal the lines are a live table, redrawn as the shards move on, and other output is printed
    above it. Elsewhere each shard prints one line every ``interval`` seconds while it runs (its end and
    failures are reported by the runner itself), instead of every step's start and end.
    """

    def __init__(
        self,
        stream: TextIO,
        out: Console,
        *,
        interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.console, self.interval, self.clock = stream, out, interval, clock
        self.lock = threading.RLock()
        self.rows: dict[str, list[str]] = {}
        self._printed: dict[str, float] = {}
        self._live: Live | None = None

    def __enter__(self) -> ShardBoard:
        if self.console.is_terminal:
            self._live = Live(
                console=self.console, refresh_per_second=4, transient=True, get_renderable=self.render
            )
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def render(self) -> Table:
        with self.lock:
            rows = [[name, *cells] for name, cells in self.rows.items()]
        return table(("TaskRun", "step", "time", "files"), rows, right=(2,))

    def set(self, name: str, step: str, elapsed: str, files: str) -> None:
        with self.lock:
            self.rows[name] = [step, elapsed, files]
            if (
                self._live is None
                and self.clock() - self._printed.setdefault(name, self.clock()) >= self.interval
            ):
                self._printed[name] = self.clock()
                self.write(f"{name}: {step}  {elapsed}" + (f"  {files}" if files else "") + "\n")

    # A text stream for the runner's own lines: above the live table on a terminal.
    def write(self, text: str) -> int:
        with self.lock:
            if self._live is not None:
                for line in text.rstrip("\n").split("\n"):
                    self._live.console.print(Text(line))
            else:
                self.stream.write(text)
                self.stream.flush()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False
