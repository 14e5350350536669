"""An Argo ``Workflow`` as ODAHU's job state, and its nodes as the run's pod, steps and shards.

Read from argo-workflows v4.1.2:

- ``pkg/apis/workflow/v1alpha1/workflow_phase.go``: ``status.phase`` is "" (unknown), ``Pending`` or
  ``Running`` before the workflow completes, then ``Succeeded``, ``Failed`` or ``Error`` (``Completed()``);
  ``Running`` once "any node has started; pods might not be running yet".
- ``pkg/apis/workflow/v1alpha1/workflow_types.go``: ``WorkflowStatus`` (``message``, ``startedAt``,
  ``finishedAt``; ``nodes`` by node id, or ``compressedNodes``, or none when ``offloadNodeStatusVersion``
  says Argo's database holds them) and ``NodeStatus`` (``type``, ``templateName``, ``displayName``,
  ``phase``: Pending, Running, Succeeded, Skipped, Failed, Error, Omitted; ``message``, ``boundaryID``,
  ``children``). The entrypoint's node has the workflow's name as its id.
- ``workflow/controller/operator.go``: ``assessNodeStatus`` keeps a Pod node ``Pending`` while its pod
  is (the message says why: unschedulable, pulling an image); ``executeTemplate`` makes a template with a
  ``retryStrategy`` (the ``shard`` template) a ``Retry`` node whose children are its attempts' Pod nodes.
- ``workflow/controller/container_set_template.go``: each container of a containerSet pod is a node of
  type ``Container`` (boundary: the Pod node), chained as ``children`` in the containers' dependency order.
- ``workflow/util/pod_name.go`` ``GeneratePodName``: a node's pod name.
- ``workflow/packer/packer.go`` with ``util/file/fileutil.go``: ``compressedNodes`` is the nodes' JSON,
  gzip-compressed (zstd or brotli if the controller is so configured) and base64-encoded.

ODAHU's state, as ``states.py`` gives it for Tekton: phase "" or ``Pending``, or ``Running`` while no pod
has left ``Pending`` (Tekton's ``Unknown``/``Pending``): **scheduling**; ``Running``: **running**;
``Succeeded``: **succeeded**; ``Failed`` or ``Error``: **failed** (both final: Argo retries nodes, never
a completed workflow).
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable, Mapping
from typing import Any

from compiler import naming as n
from compiler.status.states import Condition, State
from compiler.status.target import run_params
from compiler.status.view import RunView

Node = Mapping[str, Any]
Nodes = Mapping[str, Node]
PodPhase = Callable[[str | None], str | None]

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "workflows"
# workflow/common/common.go AnnotationKeyPodNameVersion: "v1" names a pod by its node id.
POD_NAME_FORMAT = "workflows.argoproj.io/pod-name-format"
_POD_PREFIX_MAX = 253 - 10 - 1  # pod_name.go: maxK8sResourceNameLength - k8sNamingHashLength, minus one

_WORKFLOW_STATES: dict[str, State] = {
    "Pending": "scheduling",
    "Running": "running",
    "Succeeded": "succeeded",
    "Failed": "failed",
    "Error": "failed",
}
# A Skipped or Omitted node never ran: no ODAHU state says so, its reason does.
_NODE_STATES: dict[str, State] = {**_WORKFLOW_STATES}
_TASK_ORDER = {n.PIPELINE_TASK_PLAN: 0, n.PIPELINE_TASK_SHARD: 1, n.PIPELINE_TASK_MERGE: 2}


def workflow_state(workflow: Mapping[str, Any], nodes: Nodes | None = None) -> Condition:
    """The ODAHU state of a Workflow; ``nodes`` (None: unknown) tell a queued pod from a running one."""
    status = workflow.get("status") or {}
    phase, message = str(status.get("phase") or ""), str(status.get("message") or "")
    if not phase:
        return Condition("scheduling", "not started by Argo yet", message)
    state = _WORKFLOW_STATES.get(phase, "unknown")
    if state == "running" and nodes is not None and not any(_started(node) for node in nodes.values()):
        waiting = [str(node.get("message")) for node in _pods(nodes) if node.get("message")]
        return Condition("scheduling", "Pending", waiting[0] if waiting else message)
    return Condition(state, phase, message)


def node_state(node: Node) -> Condition:
    phase = str(node.get("phase") or "")
    return Condition(_NODE_STATES.get(phase, "unknown"), phase, str(node.get("message") or ""))


def _pods(nodes: Nodes) -> list[Node]:
    return [node for node in nodes.values() if node.get("type") == "Pod"]


def _started(node: Node) -> bool:
    return node.get("type") == "Pod" and str(node.get("phase") or "Pending") != "Pending"


def nodes_of(status: Mapping[str, Any]) -> tuple[Nodes | None, str]:
    """The workflow's nodes, or None and why they cannot be shown."""
    if status.get("nodes"):
        found: Nodes = status["nodes"]
        return found, ""
    packed = status.get("compressedNodes")
    if packed:
        try:
            nodes = json.loads(gzip.decompress(base64.b64decode(str(packed), validate=True)))
        except (ValueError, OSError, EOFError):  # binascii.Error and JSON errors, gzip.BadGzipFile
            return (
                None,
                "the Workflow's compressedNodes are not gzip (zstd or brotli): no pods, steps, shards",
            )
        return (
            (nodes, "") if isinstance(nodes, dict) else (None, "the Workflow's compressedNodes hold no map")
        )
    if status.get("offloadNodeStatusVersion"):
        return None, (
            "Argo offloaded this Workflow's nodes to its database: no pods, steps or shards here (`argo get`)"
        )
    return {}, ""


