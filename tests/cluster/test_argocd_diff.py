"""Argo CD's three-way diff (tests/cluster/argocd.py) on every compiled document: applied as
committed, stored as Tekton's defaulting (or Argo's CRDs and controller) leaves it, it must be in sync."""

from __future__ import annotations

from typing import Any

from compiler.argo.defaults import crd_defaults
from tests.cluster.argocd import apply_merge_patch, create_merge_patch, out_of_sync
from tests.cluster.conftest import EXAMPLES, compiled_for
from tests.cluster.tekton import has_defaults, set_defaults


def _live(doc: dict[str, Any]) -> dict[str, Any]:
    live = set_defaults(doc)
    # What the API server adds in maps (never in lists) does not make a resource OutOfSync.
    live["metadata"] = {**live.get("metadata", {}), "uid": "0", "resourceVersion": "1", "generation": 1}
    return live


def test_every_compiled_document_survives_defaulting_with_no_diff(documents: list[dict[str, Any]]) -> None:
    drifting = [
        f"{d['kind']}/{d['metadata']['name']}"
        for d in documents
        if has_defaults(d) and out_of_sync(d, d, _live(d))
    ]
    assert drifting == []


def test_a_list_element_the_webhook_defaults_keeps_the_resource_out_of_sync() -> None:
    """A list in a JSON merge patch replaces the live list whole: a field added inside one element
    (here Triggers' binding kind) is patched away on every comparison, so the diff never closes."""
    desired: dict[str, Any] = {
        "apiVersion": "triggers.tekton.dev/v1beta1",
        "kind": "Trigger",
        "metadata": {"name": "t"},
        "spec": {"bindings": [{"name": "shard-count", "value": "x"}], "template": {"ref": "t"}},
    }
    assert out_of_sync(desired, desired, _live(desired))
    desired["spec"]["bindings"][0]["kind"] = "TriggerBinding"
    assert not out_of_sync(desired, desired, _live(desired))


def test_a_key_the_webhook_adds_in_a_map_is_no_drift() -> None:
    desired = {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": "r"}, "spec": {}}
    assert not out_of_sync(desired, desired, _live(desired))


def test_merge_patch_rfc7386_examples() -> None:
    """RFC 7386 section 3's example, which jsonpatch.MergePatch follows."""
    target = {
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"],
    }
    patch = {
        "title": "Hello!",
        "phoneNumber": "+01-123-456-7890",
        "author": {"familyName": None},
        "tags": ["example"],
    }
    assert apply_merge_patch(target, patch) == {
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "phoneNumber": "+01-123-456-7890",
    }
    assert apply_merge_patch(target, create_merge_patch(target, {"a": 1})) == {"a": 1}


def _options(doc: dict[str, Any], key: str) -> set[str]:
    value = (doc["metadata"].get("annotations") or {}).get(key, "")
    return {part.strip() for part in value.split(",") if part.strip()}


def test_what_running_runs_mount_is_never_pruned(documents: list[dict[str, Any]]) -> None:
    """A running PipelineRun and a TaskRun retry resolve their definitions, and with them the
    runtime ConfigMap, again (tektoncd/pipeline pkg/reconciler/taskrun/resources/taskref.go,
    pipelinerun/resources/pipelineref.go): Argo CD must never delete one when new code ships
    (argo-cd docs/user-guide/sync-options.md "No Prune Resources"), nor report it OutOfSync
    (docs/user-guide/compare-options.md IgnoreExtraneous)."""
    configmaps = [d for d in documents if d["kind"] == "ConfigMap"]
    assert configmaps
    for doc in configmaps:
        assert "Prune=false" in _options(doc, "argocd.argoproj.io/sync-options")
        assert "IgnoreExtraneous" in _options(doc, "argocd.argoproj.io/compare-options")


def test_gitops_engine_diff_fixtures() -> None:
    """argoproj/gitops-engine pkg/diff/diff_test.go TestDiffArrayAdditions (a field only live has is no
    difference) and TestDiffArrayModification (a value live changed is), on a Deployment-like object."""
    config = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"replicas": 2},
    }
    assert not out_of_sync(config, config, {**config, "status": {"replicas": 1}})
    assert out_of_sync(config, config, {**config, "spec": {"replicas": 10}})


def _argo_live(doc: dict[str, Any]) -> dict[str, Any]:
    """An Argo document as the cluster stores it: the full CRDs' structural defaults
    (compiler/argo/defaults.py), and for a Workflow what the controller writes: its labels
    (workflow/controller/operator.go: workflows.argoproj.io/completed and phase) and status."""
    live: dict[str, Any] = crd_defaults(doc)
    meta = {**live.get("metadata", {}), "uid": "0", "resourceVersion": "1", "generation": 1}
    if doc["kind"] == "Workflow":
        labels = {"workflows.argoproj.io/completed": "true", "workflows.argoproj.io/phase": "Succeeded"}
        meta["labels"] = {**meta.get("labels", {}), **labels}
        live["status"] = {"phase": "Succeeded", "storedTemplates": {}}
    live["metadata"] = meta
    return live


def test_every_argo_document_stays_in_sync_after_the_controller_ran() -> None:
    docs = compiled_for("argo", EXAMPLES)
    drifting = [f"{d['kind']}/{d['metadata']['name']}" for d in docs if out_of_sync(d, d, _argo_live(d))]
    assert drifting == []
    # The check can fail: a default the tree left out would be patched away on every comparison.
    wt = next(d for d in docs if d["kind"] == "WorkflowTemplate")
    volume = wt["spec"]["templates"][0]["volumes"][0]
    del volume["configMap"]["name"]
    assert out_of_sync(wt, wt, _argo_live(wt))
