"""Guards every backend shares: where a finding on a rendered document is reported, and the check that
a tree references no object it neither emits nor may expect in the cluster."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from compiler import naming as n
from compiler.diagnostics import Diagnostic, Location
from compiler.manifests.references import Prerequisites
from compiler.manifests.render import RenderedDoc


def located(doc: RenderedDoc) -> Location:
    """The spec behind a document, else the document's own path."""
    o = doc.origin
    return Location(o.file, o.line, o.col) if o is not None else Location(doc.path)


def unresolved(
    docs: Sequence[RenderedDoc],
    objects: Sequence[Mapping[str, Any]],
    prerequisites: Callable[[Sequence[Mapping[str, Any]]], Prerequisites],
) -> list[Diagnostic]:
    """E408: a reference to an object the tree neither emits nor may take as a prerequisite fails every
    run that follows it, for good (the backend's ``prerequisites`` says which kinds must be emitted)."""
    where = {(d.kind, d.namespace, d.name): d for d in docs}
    found = prerequisites(objects[1:] if docs and docs[0].path == n.KUSTOMIZATION else objects)
    return [
        Diagnostic(
            "E408",
            f"{referrer.kind} {referrer.name!r} references {ref.kind} {ref.name!r}"
            f"{' in ' + ref.namespace if ref.namespace else ''}, which the tree does not contain",
            located(where[(referrer.kind, referrer.namespace, referrer.name)]),
            hint="the tree would fail every run that follows this reference; a bug of odahu-batch: report it",
        )
        for referrer, ref in found.missing
    ]
