"""tests.support.argo_manifests: the vendored Argo schemas accept upstream's own documents and refuse
what strict decoding refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.argo_manifests import validate_argo_schema

FIXTURES = Path(__file__).parent / "fixtures"


def docs(name: str) -> list[dict[str, Any]]:
    text = (FIXTURES / f"{name}.yaml").read_text(encoding="utf-8")
    return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]


@pytest.mark.parametrize(
    "name",
    [
        "example-container-set-graph-workflow",
        "example-container-set-workspace-workflow",
        "stepWithItemParam",
        "dagOutputsResolveTaskAggregatedOutputs",
        "events-sensor-special-workflow-trigger",
        "events-sensor-to-existing-workflow-template",
    ],
)
def test_upstream_documents_pass(name: str) -> None:
    for doc in docs(name):
        assert validate_argo_schema(doc) == []


def test_workflow_template_kind_is_checked_as_such() -> None:
    [doc] = docs("example-container-set-workspace-workflow")
    doc["kind"] = "WorkflowTemplate"
    doc["metadata"] = {"name": "svc"}
    assert validate_argo_schema(doc) == []


def test_unknown_field_is_refused_only_when_closed() -> None:
    """argo lint decodes strictly by default (cmd/argo/commands/lint.go ``--strict``)."""
    [doc] = docs("example-container-set-workspace-workflow")
    doc["spec"]["templates"][0]["containerSet"]["containers"][0]["mountpath"] = "/x"
    [problem] = validate_argo_schema(doc)
    assert "/spec/templates/0/containerSet/containers/0" in problem
    assert "'mountpath' was unexpected" in problem
    assert validate_argo_schema(doc, closed=False) == []


def test_wrong_type_is_refused_and_int_or_string_takes_both() -> None:
    [doc] = docs("example-container-set-workspace-workflow")
    doc["spec"]["parallelism"] = "two"
    assert any("/spec/parallelism" in p for p in validate_argo_schema(doc))
    doc["spec"]["parallelism"] = 2
    doc["spec"]["templates"][0]["activeDeadlineSeconds"] = 60  # IntOrString
    assert validate_argo_schema(doc) == []
    doc["spec"]["templates"][0]["activeDeadlineSeconds"] = "{{workflow.parameters.deadline}}"
    assert validate_argo_schema(doc) == []


def test_event_source_needs_the_fields_openapi_marks_required() -> None:
    """PROVENANCE.md: the events schema requires every non-omitempty Go field (webhook ``url``), so a
    generated EventSource spells it out."""
    [doc] = docs("events-event-source-webhook")
    assert validate_argo_schema(doc) == [
        "EventSource/webhook /spec/webhook/example: 'url' is a required property"
    ]
    doc["spec"]["webhook"]["example"]["url"] = ""
    assert validate_argo_schema(doc) == []


def test_unknown_kind_and_group_are_errors() -> None:
    assert validate_argo_schema(
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "x"}}
    )
    assert validate_argo_schema({"apiVersion": "tekton.dev/v1", "kind": "Task", "metadata": {"name": "x"}})
