"""A run on the cluster, through the ``kubernetes`` client: the TaskRun, PipelineRun or Argo Workflow found
by our labels.

Runs of a service carry ``batch.odahu.org/service``; committed jobs' runs also ``batch.odahu.org/job``.
A webhook run is told apart by its ``request-id`` param (or, without one, by being the newest run of
the service). A PipelineRun's TaskRuns carry Tekton's ``tekton.dev/pipelineRun`` and
``tekton.dev/pipelineTask`` labels (tektoncd/pipeline v1.15.0 docs/labels.md), which give its shards.
A Workflow (``argoproj.io/v1alpha1``) carries the same labels and its ``request-id`` as an argument; its
own status holds its pods and shards as nodes (``compiler/status/argo.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compiler import naming as n
from compiler.status import argo
from compiler.status.states import run_state, step_state
from compiler.status.target import Target, run_params
from compiler.status.view import RunView, shard_views

__all__ = ["Cluster", "ClusterError", "RunView", "shard_views"]

GROUP, VERSION = "tekton.dev", "v1"
PIPELINE_RUN_LABEL = "tekton.dev/pipelineRun"
PIPELINE_TASK_LABEL = "tekton.dev/pipelineTask"


class ClusterError(Exception):
    """The API server could not be asked (no kubeconfig, unreachable, forbidden)."""


class Cluster:
    """Reads Tekton runs, Argo Workflows and pods through a kubernetes ``ApiClient``."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None) -> None:
        try:
            from kubernetes import client, config
            from kubernetes.config.config_exception import ConfigException
        except ImportError as exc:  # a broken installation
            raise ClusterError(f"the kubernetes client is not installed ({exc})") from exc
        try:
            api = config.new_client_from_config(config_file=kubeconfig, context=context)  # type: ignore[no-untyped-call]
        except (ConfigException, OSError) as exc:
            raise ClusterError(f"no usable kubeconfig ({exc})") from exc
        self._custom = client.CustomObjectsApi(api)
        self._core = client.CoreV1Api(api)

    def _list(
        self, namespace: str, plural: str, selector: str, group: str = GROUP, version: str = VERSION
    ) -> list[Mapping[str, Any]]:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            found: Any = self._custom.list_namespaced_custom_object(
                group, version, namespace, plural, label_selector=selector
            )
        except ApiException as exc:
            raise ClusterError(f"listing {plural} in {namespace}: {exc.status} {exc.reason}") from exc
        except HTTPError as exc:
            raise ClusterError(f"listing {plural} in {namespace}: {exc}") from exc
        return list(found.get("items") or [])

    def _pod_phase(self, namespace: str, pod: str | None) -> str | None:
        if not pod:
            return None
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            found: Any = self._core.read_namespaced_pod(pod, namespace, _preload_content=False)
        except (ApiException, HTTPError):
            return None  # gone (pruned) or not ours to read: the run's own status still stands
        import json

        return str((json.loads(found.data).get("status") or {}).get("phase") or "") or None

    def find(self, target: Target) -> RunView | None:
        """The newest run of ``target`` (a PipelineRun with its TaskRuns); None when there is none."""
        selector = f"{n.LABEL_SERVICE}={target.service}"
        if target.job:
            selector += f",{n.LABEL_JOB}={target.job}"
        if target.engine == "argo":
            workflows = self._list(target.namespace, argo.PLURAL, selector, argo.GROUP, argo.VERSION)
            newest = _newest(workflows, target.request_id)
            ns = target.namespace
            return None if newest is None else argo.view(newest, lambda pod: self._pod_phase(ns, pod))
        runs = [
            *self._list(target.namespace, "pipelineruns", selector),
            *self._list(target.namespace, "taskruns", selector),
        ]
        runs = [r for r in runs if not _labels(r).get(PIPELINE_RUN_LABEL)]  # shards are shown under their run
        newest = _newest(runs, target.request_id)
        return None if newest is None else self._view(target.namespace, newest)

    def _view(self, namespace: str, run: Mapping[str, Any], pipeline_task: str | None = None) -> RunView:
        status = run.get("status") or {}
        meta = _meta(run)
        children: tuple[RunView, ...] = ()
        if run.get("kind") == "PipelineRun":
            taskruns = self._list(namespace, "taskruns", f"{PIPELINE_RUN_LABEL}={meta.get('name')}")
            children = tuple(
                self._view(namespace, t, str(_labels(t).get(PIPELINE_TASK_LABEL) or ""))
                for t in sorted(taskruns, key=_child_order)
            )
        pod = status.get("podName")
        return RunView(
            kind=str(run.get("kind")),
            name=str(meta.get("name")),
            uid=str(meta.get("uid") or ""),
            request_id=_request_id(run) or str(meta.get("uid") or ""),
            condition=run_state(run),
            start=status.get("startTime"),
            finish=status.get("completionTime"),
            pod=pod,
            pod_phase=self._pod_phase(namespace, pod),
            steps=tuple((str(s.get("name")), step_state(s)) for s in status.get("steps") or []),
            children=children,
            pipeline_task=pipeline_task,
        )


def _newest(runs: list[Mapping[str, Any]], request_id: str) -> Mapping[str, Any] | None:
    """The run with this request id (any, without one) created last."""
    if request_id:
        runs = [r for r in runs if _request_id(r) == request_id]
    if not runs:
        return None
    return max(runs, key=lambda r: (str(_meta(r).get("creationTimestamp") or ""), str(_meta(r).get("name"))))


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _meta(obj).get("labels") or {}


def _request_id(run: Mapping[str, Any]) -> str:
    return run_params(run).get(n.PARAM_REQUEST_ID, "")


def _child_order(run: Mapping[str, Any]) -> tuple[int, str]:
    order = {n.PIPELINE_TASK_PLAN: 0, n.PIPELINE_TASK_SHARD: 1, n.PIPELINE_TASK_MERGE: 2}
    return order.get(str(_labels(run).get(PIPELINE_TASK_LABEL)), 3), str(_meta(run).get("name"))
