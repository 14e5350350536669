"""An Argo Workflow's status as ODAHU's job state, its nodes as pods, steps and shards.

The Workflow status objects are argo-workflows' own (``tests/data/argo-status/``, copied from its
controller tests at v4.1.2, see PROVENANCE.md there); the phases are those of
``pkg/apis/workflow/v1alpha1/workflow_phase.go`` and ``workflow_types.go``.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.status.argo import fnv32a, nodes_of, pod_name, view, workflow_state

DATA = Path(__file__).resolve().parents[1] / "data" / "argo-status"
WITH_PARAM = "testFailsWithParamDAG.yaml"
CONTAINER_SET = "workflowShuttingDownWithNodesInPendingAfterReconciliation.yaml"


def upstream(name: str) -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    return found


def _no_pods(pod: str | None) -> str | None:
    return None


def _workflow(phase: str | None, nodes: dict[str, Any] | None = None, message: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {} if phase is None else {"phase": phase, "message": message}
    if nodes is not None:
        status["nodes"] = nodes
    return {"metadata": {"name": "wf"}, "status": status}


def _pod(phase: str, message: str = "") -> dict[str, Any]:
    return {"id": "wf", "name": "wf", "type": "Pod", "phase": phase, "message": message}


@pytest.mark.parametrize(
    ("workflow", "state", "reason"),
    [
        (_workflow(None), "scheduling", "not started by Argo yet"),  # WorkflowUnknown: ""
        (_workflow("Pending"), "scheduling", "Pending"),
        # Running "pods might not be running yet": while every pod is Pending, as Tekton's Unknown/Pending
        (_workflow("Running", {"wf": _pod("Pending", "Unschedulable: 0/3 nodes")}), "scheduling", "Pending"),
        (_workflow("Running", {"wf": _pod("Running")}), "running", "Running"),
        (_workflow("Running"), "running", "Running"),  # no nodes to tell: as Argo says
        (_workflow("Succeeded", {"wf": _pod("Succeeded")}), "succeeded", "Succeeded"),
        (_workflow("Failed", message="Step exceeded its deadline"), "failed", "Failed"),
        (_workflow("Error", message="pod deleted"), "failed", "Error"),
        (_workflow("Paused"), "unknown", "Paused"),  # no such phase in v4.1.2
    ],
)
def test_phase_to_state(workflow: dict[str, Any], state: str, reason: str) -> None:
    nodes, _ = nodes_of(workflow["status"])
    condition = workflow_state(workflow, nodes if workflow["status"].get("nodes") else None)
    assert (condition.state, condition.reason) == (state, reason)


def test_a_pending_pod_says_why() -> None:
    workflow = _workflow("Running", {"wf": _pod("Pending", "Unschedulable: 0/3 nodes are available")})
    assert workflow_state(workflow, workflow["status"]["nodes"]).message.startswith("Unschedulable")


def test_the_failed_message_is_kept() -> None:
    workflow = _workflow("Failed", message="child 'wf-1' failed")
    assert workflow_state(workflow).message == "child 'wf-1' failed"


@pytest.mark.parametrize("name", [WITH_PARAM, CONTAINER_SET])
def test_node_ids_are_go_fnv32a_of_node_names(name: str) -> None:
    """Workflow.NodeID is ``<workflow>-<fnv32a(node name)>``: the hash ``GeneratePodName`` uses too."""
    workflow = upstream(name)
    wf_name = workflow["metadata"]["name"]
    ids = {
        node_id: node["name"] for node_id, node in workflow["status"]["nodes"].items() if node_id != wf_name
    }
    assert ids
    assert all(node_id == f"{wf_name}-{fnv32a(node)}" for node_id, node in ids.items())


def test_pod_names_as_generate_pod_name() -> None:
    workflow = {"metadata": {"name": "job-1-5e6f7a8b"}}
    root = {"id": "job-1-5e6f7a8b", "name": "job-1-5e6f7a8b", "templateName": "run"}
    assert pod_name(workflow, root) == "job-1-5e6f7a8b"  # the entrypoint's pod: the workflow's name
    node = {"id": "x", "name": "job-1-5e6f7a8b.plan", "templateName": "plan"}
    assert pod_name(workflow, node) == f"job-1-5e6f7a8b-plan-{fnv32a('job-1-5e6f7a8b.plan')}"
    long = {"metadata": {"name": "w" * 250}}
    assert len(pod_name(long, node)) == 242 + 1 + len(str(fnv32a(node["name"])))
    v1 = {
        "metadata": {"name": "job-1-5e6f7a8b", "annotations": {"workflows.argoproj.io/pod-name-format": "v1"}}
    }
    assert pod_name(v1, node) == "x"


def test_a_fanned_out_retried_task_is_one_view_per_item() -> None:
    """dag_test.go's workflow: ten ``process-tasks`` items, each a Retry node; item 3 failed thrice."""
    workflow = upstream(WITH_PARAM)
    run = view(workflow, _no_pods)
    assert (run.kind, run.condition.state, run.condition.reason) == ("Workflow", "running", "Running")
    assert run.start == "2020-08-14T03:47:23Z"
    assert run.pod is None  # a DAG: its pods are its tasks'
    items = [c for c in run.children if c.pipeline_task == "process-tasks"]
    assert [c.name for c in items] == [f"process-tasks({i}:{i})" for i in range(10)]
    assert {c.kind for c in items} == {"Retry"}  # no TaskGroup, no attempt shown on its own
    third = items[3]
    assert (third.condition.state, third.condition.message) == ("failed", "No more retries left")
    last_try = "reproduce-bug-9tpfr.process-tasks(3:3)(2)"
    assert third.pod == f"reproduce-bug-9tpfr-process-tasks-{fnv32a(last_try)}"
    assert all(c.condition.state == "succeeded" for c in items if c is not third)
    others = {c.name: (c.kind, c.condition.state, c.condition.reason) for c in run.children if c not in items}
    assert others == {
        "gen-tasks": ("Retry", "succeeded", "Succeeded"),
        "finish": ("Skipped", "unknown", "Omitted"),  # never ran: the reason says so
    }


