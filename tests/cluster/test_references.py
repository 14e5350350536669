"""Referential completeness: every object a compiled tree references is in the tree or is one of
its listed prerequisites (compiler/tekton/references.py), for every example."""

from __future__ import annotations

from typing import Any

from compiler.tekton.references import prerequisites, references

Doc = dict[str, Any]


def test_every_tree_is_complete(trees: dict[str, list[Doc]]) -> None:
    for name, docs in trees.items():
        assert prerequisites(docs).missing == (), name


def test_every_run_names_an_emitted_service_account(trees: dict[str, list[Doc]]) -> None:
    """tektoncd/pipeline pkg/pod/creds_init.go reads the run's ServiceAccount while building the pod;
    a missing one fails the run for good (pkg/reconciler/taskrun/taskrun.go handlePodCreationError)."""
    for name, docs in trees.items():
        accounts = {d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"}
        named = {r.name for d in docs for r in references(d) if r.kind == "ServiceAccount"}
        assert named, name
        assert named <= accounts, name


def test_a_tree_without_its_service_account_is_incomplete(trees: dict[str, list[Doc]]) -> None:
    docs = [
        d
        for d in trees["multiplier"]
        if d["kind"] != "ServiceAccount" or "runner" not in d["metadata"]["name"]
    ]
    missing = prerequisites(docs).missing
    assert missing
    assert {ref.kind for _, ref in missing} == {"ServiceAccount"}


def test_prerequisites_group_secrets_by_the_object_that_needs_them(trees: dict[str, list[Doc]]) -> None:
    needs = prerequisites(trees["s3"])
    assert needs.namespaces == ("odahu-batch",)
    secrets = {(r.kind, r.name): {(s.name, s.key) for s in refs} for r, refs in needs.secrets}
    for (kind, _), keys in secrets.items():
        assert kind in ("Task", "Pipeline", "Trigger")
        assert all(key for _, key in keys)
    assert "cel" in needs.interceptors
    assert ("ClusterRole", "odahu-batch-eventlistener") in needs.cluster_scoped
