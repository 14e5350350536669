"""The one place that chains the stages; each stage is a pure function of the previous value."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from compiler.diagnostics import Diagnostic, has_errors, sort_diagnostics
from compiler.load import load
from compiler.project import Project
from compiler.resolve import resolve
from compiler.validate import validate


def analyse(
    paths: Iterable[str | Path], *, for_cluster: bool
) -> tuple[Project | None, list[Diagnostic], dict[str, str]]:
    """load -> validate -> resolve, stopping after the first stage that reports errors.

    Returns the project (None on errors), the diagnostics sorted by file and line, and each
    file's text for rendering them.
    """
    loaded = load(paths)
    sources = dict(loaded.sources)
    diags = list(loaded.diagnostics)
    if has_errors(diags):
        return None, sort_diagnostics(diags), sources
    validated = validate(loaded.documents)
    diags.extend(validated.diagnostics)
    if has_errors(diags):
        return None, sort_diagnostics(diags), sources
    resolved = resolve(validated.documents, for_cluster=for_cluster)
    diags.extend(resolved.diagnostics)
    return resolved.project, sort_diagnostics(diags), sources
