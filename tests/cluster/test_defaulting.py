"""Defaulting fixed point: every compiled document is already what Tekton's and Triggers'
SetDefaults would make of it, so the stored object equals the committed one and Argo CD sees no
drift. The rules live in ``tests/cluster/tekton.py``, each naming its upstream file."""

from __future__ import annotations

from typing import Any

from tests.cluster.tekton import has_defaults, set_defaults


def _name(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def test_every_document_is_its_own_defaulted_form(documents: list[dict[str, Any]]) -> None:
    drifting = [_name(d) for d in documents if has_defaults(d) and set_defaults(d) != d]
    assert drifting == []


def test_every_tekton_kind_we_emit_has_its_defaults_encoded(documents: list[dict[str, Any]]) -> None:
    tekton = {d["kind"] for d in documents if "tekton.dev" in d["apiVersion"]}
    assert tekton
    assert all(has_defaults(d) for d in documents if d["kind"] in tekton)


def test_triggers_default_binding_kind_upstream_fixture() -> None:
    """tektoncd/triggers pkg/apis/triggers/v1beta1/trigger_defaults_test.go, "default binding kind"."""
    given = {
        "apiVersion": "triggers.tekton.dev/v1beta1",
        "kind": "Trigger",
        "spec": {
            "bindings": [
                {"ref": "binding"},
                {"kind": "TriggerBinding", "ref": "namespace-binding"},
                {"kind": "ClusterTriggerBinding", "ref": "cluster-binding"},
            ]
        },
    }
    want = [
        {"kind": "TriggerBinding", "ref": "binding"},
        {"kind": "TriggerBinding", "ref": "namespace-binding"},
        {"kind": "ClusterTriggerBinding", "ref": "cluster-binding"},
    ]
    assert set_defaults(given)["spec"]["bindings"] == want


def test_an_inline_binding_without_kind_is_not_a_fixed_point() -> None:
    """What sharded Triggers emitted before: Triggers adds the kind, so the stored object differs."""
    trigger = {
        "apiVersion": "triggers.tekton.dev/v1beta1",
        "kind": "Trigger",
        "spec": {"bindings": [{"name": "shard-count", "value": "$(extensions.odahu.shard_count)"}]},
    }
    assert set_defaults(trigger) != trigger


def test_taskrun_defaults_upstream_fixture() -> None:
    """tektoncd/pipeline pkg/apis/pipeline/v1/taskrun_defaults_test.go: a taskRef by name gets
    kind Task, a missing timeout 60 minutes, the run the managed-by label."""
    run = {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {},
        "spec": {"taskRef": {"name": "foo"}},
    }
    got = set_defaults(run)
    assert got["spec"]["taskRef"] == {"name": "foo", "kind": "Task"}
    assert got["spec"]["timeout"] == "1h0m0s"
    assert got["spec"]["serviceAccountName"] == "default"
    assert got["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "tekton-pipelines"}
