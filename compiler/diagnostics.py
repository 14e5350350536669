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
import re
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


# Fields that hold a secret's value: ODAHU's inline credentials (odahu/odahu-flow 1.6.1,
# packages/operator/api/v1alpha1/connection_types.go: keyID, keySecret, password, publicKey, as
# ``odahuflowctl conn get --decrypted`` exports them), and odahu-batch's credential fields written inline
# (under ``credentials.secretRef.keys`` the same names map to Secret key names, which are no secret).
ODAHU_SECRET_FIELDS = ("keyID", "keySecret", "password", "publicKey")
CREDENTIAL_FIELDS = (
    "accessKeyID", "secretAccessKey", "sessionToken", "serviceAccountKey", "accountKey", "sasURL",
)  # fmt: skip
MASK = "***"
_SAS = re.compile(r"([?&]sig=)[^&\s\"']+")
_KEYS = re.compile(r"""^\s*-?\s*["']?keys["']?\s*:""")


def _patterns(names: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(quoted value, plain or block value) of ``name: value`` in YAML (block or flow) and JSON."""
    key = rf"""(["']?\b(?:{"|".join(names)})\b["']?\s*:"""
    quoted = re.compile(rf"""{key}\s*)("(?:[^"\\]|\\.)*"|'(?:[^']|'')*')""")
    plain = re.compile(rf"""{key}[ \t]*)([^\s"'|>,}}\]#][^,}}\]#]*?|[|>][-+0-9]*)(?=\s*(?:[,}}\]#]|$))""")
    return quoted, plain


_ALL = _patterns(ODAHU_SECRET_FIELDS + CREDENTIAL_FIELDS)
_ODAHU = _patterns(ODAHU_SECRET_FIELDS)


def _keep_quotes(match: re.Match[str]) -> str:
    quote = match.group(2)[0]
    return f"{match.group(1)}{quote}{MASK}{quote}"


def masked_lines(text: str) -> list[str]:
    """The file's lines with every secret-bearing field's value masked (block scalars: every line of it)."""
    out: list[str] = []
    block: int | None = None  # the indentation of the key whose block scalar is being masked
    keys: int | None = None  # the indentation of a ``keys:`` mapping (Secret key names, not secrets)
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if block is not None and (not line.strip() or indent > block):
            out.append(line[:indent] + MASK if line.strip() else line)
            continue
        block = None
        if keys is not None and line.strip() and indent <= keys:
            keys = None
        if _KEYS.match(line):
            keys = indent
        quoted, plain = _ODAHU if keys is not None else _ALL
        masked = _SAS.sub(rf"\1{MASK}", quoted.sub(_keep_quotes, line))
        found = plain.search(masked)
        if found is not None and found.group(2)[:1] in "|>":
            block = indent
        out.append(plain.sub(rf"\1{MASK}", masked))
    return out


def render_text(diags: Sequence[Diagnostic], sources: dict[str, str] | None = None) -> str:
    """Compiler-style text: location, code, message, the source line with a caret, a hint.

    Source lines are shown with secrets masked (``masked_lines``): a diagnostic about an inline credential
    must not print it into a CI log.
    """
    out: list[str] = []
    masked: dict[str, list[str]] = {}
    for d in diags:
        out.append(f"{d.location}: {d.severity}[{d.code}]: {d.message}")
        text = (sources or {}).get(d.location.file)
        if text is not None and d.location.line:
            if d.location.file not in masked:
                masked[d.location.file] = masked_lines(text)
            lines = masked[d.location.file]
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
