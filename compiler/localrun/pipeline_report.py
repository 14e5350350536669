"""A local PipelineRun's record: each TaskRun's row, the run's outcome, the table and summary.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from compiler.localrun.progress import format_duration as short_duration
from compiler.localrun.terminal import console, table


@dataclass
class TaskRunRecord:
    """One TaskRun of the PipelineRun: the summary's row."""

    name: str
    task: str
    status: str = "pending"
    attempts: int = 0
    duration: float | None = None
    message: str = ""
    results: dict[str, str] = field(default_factory=dict)
    rundir: Path | None = None


@dataclass(frozen=True)
class PipelineReport:
    records: list[TaskRunRecord]
    root: Path
    interrupted: bool = False

    @property
    def succeeded(self) -> bool:
        return (
            not self.interrupted and all(r.status == "succeeded" for r in self.records) and bool(self.records)
        )

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 0 if self.succeeded else 1


def write_report(
    report: PipelineReport,
    name: str,
    out: TextIO,
    tty: bool | None = None,
    kinds: tuple[str, str] = ("PipelineRun", "TaskRun"),
) -> None:
    """The children's table on ``out``, then ``summary.json`` in the run directory; ``kinds``: the run's
    and its children's (``Workflow``, ``pod`` for Argo), which name the column and the summary's keys."""
    rows = [
        (
            r.name,
            r.status,
            short_duration(r.duration) if r.duration is not None else "-",
            str(r.attempts or "-"),
        )
        for r in report.records
    ]
    out.write("\n")
    console(out, tty).print(table((kinds[1], "status", "time", "attempts"), rows, right=(2, 3)))
    summary = {
        _camel(kinds[0]): name,
        "status": "Succeeded" if report.succeeded else "Failed",
        _camel(kinds[1]) + "s": [
            {
                "name": r.name,
                "task": r.task,
                "status": r.status,
                "attempts": r.attempts,
                "durationSeconds": None if r.duration is None else round(r.duration, 3),
                "message": r.message,
            }
            for r in report.records
        ],
    }
    (report.root / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    status = "succeeded" if report.succeeded else "interrupted" if report.interrupted else "failed"
    out.write(f"\nrun {status}; run directory: {report.root}/\n")
    out.flush()


def _camel(kind: str) -> str:
    return kind[:1].lower() + kind[1:]
