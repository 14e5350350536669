"""compiler/tekton/references.py: what a tree references, its prerequisites, and E408."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.cli import main
from compiler.manifests.guards import unresolved
from compiler.manifests.references import Ref
from compiler.plan.planner import plan
from compiler.tekton import guards
from compiler.tekton.references import prerequisites, references
from compiler.tekton.render import render
from tests.unit.compile_fixtures import BUNDLE, SAMPLE, sample_project


def test_references_of_each_kind() -> None:
    run = {
        "kind": "TaskRun",
        "metadata": {"namespace": "ns"},
        "spec": {
            "taskRef": {"kind": "Task", "name": "t"},
            "podTemplate": {"imagePullSecrets": [{"name": "pull"}]},
        },
    }
    assert set(references(run)) == {
        Ref("Task", "ns", "t"),
        Ref("ServiceAccount", "ns", "default"),  # Tekton's default-service-account
        Ref("Secret", "ns", "pull"),
    }
    binding = {
        "kind": "ClusterRoleBinding",
        "metadata": {},
        "roleRef": {"kind": "ClusterRole", "name": "r"},
        "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "ns"}],
    }
    assert set(references(binding)) == {Ref("ClusterRole", None, "r"), Ref("ServiceAccount", "ns", "sa")}
    trigger = {
        "kind": "Trigger",
        "metadata": {"namespace": "ns"},
        "spec": {
            "bindings": [
                {"kind": "TriggerBinding", "ref": "b"},
                {"kind": "TriggerBinding", "name": "x", "value": "y"},
            ],
            "template": {"ref": "tt"},
            "interceptors": [
                {
                    "ref": {"kind": "ClusterInterceptor", "name": "github"},
                    "params": [{"name": "secretRef", "value": {"secretName": "hook", "secretKey": "token"}}],
                }
            ],
        },
    }
    assert set(references(trigger)) == {
        Ref("TriggerBinding", "ns", "b"),
        Ref("TriggerTemplate", "ns", "tt"),
        Ref("ClusterInterceptor", None, "github"),
        Ref("Secret", "ns", "hook", "token"),
    }


def test_a_missing_service_account_is_e408_at_the_spec_of_the_run() -> None:
    docs = [
        d for d in render(plan(sample_project(), BUNDLE)) if not d.path.endswith("odahu-batch-runner.yaml")
    ]
    objects, found = guards.check(docs)
    assert found == []
    diags = unresolved(docs, prerequisites(objects[1:]))
    assert diags
    assert {d.code for d in diags} == {"E408"}
    assert all("ServiceAccount 'odahu-batch-runner'" in d.message for d in diags)
    assert all(d.location.file == "specs.yaml" and d.location.line for d in diags)


def test_the_sample_tree_is_complete_and_lists_its_secrets() -> None:
    docs = render(plan(sample_project(), BUNDLE))
    objects, _ = guards.check(docs)
    needs = prerequisites(objects[1:])
    assert needs.missing == ()
    hooks = [refs for r, refs in needs.secrets if r.kind == "Trigger"]
    assert [[(s.name, s.key) for s in refs] for refs in hooks] == [[("webhook-hmac", "token")]]
    assert "github" in needs.interceptors


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "sample.yaml").write_text(SAMPLE, encoding="utf-8")
    return folder


def test_compile_prints_the_prerequisites(
    specs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", str(specs), "--out", str(tmp_path / "a")]) == 0
    text = capsys.readouterr().out
    assert "prerequisites (create these before the first sync):" in text
    assert "  namespace odahu-batch" in text
    assert "webhook-hmac/token" in text
    assert "Tekton Triggers core interceptors:" in text
    assert main(["compile", str(specs), "--out", str(tmp_path / "b"), "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["diagnostics"] == []
    assert printed["prerequisites"]["namespaces"] == ["odahu-batch"]
    assert {"kind": "ClusterRole", "name": "odahu-batch-eventlistener"} in printed["prerequisites"][
        "clusterScoped"
    ]
