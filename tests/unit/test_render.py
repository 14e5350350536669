"""render: canonical YAML scalars, and documents that Tekton's schemas and rules accept."""

from __future__ import annotations

import dataclasses
from typing import cast

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from compiler.backend import generate
from compiler.diagnostics import CompileError
from compiler.manifests.render import environment
from compiler.manifests.scalar import plain_ok, scalar
from compiler.plan.model import Join, ParamRef, ResultPathRef, RunUidRef, TriggerParamRef
from compiler.plan.planner import plan
from compiler.tekton.render import BACKEND, render, tekton_ref
from tests.support.manifests import check_documents_all, validate_tekton_schema
from tests.unit.compile_fixtures import BUNDLE, sample_project


def _roundtrip(text: str) -> object:
    return yaml.load(f"key: {scalar(text)}\n", Loader=yaml.CSafeLoader)["key"]


@pytest.mark.parametrize(
    "text",
    ["yes", "No", "on", "OFF", "y", "n", "Y", "null", "~", "", "1", "0o17", "0x1f", "1e3", "1.5", ".5",
     ".inf", "1:20", "2026-11-25", "true", "=", "<<", "-1", "+1", "1_000", " lead", "trail ", "a: b",
     "a #b", "x:",
     "- item", "-", "@at", "*star", "&amp", "!tag", "%pct", "{a}", "[a]", "'q'", '"q"', "`b`", "|", ">",
     "tab\there", "é", "\u2028", "\x85", "\x7f"],
)  # fmt: skip
def test_ambiguous_strings_are_quoted_and_read_back(text: str) -> None:
    assert not plain_ok(text)
    assert scalar(text).startswith('"')
    assert _roundtrip(text) == text


@pytest.mark.parametrize(
    "text",
    ["odahu-batch", "1h0m0s", "500m", "1Gi", "$(params.request-id)", "/odahu/input", "--config", "-c",
     "models:multiplier/v1", "nvidia.com/gpu", "a'b", "2026-11",
     "Prune=false,SkipDryRunOnMissingResource=true"],
)  # fmt: skip
def test_safe_strings_stay_plain(text: str) -> None:
    assert scalar(text) == text
    assert _roundtrip(text) == text


def test_non_strings() -> None:
    assert [scalar(None), scalar(True), scalar(False), scalar(65532)] == ["null", "true", "false", "65532"]
    with pytest.raises(TypeError):
        scalar(1.5)


def test_multiline_text_is_a_literal_block_when_indented() -> None:
    assert scalar("a\nb\n", 4) == "|\n    a\n    b"
    assert scalar("a\nb", 4) == "|-\n    a\n    b"
    assert scalar("a\n\n", 2) == "|+\n  a\n"
    assert scalar("a\n\nb\n", 2) == "|\n  a\n\n  b"
    # without an indentation, or when a block would not read back, a quoted string
    assert scalar("a\nb\n") == '"a\\nb\\n"'
    assert scalar(" lead\nx\n", 2).startswith('"')
    assert scalar("trailing \nx\n", 2).startswith('"')
    assert scalar("\nfirst empty\n", 2).startswith('"')
    assert scalar("cr\r\n", 2).startswith('"')


@given(st.text())
def test_every_string_reads_back_plain_or_quoted(text: str) -> None:
    assert _roundtrip(text) == text


@given(st.text(st.characters(codec="utf-8"), min_size=1).map(lambda t: t + "\n" + t))
def test_every_multiline_string_reads_back(text: str) -> None:
    block = scalar(text, 2)
    assert yaml.load(f"key: {block}\n", Loader=yaml.CSafeLoader)["key"] == text


def test_tekton_refs() -> None:
    assert tekton_ref(ParamRef("data-path")) == "$(params.data-path)"
    assert tekton_ref(TriggerParamRef("request-id")) == "$(tt.params.request-id)"
    assert tekton_ref(ResultPathRef("input-summary")) == "$(results.input-summary.path)"
    assert tekton_ref(RunUidRef()) == "$(context.taskRun.uid)"
    joined = Join((ParamRef("output-connection"), ":", ParamRef("output-path")))
    assert tekton_ref(joined) == "$(params.output-connection):$(params.output-path)"
    assert tekton_ref("literal") == "literal"


def test_environment_is_strict() -> None:
    env = environment(BACKEND, tekton_ref)
    assert env.undefined.__name__ == "StrictUndefined"
    assert env.keep_trailing_newline
    assert not env.autoescape


def test_every_document_passes_the_tekton_schemas_kubernetes_and_the_rules() -> None:
    generated = generate(sample_project(), BUNDLE)
    assert generated.ok, generated.diagnostics
    assert check_documents_all(generated.objects[1:]) == []
    kinds = {o["kind"] for o in generated.objects}
    assert {"Task", "TaskRun", "Trigger", "TriggerTemplate", "EventListener", "TriggerBinding"} <= kinds
    # the run a TriggerTemplate creates is a valid TaskRun too
    template = next(o for o in generated.objects if o["kind"] == "TriggerTemplate")
    run = dict(template["spec"]["resourcetemplates"][0])
    run["metadata"] = {**run["metadata"], "name": "multiplier-abcde"}
    del run["metadata"]["generateName"]
    assert validate_tekton_schema(run) == []


def test_documents_are_canonical_text() -> None:
    for doc in render(plan(sample_project(), BUNDLE)):
        assert doc.text.endswith("\n")
        assert not doc.text.endswith("\n\n")
        assert "\r" not in doc.text
        assert "\t" not in doc.text
        assert all(line == line.rstrip() for line in doc.text.splitlines()), doc.path
        if doc.path != "kustomization.yaml":
            keys = [line.split(":")[0] for line in doc.text.splitlines() if line and not line[0].isspace()]
            assert keys[:3] == ["apiVersion", "kind", "metadata"], doc.path


def test_layout_and_kustomization() -> None:
    docs = render(plan(sample_project(), BUNDLE))
    assert docs[0].path == "kustomization.yaml"
    paths = [d.path for d in docs[1:]]
    assert paths == sorted(paths)
    assert "odahu-batch/task/multiplier.yaml" in paths
    assert "_cluster/clusterrole/odahu-batch-eventlistener.yaml" in paths
    listed = yaml.safe_load(docs[0].text)
    assert listed["kind"] == "Kustomization"
    assert listed["resources"] == paths


def test_a_template_failure_names_the_template_line_and_the_spec() -> None:
    planned = plan(sample_project(), BUNDLE)
    broken = dataclasses.replace(planned.runs[0], description=cast(str, object()))
    with pytest.raises(CompileError) as caught:
        render(dataclasses.replace(planned, runs=(broken,)))
    (diag,) = caught.value.diagnostics
    assert diag.code == "E501"
    assert "templates/tekton/task.yaml.j2:" in diag.message
    assert diag.location.file == "specs.yaml"
    assert diag.location.line > 1
