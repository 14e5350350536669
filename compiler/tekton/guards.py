"""Checks on the rendered documents, before anything is written.

Each document is parsed back (PyYAML's C loader) and checked for its size, its names and the
Tekton admission rules of ``compiler.tekton.rules``; every finding is located at the spec that
caused the object, so the user knows what to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from compiler import naming as n
from compiler.diagnostics import Diagnostic
from compiler.manifests.guards import located, too_large
from compiler.manifests.parse import OBJECT_MAX, json_size, json_size_bound, parse
from compiler.manifests.render import RenderedDoc
from compiler.tekton.rules import check_documents
from compiler.units import DNS1035_LABEL, DNS1123_SUBDOMAIN, LABEL_VALUE

TASK_SOFT_MAX = 65_536
# Rules of the checker that the size and name guards below already report, with a located hint.
_COVERED = frozenset({"R1", "R2", "L1"})
NAME_LIMITS = {
    "TaskRun": n.TASKRUN_MAX,
    "EventListener": n.EVENTLISTENER_MAX,
    "Task": n.NAME_MAX,
    "Trigger": n.NAME_MAX,
    "TriggerTemplate": n.NAME_MAX,
    "TriggerBinding": n.NAME_MAX,
}


def _size(doc: RenderedDoc, obj: Mapping[str, Any]) -> list[Diagnostic]:
    limit = TASK_SOFT_MAX if doc.kind == "Task" else OBJECT_MAX
    if json_size_bound(doc.text) <= limit:
        return []
    size = json_size(obj)
    if size > OBJECT_MAX:
        return [too_large(doc, size)]
    if size > TASK_SOFT_MAX and doc.kind == "Task":
        return [
            Diagnostic(
                "W402",
                f"Task {doc.name!r} is {size} bytes; Tasks over {TASK_SOFT_MAX} bytes slow down every run",
                located(doc),
                severity="warning",
            )
        ]
    return []


def _name_problem(kind: str, name: str, generated: bool) -> str | None:
    limit = NAME_LIMITS.get(kind, n.SUBDOMAIN_MAX)
    if generated:
        limit = n.GENERATE_NAME_MAX  # the API server appends 5 characters
    if len(name) > limit:
        what = "name prefix" if generated else "name"
        return f"{kind} {what} {name!r} has {len(name)} characters, more than the {limit} allowed"
    probe = name + "x" if generated else name
    pattern = DNS1035_LABEL if kind == "EventListener" else DNS1123_SUBDOMAIN
    if not pattern.fullmatch(probe):
        return f"{kind} name {name!r} is not a valid Kubernetes name"
    return None


def _labels(kind: str, meta: Mapping[str, Any]) -> list[str]:
    out = []
    for key, value in (meta.get("labels") or {}).items():
        if len(str(value)) > n.LABEL_VALUE_MAX or not LABEL_VALUE.fullmatch(str(value)):
            out.append(f"{kind} label {key}={value!r} is not a valid label value (at most 63 characters)")
    return out


def _names(doc: RenderedDoc, obj: Mapping[str, Any]) -> list[Diagnostic]:
    problems: list[str] = []
    meta = obj.get("metadata") or {}
    problem = _name_problem(doc.kind, str(meta.get("name", "")), generated=False)
    problems += [problem] if problem else []
    problems += _labels(doc.kind, meta)
    for template in (obj.get("spec") or {}).get("resourcetemplates") or []:
        inner = template.get("metadata") or {}
        if "generateName" in inner:
            problem = _name_problem(template.get("kind", ""), str(inner["generateName"]), generated=True)
            problems += [problem] if problem else []
        problems += _labels(template.get("kind", ""), inner)
    return [
        Diagnostic("E405", p, located(doc), hint="generated names derive from spec names: shorten the name")
        for p in problems
    ]


def _rules(doc: RenderedDoc, obj: Mapping[str, Any]) -> list[Diagnostic]:
    return [
        Diagnostic(
            "E406",
            f"{doc.kind} {doc.name!r} would be refused by Tekton: {v.rule} at {v.path or '/'}: {v.message}",
            located(doc),
            hint="see tekton-rules.md, rule " + v.rule,
        )
        for v in check_documents([obj])
        if v.rule not in _COVERED
    ]


def check(docs: Sequence[RenderedDoc]) -> tuple[list[dict[str, Any]], list[Diagnostic]]:
    """The parsed objects (same order as ``docs``) and every guard's findings."""
    objects: list[dict[str, Any]] = []
    diags: list[Diagnostic] = []
    for doc in docs:
        obj = parse(doc)
        objects.append(obj)
        if doc.path == n.KUSTOMIZATION:
            continue
        diags += _size(doc, obj)
        diags += _names(doc, obj)
        diags += _rules(doc, obj)
    return objects, diags