def fnv32a(text: str) -> int:
    """FNV-1a, 32 bits, of ``text``'s UTF-8 bytes: Go's ``hash/fnv.New32a``, which names nodes and pods."""
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def pod_name(workflow: Mapping[str, Any], node: Node) -> str:
    """``GeneratePodName`` with the workflow's pod-name format (the controller's default, v2, without one)."""
    meta = workflow.get("metadata") or {}
    name, node_name = str(meta.get("name") or ""), str(node.get("name") or "")
    if (meta.get("annotations") or {}).get(POD_NAME_FORMAT) == "v1":
        return str(node.get("id") or "")
    if node_name == name:
        return name
    template = str((node.get("templateRef") or {}).get("template") or node.get("templateName") or "")
    prefix = f"{name}-{template}" if template else name
    return f"{prefix[:_POD_PREFIX_MAX]}-{fnv32a(node_name)}"


def view(workflow: Mapping[str, Any], pod_phase: PodPhase) -> RunView:
    """What status shows of a Workflow: a single run's pod and steps, or a sharded run's dag tasks."""
    meta, status = workflow.get("metadata") or {}, workflow.get("status") or {}
    nodes, note = nodes_of(status)
    name, uid = str(meta.get("name") or ""), str(meta.get("uid") or "")
    root = (nodes or {}).get(name) or {}
    pod = pod_name(workflow, root) if root.get("type") == "Pod" else None
    children: tuple[RunView, ...] = ()
    if nodes and root.get("type") == "DAG":
        children = tuple(_task_view(workflow, nodes, node, pod_phase) for node in _tasks(nodes, root))
    return RunView(
        kind="Workflow",
        name=name,
        uid=uid,
        request_id=run_params(workflow).get(n.PARAM_REQUEST_ID) or uid,
        condition=workflow_state(workflow, nodes),
        start=status.get("startedAt"),
        finish=status.get("finishedAt"),
        pod=pod,
        pod_phase=pod_phase(pod),
        steps=_steps(nodes, root) if nodes and pod else (),
        children=children,
        notes=(note,) if note else (),
    )


def _task_name(node: Node) -> str:
    """The dag task a node runs: its display name without a fan-out's ``(index:item)``."""
    return str(node.get("displayName") or node.get("name") or "").split("(", 1)[0]


def _fan_out_index(node: Node) -> int:
    """``shard(3:3)`` -> 3 (operator.go expands ``withParam`` as ``<task>(<index>:<item>)``)."""
    inside = str(node.get("displayName") or "").partition("(")[2].partition(":")[0]
    return int(inside) if inside.isdigit() else -1


def _tasks(nodes: Nodes, root: Node) -> list[Node]:
    """The dag's task nodes: a retried template's Retry node stands for its attempts; no TaskGroup."""
    attempts = {
        child
        for node in nodes.values()
        if node.get("type") == "Retry"
        for child in node.get("children") or []
    }
    found = [
        node
        for node_id, node in nodes.items()
        if node.get("boundaryID") == root.get("id")
        and node.get("type") not in ("TaskGroup", "Container")
        and node_id not in attempts
    ]
    return sorted(
        found, key=lambda t: (_TASK_ORDER.get(_task_name(t), 3), _fan_out_index(t), str(t.get("name")))
    )


def _task_view(workflow: Mapping[str, Any], nodes: Nodes, node: Node, pod_phase: PodPhase) -> RunView:
    retried = node.get("type") == "Retry"
    tries = [nodes[c] for c in node.get("children") or [] if c in nodes] if retried else []
    last = tries[-1] if tries else node  # operator.go appends each attempt: the last is the newest
    pod = pod_name(workflow, last) if last.get("type") == "Pod" else None
    task = _task_name(node)
    return RunView(
        kind=str(node.get("type") or ""),
        name=str(node.get("displayName") or node.get("name") or ""),
        uid=str(node.get("id") or ""),
        request_id="",
        condition=node_state(node),
        start=node.get("startedAt"),
        finish=node.get("finishedAt"),
        pod=pod,
        # A shard is one line; its node's phase already is its pod's (assessNodeStatus).
        pod_phase=None if task == n.PIPELINE_TASK_SHARD else pod_phase(pod),
        steps=_steps(nodes, last) if pod else (),
        pipeline_task=task,
    )


def _steps(nodes: Nodes, pod: Node) -> tuple[tuple[str, str], ...]:
    """The pod's containers in dependency order, each with its node's phase (and message)."""
    order: list[Node] = []
    seen: set[str] = set()
    queue = list(pod.get("children") or [])
    while queue:
        node_id = queue.pop(0)
        node = nodes.get(node_id) or {}
        if node_id in seen or node.get("type") != "Container" or node.get("boundaryID") != pod.get("id"):
            continue
        seen.add(node_id)
        order.append(node)
        queue += node.get("children") or []
    return tuple((str(node.get("displayName") or node.get("name")), _step_state(node)) for node in order)


def _step_state(node: Node) -> str:
    phase, message = str(node.get("phase") or "unknown").lower(), str(node.get("message") or "")
    return f"{phase} ({message})" if message else phase
