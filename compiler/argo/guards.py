"""Checks on the rendered Argo documents, before anything is written.

Each document is parsed back and checked for its size (Argo CD's client-side apply), its names and the
admission rules of Argo's own validator (``compiler.argo.rules``); references to objects the tree does not
emit are ``compiler.manifests.guards.unresolved``. Every finding is located at the spec behind the object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from compiler import naming as n
from compiler.argo.rules import check_documents
from compiler.argo.webhook import token_warnings
from compiler.diagnostics import Diagnostic
from compiler.manifests.guards import located, too_large
from compiler.manifests.parse import OBJECT_MAX, json_size, json_size_bound, parse
from compiler.manifests.render import RenderedDoc

# The rule of the checker that the name guard already reports, with a located hint.
_COVERED = frozenset({"AW1"})
NAME_LIMITS = {"Workflow": n.NAME_MAX, "WorkflowTemplate": n.NAME_MAX, "WorkflowEventBinding": n.NAME_MAX}


def _size(doc: RenderedDoc, obj: Mapping[str, Any]) -> list[Diagnostic]:
    if json_size_bound(doc.text) <= OBJECT_MAX or (size := json_size(obj)) <= OBJECT_MAX:
        return []
    return [too_large(doc, size)]


def _names(doc: RenderedDoc) -> list[Diagnostic]:
    limit = NAME_LIMITS.get(doc.kind, n.SUBDOMAIN_MAX)
    if len(doc.name) <= limit:
        return []
    return [
        Diagnostic(
            "E405",
            f"{doc.kind} name {doc.name!r} has {len(doc.name)} characters, more than the {limit} allowed",
            located(doc),
            hint="generated names derive from spec names: shorten the name",
        )
    ]


def check(docs: Sequence[RenderedDoc]) -> tuple[list[dict[str, Any]], list[Diagnostic]]:
    """The parsed objects (same order as ``docs``) and every guard's findings."""
    objects = [parse(doc) for doc in docs]
    diags: list[Diagnostic] = []
    by_name = {(d.kind, d.name): d for d in docs}
    for doc, obj in zip(docs, objects, strict=True):
        if doc.path != n.KUSTOMIZATION:
            diags += _size(doc, obj) + _names(doc)
    diags += token_warnings((obj, located(doc)) for doc, obj in zip(docs, objects, strict=True))
    for v in check_documents(objects):
        if v.rule in _COVERED:
            continue
        doc = by_name[(v.kind, v.name)]
        diags.append(
            Diagnostic(
                "E406",
                f"{doc.kind} {doc.name!r} would be refused by Argo Workflows: {v.rule} at {v.path or '/'}: "
                f"{v.message}",
                located(doc),
                hint="see compiler/argo/rules.py, rule " + v.rule,
            )
        )
    return objects, diags
