"""Schema checks for generated Argo Workflows and Argo Events documents (the Argo twin of
:mod:`tests.support.manifests`).

* :func:`validate_argo_schema` - an ``argoproj.io/v1alpha1`` document against the vendored schemas in
  ``tests/schemas/argo`` (every error, not just the first);
* :func:`is_argo` - whether a document belongs to one of Argo's API groups.

Both upstream schema files keep every type under ``definitions`` and leave objects open. Unknown fields are
closed here, because ``argo lint`` decodes strictly by default (argoproj/argo-workflows
``cmd/argo/commands/lint.go``: ``--strict`` defaults to ``true``), so a typo the apiserver would keep
silently (the CRDs preserve unknown fields) is still a defect in a generated file.
Every check returns readable problem strings; an empty list means good.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from tests.support.manifests import describe

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas" / "argo"
ARGO_API_VERSION = "argoproj.io/v1alpha1"
# Which file, and which definition prefix, holds each kind.
WORKFLOWS = ("argo-workflows.schema.json", "io.argoproj.workflow.v1alpha1.")
EVENTS = ("argo-events.schema.json", "io.argoproj.events.v1alpha1.")
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
KINDS: dict[str, tuple[str, str]] = {
    "Workflow": WORKFLOWS,
    "WorkflowTemplate": WORKFLOWS,
    "ClusterWorkflowTemplate": WORKFLOWS,
    "CronWorkflow": WORKFLOWS,
    "WorkflowEventBinding": WORKFLOWS,
    "EventSource": EVENTS,
    "Sensor": EVENTS,
    "EventBus": EVENTS,
}


def is_argo(doc: Mapping[str, Any]) -> bool:
    return doc.get("apiVersion") == ARGO_API_VERSION


@functools.cache
def _definitions(file_name: str, closed: bool) -> dict[str, Any]:
    definitions: dict[str, Any] = json.loads((SCHEMA_DIR / file_name).read_text(encoding="utf-8"))[
        "definitions"
    ]
    if closed:
        definitions = {name: _close(node) for name, node in definitions.items()}
    # The workflows file types IntOrString as a bare string; the Go type (k8s.io/apimachinery
    # pkg/util/intstr) decodes both, and the events file already says so: use its form.
    definitions[INT_OR_STRING] = {"type": ["integer", "string"], "format": "int-or-string"}
    return definitions


def _close(node: Any) -> Any:
    """A copy of a schema node whose objects with ``properties`` reject keys they do not list."""
    if isinstance(node, list):
        return [_close(item) for item in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _close(value) for key, value in node.items()}
    if "properties" in node and "additionalProperties" not in node:
        closed["additionalProperties"] = False
    return closed


@functools.cache
def _validator(kind: str, closed: bool) -> Draft202012Validator | None:
    if kind not in KINDS:
        return None
    file_name, prefix = KINDS[kind]
    definitions = _definitions(file_name, closed)
    schema = {"$ref": f"#/definitions/{prefix}{kind}", "definitions": copy.deepcopy(definitions)}
    return Draft202012Validator(schema)


def validate_argo_schema(doc: Mapping[str, Any], *, closed: bool = True) -> list[str]:
    """Every JSON-schema error of an Argo document; an unknown Argo kind or API version is an error.
    ``closed=False`` checks against the upstream schema exactly as published (unknown keys allowed)."""
    kind = str(doc.get("kind", ""))
    if not is_argo(doc):
        return [f"{describe(doc)}: apiVersion {doc.get('apiVersion')!r} is not {ARGO_API_VERSION}"]
    validator = _validator(kind, closed)
    if validator is None:
        return [f"{describe(doc)}: no Argo schema for kind {kind!r} in {SCHEMA_DIR}"]
    errors = sorted(validator.iter_errors(dict(doc)), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{describe(doc)} /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
