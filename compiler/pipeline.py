"""The one place that chains the stages; each stage is a pure function of the previous value."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from compiler.backend import Generated, Target, generate, paused_gc
from compiler.diagnostics import CompileError, Diagnostic, has_errors, sort_diagnostics
from compiler.emit import EmitResult, emit
from compiler.front import Project, load, resolve, validate
from compiler.runtime_bundle import RuntimeBundle


def analyse(
    paths: Iterable[str | Path], *, for_cluster: bool, calls: frozenset[str] = frozenset()
) -> tuple[Project | None, list[Diagnostic], dict[str, str]]:
    """load -> validate -> resolve, stopping after the first stage that reports errors.

    ``calls``: jobs that stand for webhook calls (see ``resolve``).

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
    resolved = resolve(validated.documents, for_cluster=for_cluster, calls=calls)
    diags.extend(resolved.diagnostics)
    return resolved.project, sort_diagnostics(diags), sources


@dataclass(frozen=True)
class CompileResult:
    """What ``compile`` did: the diagnostics, each file's text for showing them, and the write."""

    diagnostics: list[Diagnostic]
    sources: dict[str, str]
    emitted: EmitResult | None = None  # None when errors stopped compilation
    generated: Generated | None = None

    @property
    def ok(self) -> bool:
        return self.emitted is not None and not has_errors(self.diagnostics)


def generate_documents(
    paths: Iterable[str | Path],
    *,
    for_cluster: bool,
    bundle: RuntimeBundle | None = None,
    calls: frozenset[str] = frozenset(),
    target: Target | None = None,
) -> CompileResult:
    """Every output document of the specs under ``paths``, without writing anything.

    ``bundle``: the step programs to ship (default: the installed ``compiler/runtime``); ``target``: the
    backend, else the project's ``BatchSettings.backend``.
    """
    with paused_gc():
        project, diags, sources = analyse(paths, for_cluster=for_cluster, calls=calls)
        if project is None or has_errors(diags):
            return CompileResult(diags, sources)
        generated = generate(project, bundle, target)
    return CompileResult(sort_diagnostics([*diags, *generated.diagnostics]), sources, generated=generated)


def compile(
    paths: Iterable[str | Path],
    out_dir: str | Path,
    *,
    check: bool = False,
    for_cluster: bool = True,
    bundle: RuntimeBundle | None = None,
    target: Target | None = None,
) -> CompileResult:
    """Specs -> the output tree in ``out_dir`` (``check``: only compare and diff it)."""
    with paused_gc():
        result = generate_documents(paths, for_cluster=for_cluster, bundle=bundle, target=target)
        if result.generated is None or not result.generated.ok:
            return result
        try:
            emitted = emit(result.generated.docs, out_dir, check=check)
        except CompileError as exc:
            return CompileResult(sort_diagnostics([*result.diagnostics, *exc.diagnostics]), result.sources)
    return CompileResult(result.diagnostics, result.sources, emitted, result.generated)
