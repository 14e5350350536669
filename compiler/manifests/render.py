"""What every backend's renderer shares: the rendered document, the jinja2 environment over
``templates/<backend>/`` and ``templates/kubernetes/``, located template failures, the uniqueness of
output paths and the ``kustomization.yaml`` that lists them.

A backend gives its folder of templates and one filter, ``ref``, that writes the plan's typed run-time
references in its own syntax; ``yaml`` (``compiler.manifests.scalar``) writes every scalar.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from compiler import naming as n
from compiler.diagnostics import CompileError, Diagnostic, Location
from compiler.front.spec import Source
from compiler.manifests.scalar import scalar

# Templates of plain Kubernetes kinds (ConfigMap, ServiceAccount, RBAC, Kustomization), shared by backends.
COMMON = "kubernetes"


@dataclass(frozen=True)
class RenderedDoc:
    """One output file. ``origin``: the spec behind the object, for located diagnostics."""

    path: str
    text: str
    kind: str
    name: str
    namespace: str | None = None
    origin: Source | None = None


# (template, kind, name, namespace, origin, context) of one object to render.
Item = tuple[str, str, str, str | None, Source | None, dict[str, Any]]


def templates_root() -> Path:
    """``templates/`` of a source checkout, or the copy a wheel ships as ``compiler/_templates``."""
    here = Path(__file__).resolve().parents[1]  # compiler/, two levels above this module
    for candidate in (here / "_templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"templates folder not found next to {here}")


@cache
def environment(backend: str, ref: Callable[[object], object]) -> jinja2.Environment:
    root = templates_root()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(root / backend), str(root / COMMON)]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yaml"] = scalar
    env.filters["ref"] = ref
    return env


def _template_line(exc: BaseException) -> str:
    """``templates/<folder>/<x>.j2:<line>`` of the innermost template frame, if any."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            path = Path(frame.filename)
            return f"templates/{path.parent.name}/{path.name}:{frame.lineno}"
    return "templates"


def render_items(backend: str, ref: Callable[[object], object], items: Iterable[Item]) -> list[RenderedDoc]:
    """Every item as one YAML file, sorted by path, plus the ``kustomization.yaml`` that lists them."""
    env = environment(backend, ref)
    docs = sorted((_render(env, *item) for item in items), key=lambda d: d.path)
    _check_unique(docs)
    kustomization = env.get_template("kustomization.yaml.j2").render(resources=[d.path for d in docs])
    return [RenderedDoc(n.KUSTOMIZATION, kustomization, "Kustomization", "kustomization"), *docs]


def _render(
    env: jinja2.Environment,
    template: str,
    kind: str,
    name: str,
    namespace: str | None,
    origin: Source | None,
    context: dict[str, Any],
) -> RenderedDoc:
    try:
        text = env.get_template(f"{template}.yaml.j2").render(kind=kind, **context)
    except Exception as exc:  # a template or filter bug: report where, and for which spec
        where = _template_line(exc)
        location = Location(origin.file, origin.line, origin.col) if origin else Location(where)
        raise CompileError(
            (
                Diagnostic(
                    "E501", f"cannot render {kind} {name!r}: {where}: {type(exc).__name__}: {exc}", location
                ),
            )
        ) from exc
    return RenderedDoc(n.document_path(kind, name, namespace), text, kind, name, namespace, origin)


def _check_unique(docs: list[RenderedDoc]) -> None:
    seen: dict[str, RenderedDoc] = {}
    diags = []
    for doc in docs:
        other = seen.setdefault(doc.path, doc)
        if other is not doc:
            origin = doc.origin
            diags.append(
                Diagnostic(
                    "E403",
                    f"two specs generate the same {doc.kind} {doc.name!r} in "
                    f"{doc.namespace or 'the cluster'}",
                    Location(origin.file, origin.line, origin.col) if origin else Location(doc.path),
                    hint="object names derive from spec names: rename one of them",
                )
            )
    if diags:
        raise CompileError(tuple(diags))