def test_a_container_set_pods_containers_are_its_steps() -> None:
    workflow = upstream(CONTAINER_SET)
    asked: list[str | None] = []

    def phase(pod: str | None) -> str | None:
        asked.append(pod)
        return "Failed" if pod else None

    run = view(workflow, phase)
    assert run.condition.state == "running"  # a pod left Pending: not scheduling any more
    (task,) = run.children
    assert (task.kind, task.name, task.condition.state) == ("Pod", "using-container-set-template", "failed")
    assert task.pod == "container-set-termination-demopw5vv-842041608"  # pod-name-format v1: the node id
    assert (task.pod_phase, task.steps) == ("Failed", (("step-1", "pending"), ("step-2", "pending")))
    assert "container-set-termination-demopw5vv-842041608" in asked


def test_a_single_run_is_its_root_pod() -> None:
    nodes = {
        "job-1-0a1b2c3d": {"id": "job-1-0a1b2c3d", "name": "job-1-0a1b2c3d", "displayName": "job-1-0a1b2c3d",
                           "type": "Pod", "templateName": "run", "phase": "Running",
                           "children": ["job-1-0a1b2c3d-1"]},
        "job-1-0a1b2c3d-1": {"id": "job-1-0a1b2c3d-1", "name": "job-1-0a1b2c3d.configure-rclone",
                             "displayName": "configure-rclone", "type": "Container", "phase": "Succeeded",
                             "boundaryID": "job-1-0a1b2c3d", "children": ["job-1-0a1b2c3d-2"]},
        "job-1-0a1b2c3d-2": {"id": "job-1-0a1b2c3d-2", "name": "job-1-0a1b2c3d.sync-data",
                             "displayName": "sync-data", "type": "Container", "phase": "Failed",
                             "message": "Error (exit code 1)", "boundaryID": "job-1-0a1b2c3d"},
    }  # fmt: skip
    workflow = {
        "metadata": {"name": "job-1-0a1b2c3d", "uid": "u-1"},
        "spec": {"arguments": {"parameters": [{"name": "request-id", "value": ""}]}},
        "status": {"phase": "Running", "nodes": nodes},
    }
    run = view(workflow, lambda pod: "Running" if pod == "job-1-0a1b2c3d" else None)
    assert (run.pod, run.pod_phase, run.request_id) == ("job-1-0a1b2c3d", "Running", "u-1")
    assert run.steps == (("configure-rclone", "succeeded"), ("sync-data", "failed (Error (exit code 1))"))


def test_compressed_nodes_read_as_the_controller_writes_them() -> None:
    """packer.go compressWorkflow: the nodes' JSON, gzip, base64; ``nodes`` emptied."""
    workflow = upstream(WITH_PARAM)
    packed = copy.deepcopy(workflow)
    raw = json.dumps(packed["status"].pop("nodes")).encode()
    packed["status"]["compressedNodes"] = base64.b64encode(gzip.compress(raw)).decode()
    assert view(packed, _no_pods) == view(workflow, _no_pods)


@pytest.mark.parametrize(
    ("status", "note"),
    [
        ({"phase": "Running", "compressedNodes": base64.b64encode(b"\x28\xb5\x2f\xfd zstd").decode()},
         "not gzip"),
        ({"phase": "Running", "offloadNodeStatusVersion": "fnv:123"}, "offloaded"),
    ],
)  # fmt: skip
def test_nodes_out_of_reach_are_a_note(status: dict[str, Any], note: str) -> None:
    run = view({"metadata": {"name": "wf"}, "status": status}, _no_pods)
    assert run.condition.state == "running"
    assert len(run.notes) == 1
    assert note in run.notes[0]
    assert (run.children, run.steps) == ((), ())
