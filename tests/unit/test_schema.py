"""JSON Schema and CRDs: generated from the models, agreeing with the validator, crds/ up to date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from compiler.cli import main
from compiler.commands.crds import stale
from compiler.front.schema import crd, crd_files, json_schema
from compiler.front.spec import KINDS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def example_documents() -> list[tuple[str, dict[str, Any]]]:
    yaml = YAML(typ="safe", pure=True)
    out = []
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        if path.name == "odahuflow.project.yaml":
            continue
        for doc in yaml.load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                out.append((str(path.relative_to(ROOT)), doc))
    return out


def test_crds_are_up_to_date() -> None:
    assert stale(ROOT / "crds") == [], "crds/ is out of date: run `odahu-batch crds --out crds/`"


def test_crds_command_writes_and_checks(tmp_path: Path) -> None:
    (tmp_path / "leftover.yaml").write_text("x: 1\n", encoding="utf-8")
    assert main(["crds", "--out", str(tmp_path), "--check"]) == 1
    assert main(["crds", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(crd_files())
    assert main(["crds", "--out", str(tmp_path), "--check"]) == 0


def test_json_schema_is_valid_and_accepts_every_example() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for where, doc in example_documents():
        errors = [e.message for e in validator.iter_errors(doc)]
        assert errors == [], where


@pytest.mark.parametrize(
    "doc",
    [
        {"kind": "Connection", "id": "c", "spec": {"type": "s3", "uri": "s3://b", "keySecret": "x"}},
        {"kind": "Connection", "spec": {"type": "s3", "uri": "s3://b"}},
        {"kind": "InferenceService", "id": "s", "spec": {"image": "i", "command": "python"}},
        {
            "apiVersion": "batch.odahu.org/v1alpha1",
            "kind": "InferenceJob",
            "spec": {"inferenceServiceId": "s"},
        },
        {"kind": "Nope", "id": "x"},
    ],
)
def test_json_schema_rejects_what_the_validator_rejects(doc: dict[str, Any]) -> None:
    assert not jsonschema.Draft202012Validator(json_schema()).is_valid(doc)


def test_schema_command_per_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--kind", "InferenceJob"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$ref"] == "#/$defs/InferenceJobDocument"
    assert jsonschema.Draft202012Validator(schema).is_valid(
        {"kind": "InferenceJob", "spec": {"inferenceServiceId": "svc"}}
    )


def _walk(node: dict[str, Any], path: str) -> list[str]:
    """Paths of nodes that break the structural-schema rules Kubernetes enforces."""
    problems = []
    if "$ref" in node or "default" in node or "oneOf" in node or "const" in node:
        problems.append(path)
    if "type" not in node and not node.get("x-kubernetes-int-or-string"):
        problems.append(path)
    if "properties" in node and "additionalProperties" in node:
        problems.append(path)
    for name, sub in node.get("properties", {}).items():
        problems += _walk(sub, f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            problems += _walk(node[key], f"{path}[{key}]")
    return problems


@pytest.mark.parametrize("kind", KINDS)
def test_crds_are_structural(kind: str) -> None:
    schema = crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert _walk(schema, kind) == []


def test_crds_accept_every_kubernetes_style_example() -> None:
    schemas = {kind: crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"] for kind in KINDS}
    checked = 0
    for where, doc in example_documents():
        if "apiVersion" in doc:
            errors = [
                e.message for e in jsonschema.Draft202012Validator(schemas[doc["kind"]]).iter_errors(doc)
            ]
            assert errors == [], where
            checked += 1
    assert checked > 10
