"""The pod Argo Workflows would build for every Workflow of every example (tests/cluster/argo.py
build_pod), checked against Pod Security Standards "restricted" and against the pod Tekton builds for
the same job: same containers, same resources after the job's override, same credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from compiler import naming as n
from tests.cluster import tekton
from tests.cluster.argo import build_pod, strategic_merge_containers
from tests.cluster.conftest import EXAMPLES, compiled_for
from tests.cluster.pod_security import restricted
from tests.cluster.tekton import pod_requests

Doc = dict[str, Any]
LEAVES = {
    n.ARGO_TEMPLATE_RUN: (n.ARGO_TEMPLATE_RUN,),
    n.ARGO_TEMPLATE_SHARDED: (n.PIPELINE_TASK_PLAN, n.ARGO_TEMPLATE_SHARD, n.PIPELINE_TASK_MERGE),
}


@pytest.fixture(scope="module")
def argo_docs() -> list[Doc]:
    return compiled_for("argo", EXAMPLES)


@pytest.fixture(scope="module")
def tekton_docs() -> list[Doc]:
    return compiled_for("tekton", EXAMPLES)


# What a finished plan task hands on (workflow/controller/dag.go resolves these before a task starts).
PLAN_OUTPUTS = {
    "tasks.plan.outputs.parameters.request-id": "req-1",
    "tasks.plan.outputs.parameters.shard-count": "2",
    "item": "0",
}


def _dag_arguments(wt: Doc, leaf: str) -> dict[str, str] | None:
    """The arguments the sharded dag passes to ``leaf``, the plan's outputs filled in; None: entrypoint."""
    if leaf == n.ARGO_TEMPLATE_RUN:
        return None
    dag = next(t for t in wt["spec"]["templates"] if t["name"] == n.ARGO_TEMPLATE_SHARDED)
    task = next(t for t in dag["dag"]["tasks"] if t["template"] == leaf)
    given = {p["name"]: p["value"] for p in task["arguments"]["parameters"]}
    return {k: PLAN_OUTPUTS.get(v.strip("{}"), v) for k, v in given.items()}


def _pods(docs: list[Doc], **options: Any) -> Iterator[tuple[str, Doc]]:
    templates = {d["metadata"]["name"]: d for d in docs if d["kind"] == "WorkflowTemplate"}
    for wf in (d for d in docs if d["kind"] == "Workflow"):
        wt = templates[wf["spec"]["workflowTemplateRef"]["name"]]
        for leaf in LEAVES[wf["spec"]["entrypoint"]]:
            arguments = _dag_arguments(wt, leaf)
            yield f"{wf['metadata']['name']}/{leaf}", build_pod(wf, wt, leaf, arguments=arguments, **options)


def test_every_pod_passes_restricted_with_the_documented_executor_context(argo_docs: list[Doc]) -> None:
    pods = dict(_pods(argo_docs))
    assert len(pods) > 15
    assert {what: r for what, pod in pods.items() if (r := restricted(pod))} == {}
    # Every reference resolved: the controller fails a pod whose template keeps one.
    assert [what for what, pod in pods.items() if "{{" in json.dumps(pod)] == []


def test_without_an_executor_context_only_argos_own_containers_are_refused(argo_docs: list[Doc]) -> None:
    """The controller gives init and wait no security context unless configured (config/config.go
    GetExecutor; workflowpod.go newExecContainer): a prerequisite the README names, not the tree's."""
    for what, pod in _pods(argo_docs, executor_security=None):
        ours = {"spec": {**pod["spec"], "initContainers": [], "containers": pod["spec"]["containers"][:-1]}}
        assert restricted(ours) == [], what
        assert restricted(pod) != [], what


def test_the_steps_see_no_api_token_and_one_step_sees_the_storage_keys(argo_docs: list[Doc]) -> None:
    for what, pod in _pods(argo_docs):
        assert pod["spec"]["automountServiceAccountToken"] is False
        for container in pod["spec"]["containers"][:-1]:
            assert not any(m["name"] == "executor-token" for m in container.get("volumeMounts") or ()), what
            secrets = [e for e in container.get("env") or () if "valueFrom" in e]
            if secrets:
                assert container["name"] == n.STEP_CONFIGURE_RCLONE, what


def test_each_pod_equals_the_tekton_pod_of_the_same_job(argo_docs: list[Doc], tekton_docs: list[Doc]) -> None:
    """Same containers in the same order, same images, security and resources, after the job's
    resources are merged in (Tekton: stepSpecs; Argo: podSpecPatch)."""
    tasks = {d["metadata"]["name"]: d["spec"] for d in tekton_docs if d["kind"] == "Task"}
    runs = {d["metadata"]["name"]: d for d in tekton_docs if d["kind"] == "TaskRun"}
    compared = 0
    for what, pod in _pods(argo_docs):
        name, leaf = what.split("/")
        if leaf != n.ARGO_TEMPLATE_RUN:
            continue
        run = runs[name]
        want = tekton.build_pod(run, tasks[run["spec"]["taskRef"]["name"]])["spec"]["containers"]
        got = pod["spec"]["containers"][:-1]
        assert [c["name"] for c in got] == [c["name"].removeprefix("step-") for c in want]
        for g, w in zip(got, want, strict=True):
            assert (g["image"], g.get("securityContext"), g["resources"]) == (
                w["image"],
                w["securityContext"],
                w["resources"],
            ), (what, g["name"])
        compared += 1
    assert compared >= 8


def test_a_job_drops_the_services_gpu_in_its_pod(argo_docs: list[Doc]) -> None:
    pods = dict(_pods(argo_docs))
    pod = pods[next(w for w in pods if w.startswith("baked-multiplier-run-"))]
    user = next(c for c in pod["spec"]["containers"] if c["name"] == n.STEP_USER)
    assert user["resources"]["limits"]["nvidia.com/gpu"] == "0"


def test_a_pod_reserves_the_helpers_once(argo_docs: list[Doc]) -> None:
    for what, pod in _pods(argo_docs):
        users = [c for c in pod["spec"]["containers"] if c["name"] == n.STEP_USER]
        user = pod_requests({"spec": {"containers": users, "initContainers": []}})
        total = pod_requests(pod)
        assert total["cpu"] - user.get("cpu", 0.0) == pytest.approx(0.1), what
        assert total["memory"] - user.get("memory", 0.0) == 256 * 1024**2, what


def test_a_pod_spec_patch_merges_like_upstream() -> None:
    """k8s.io/apimachinery strategicpatch on PodSpec: containers by name, ResourceLists key by key, an
    unknown name appended (so a patch must never name a container of another template's pod)."""
    pod = [{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1", "gpu": "1"}}}]
    merged = strategic_merge_containers(
        pod, {"containers": [{"name": "a", "resources": {"limits": {"cpu": "2"}}}]}
    )
    assert merged == [{"name": "a", "image": "x", "resources": {"limits": {"cpu": "2", "gpu": "1"}}}]
    assert [c["name"] for c in strategic_merge_containers(pod, {"containers": [{"name": "b"}]})] == ["a", "b"]
    assert strategic_merge_containers(pod, {}) == pod
