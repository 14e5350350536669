"""Guards every backend shares: where a finding on a rendered document is reported, and the check that
a tree references no object it neither emits nor may expect in the cluster."""

from __future__ import annotations

from collections.abc import Sequence

from compiler.diagnostics import Diagnostic, Location
from compiler.manifests.parse import OBJECT_MAX
from compiler.manifests.references import Prerequisites
from compiler.manifests.render import RenderedDoc


def located(doc: RenderedDoc) -> Location:
    """The spec behind a document, else the document's own path."""
    o = doc.origin
    return Location(o.file, o.line, o.col) if o is not None else Location(doc.path)


def too_large(doc: RenderedDoc, size: int) -> Diagnostic:
    """E404: a document of ``size`` bytes, over what Argo CD's client-side apply keeps."""
    return Diagnostic(
        "E404",
        f"{doc.kind} {doc.name!r} would be {size} bytes, over the {OBJECT_MAX}-byte limit "
        "of Argo CD's client-side apply",
        located(doc),
        hint="make the spec smaller (fewer or shorter values), or split it",
    )


def unresolved(docs: Sequence[RenderedDoc], found: Prerequisites) -> list[Diagnostic]:
    """E408: a reference to an object the tree neither emits nor may take as a prerequisite (``found``,
    a backend's ``prerequisites`` of ``docs``) fails every run that follows it, for good."""
    where = {(d.kind, d.namespace, d.name): d for d in docs}
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
