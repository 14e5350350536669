"""Which run to look for: a job, a request id or a webhook body, resolved against the compiled documents.

A committed job has a compiled TaskRun (or, sharded, a PipelineRun) whose params name the request id
and the output location. A webhook run exists only on the cluster; its request id and output location
are the body's values over the service's defaults, which are the Task's param defaults.

Compiled for Argo Workflows, the same values sit elsewhere: a job's Workflow carries them as
``spec.arguments.parameters`` (same names, same values as the TaskRun's params), the service's
WorkflowTemplate holds the defaults in its own ``spec.arguments.parameters`` and the connections in the
``configure-rclone`` container of its ``run`` template's containerSet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from compiler import naming as n
from compiler.backend import Target as Engine
from compiler.diagnostics import did_you_mean

Doc = Mapping[str, Any]
RUN_KINDS = ("TaskRun", "PipelineRun", "Workflow")
SERVICE_KINDS = ("Task", "WorkflowTemplate")


class TargetError(Exception):
    """The specs hold no such job, request or service."""


@dataclass(frozen=True)
class CredentialRef:
    env: str
    secret: str
    key: str


@dataclass(frozen=True)
class Target:
    service: str
    namespace: str
    job: str | None  # a committed job (its runs carry the job label)
    request_id: str  # empty: a webhook run without one (the run's uid names its folder)
    output_connection: str
    output_path: str
    connections: str  # the Task's ODAHU_CONNECTIONS (JSON)
    credentials: tuple[CredentialRef, ...]
    engine: Engine = "tekton"  # what runs it on the cluster: TaskRuns/PipelineRuns, or Workflows

    def folder(self, request_id: str | None = None) -> str:
        """``CONN:PATH/<request id>``, the run's folder in storage, as rclone names it."""
        path = self.output_path.strip("/")
        rid = request_id or self.request_id
        return f"{self.output_connection}:{path}/{rid}" if path else f"{self.output_connection}:{rid}"


def _meta(doc: Doc) -> Mapping[str, Any]:
    return doc.get("metadata") or {}


def _labels(doc: Doc) -> Mapping[str, Any]:
    return _meta(doc).get("labels") or {}


def _params(doc: Doc) -> list[Mapping[str, Any]]:
    """``spec.params`` of a TaskRun or Task; ``spec.arguments.parameters`` of a Workflow(Template)."""
    spec = doc.get("spec") or {}
    if doc.get("kind") in ("Workflow", "WorkflowTemplate"):
        return list((spec.get("arguments") or {}).get("parameters") or [])
    return list(spec.get("params") or [])


def run_params(run: Doc) -> dict[str, str]:
    return {str(p["name"]): str(p.get("value", "")) for p in _params(run)}


def _task(docs: Sequence[Doc], service: str) -> Doc:
    """The service's Task, or its WorkflowTemplate when the documents were compiled for Argo."""
    for doc in docs:
        if doc.get("kind") in SERVICE_KINDS and _labels(doc).get(n.LABEL_SERVICE) == service:
            return doc
    raise TargetError(f"no InferenceService {service!r} in the specs")


def _steps(task: Doc) -> list[Doc]:
    spec = task.get("spec") or {}
    if task.get("kind") == "Task":
        return list(spec.get("steps") or [])
    templates: list[Doc] = list(spec.get("templates") or [])
    run: Doc = next((t for t in templates if t.get("name") == n.ARGO_TEMPLATE_RUN), {})
    return list((run.get("containerSet") or {}).get("containers") or [])


def _configure_step(task: Doc) -> Doc:
    for step in _steps(task):
        if step.get("name") == n.STEP_CONFIGURE_RCLONE:
            found: Doc = step
            return found
    raise TargetError(f"{task.get('kind')} {_meta(task).get('name')} has no {n.STEP_CONFIGURE_RCLONE} step")


def _connections(task: Doc) -> tuple[str, tuple[CredentialRef, ...]]:
    env = _configure_step(task).get("env") or []
    text = next((str(e.get("value", "")) for e in env if e.get("name") == "ODAHU_CONNECTIONS"), "[]")
    creds = tuple(
        CredentialRef(str(e["name"]), str(ref["name"]), str(ref["key"]))
        for e in env
        if (ref := (e.get("valueFrom") or {}).get("secretKeyRef"))
    )
    json.loads(text)  # compiled output: always JSON
    return text, creds


def _target(docs: Sequence[Doc], service: str, params: Mapping[str, str], job: str | None) -> Target:
    task = _task(docs, service)
    default = "default" if task.get("kind") == "Task" else "value"
    defaults = {str(p["name"]): str(p.get(default, "")) for p in _params(task)}
    values = {**defaults, **{k: v for k, v in params.items() if v}}
    text, creds = _connections(task)
    return Target(
        service=service,
        namespace=str(_meta(task).get("namespace") or "default"),
        job=job,
        request_id=values.get(n.PARAM_REQUEST_ID, ""),
        output_connection=values.get(n.PARAM_OUTPUT_CONNECTION, ""),
        output_path=values.get(n.PARAM_OUTPUT_PATH, ""),
        connections=text,
        credentials=creds,
        engine="tekton" if task.get("kind") == "Task" else "argo",
    )


def _runs(docs: Iterable[Doc]) -> list[Doc]:
    return [d for d in docs if d.get("kind") in RUN_KINDS]


def of_job(docs: Sequence[Doc], job: str) -> Target:
    """The committed job's compiled run (a sharded job's PipelineRun rather than a TaskRun)."""
    runs = sorted(
        (r for r in _runs(docs) if _labels(r).get(n.LABEL_JOB) == job),
        key=lambda r: r["kind"] != "PipelineRun",
    )
    if not runs:
        jobs = sorted({str(_labels(r).get(n.LABEL_JOB)) for r in _runs(docs) if _labels(r).get(n.LABEL_JOB)})
        hint = did_you_mean(job, jobs) or f"the jobs: {', '.join(jobs) or 'none'}"
        raise TargetError(f"no InferenceJob {job!r} in the specs; {hint}")
    run = runs[0]
    return _target(docs, str(_labels(run)[n.LABEL_SERVICE]), run_params(run), job)


def of_request(docs: Sequence[Doc], request_id: str, service: str | None) -> Target:
    """A committed job with this request id, else a webhook run of ``service`` with the service's defaults."""
    for run in _runs(docs):
        if run_params(run).get(n.PARAM_REQUEST_ID) == request_id:
            labels = _labels(run)
            if service is None or labels.get(n.LABEL_SERVICE) == service:
                return _target(docs, str(labels[n.LABEL_SERVICE]), run_params(run), labels.get(n.LABEL_JOB))
    if service is None:
        raise TargetError(
            f"no committed job has request id {request_id!r}; "
            "for a webhook run, name its service with --service"
        )
    return _target(docs, service, {n.PARAM_REQUEST_ID: request_id}, None)


def of_webhook(docs: Sequence[Doc], body: Mapping[str, Any]) -> Target:
    """A webhook body: the service's defaults overridden by the body's ``spec`` values."""
    spec = body.get("spec") or {}
    service = str(spec.get("inferenceServiceId", ""))
    params = {n.PARAM_REQUEST_ID: str(spec.get("requestId") or "")}
    destination = spec.get("outputDestination") or {}
    if isinstance(destination, Mapping):
        params[n.PARAM_OUTPUT_CONNECTION] = str(destination.get("connection") or "")
        params[n.PARAM_OUTPUT_PATH] = str(destination.get("path") or "")
    return _target(docs, service, params, None)
