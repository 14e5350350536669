"""Diagnostics: what every stage reports instead of raising.

Exception tree (the only exceptions the CLI knows about)::

    CompileError            a stage stopped with user errors; carries the diagnostics
    (anything else)         a bug: exit code 2 and a traceback

Codes are stable; ``docs/diagnostics.md`` lists them. E1xx load, E2xx validate, E3xx resolve,
E4xx plan/guards, E5xx render/emit, W*** warnings (never change the output).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Location:
    file: str
    line: int = 0
    col: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}"
        return self.file


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    location: Location
    severity: Severity = "error"
    hint: str | None = None
    field: str | None = None
    conceal: str | None = dataclasses.field(default=None, compare=False, repr=False)
    """A secret the source line holds: shown as ``***`` when the line is printed."""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location
        return (loc.file, loc.line, loc.col, self.code, self.message)


@dataclass(frozen=True)
class CompileError(Exception):
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)


def sort_diagnostics(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(set(diags), key=Diagnostic.sort_key)


def has_errors(diags: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diags)


def render_text(diags: Sequence[Diagnostic], sources: dict[str, str] | None = None) -> str:
    """Compiler-style text: location, code, message, the source line with a caret, a hint."""
    out: list[str] = []
    for d in diags:
        out.append(f"{d.location}: {d.severity}[{d.code}]: {d.message}")
        text = (sources or {}).get(d.location.file)
        if text is not None and d.location.line:
            lines = text.splitlines()
            if 0 < d.location.line <= len(lines):
                src = lines[d.location.line - 1]
                if d.conceal:
                    src = src.replace(d.conceal, "***")
                gutter = f"{d.location.line:>5}"
                out.append(f"{gutter} | {src}")
                width = max(1, (d.location.end_col or 0) - d.location.col) if d.location.end_col else 1
                out.append(f"{' ' * len(gutter)} | {' ' * max(0, d.location.col - 1)}{'^' * width}")
        if d.hint:
            out.append(f"  hint: {d.hint}")
    return "\n".join(out) + ("\n" if out else "")


def render_json(diags: Sequence[Diagnostic]) -> str:
    return (
        json.dumps(
            [
                {
                    "file": d.location.file,
                    "line": d.location.line,
                    "col": d.location.col,
                    "severity": d.severity,
                    "code": d.code,
                    "message": d.message,
                    "field": d.field,
                    "hint": d.hint,
                }
                for d in diags
            ],
            indent=2,
        )
        + "\n"
    )


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diags: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands, one ``::error``/``::warning`` annotation per diagnostic.

    Syntax and escaping as actions/toolkit writes them (packages/core/src/command.ts: ``escapeData``
    for the message, ``escapeProperty`` for ``file=`` and ``title=``).
    """
    out: list[str] = []
    for d in diags:
        props = [f"file={_escape_property(d.location.file)}"]
        if d.location.line:
            props += [f"line={d.location.line}", f"col={d.location.col}"]
            if d.location.end_col:
                props.append(f"endColumn={d.location.end_col}")
        props.append(f"title={_escape_property(d.code)}")
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        out.append(f"::{d.severity} {','.join(props)}::{_escape_data(message)}\n")
    return "".join(out)


def did_you_mean(name: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """``did you mean 'x'?`` for the closest candidate, or None when nothing is close."""
    import difflib

    pool = sorted(set(candidates))
    match = difflib.get_close_matches(name, pool, n=1, cutoff=cutoff)
    if not match:
        lowered = {c.lower(): c for c in pool}
        match = [lowered[name.lower()]] if name.lower() in lowered else []
    return f"did you mean '{match[0]}'?" if match else None
