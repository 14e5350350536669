"""compiler.argo.defaults: the full CRDs' structural defaults, and their fixed point."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from compiler.argo.defaults import crd_defaults
from compiler.argo.rules import check_documents
from tests.support.argo_manifests import validate_argo_schema

FIXTURES = Path(__file__).parent / "fixtures"


def workspace() -> dict[str, Any]:
    text = (FIXTURES / "example-container-set-workspace-workflow.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


def test_missing_fields_get_the_crd_defaults_and_the_result_is_a_fixed_point() -> None:
    doc = workspace()
    container = doc["spec"]["templates"][0]["containerSet"]["containers"][0]
    container["ports"] = [{"containerPort": 8080}]
    container["env"] = [{"name": "K", "valueFrom": {"secretKeyRef": {"key": "k"}}}]
    doc["spec"]["templates"][0]["volumes"].append({"name": "runtime", "configMap": {}})
    before = copy.deepcopy(doc)
    defaulted = crd_defaults(doc)
    assert doc == before  # the input is left alone
    out = defaulted["spec"]["templates"][0]
    assert out["containerSet"]["containers"][0]["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert out["containerSet"]["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"] == {
        "key": "k",
        "name": "",
    }
    assert out["volumes"][1]["configMap"] == {"name": ""}
    assert crd_defaults(defaulted) == defaulted
    assert validate_argo_schema(defaulted) == []
    assert check_documents([defaulted]) == []


def test_a_document_that_spells_everything_out_is_unchanged() -> None:
    doc = workspace()
    container = doc["spec"]["templates"][0]["containerSet"]["containers"][0]
    container["ports"] = [{"containerPort": 8080, "protocol": "UDP"}]
    container["env"] = [
        {"name": "K", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k", "optional": True}}}
    ]
    assert crd_defaults(doc) == doc
