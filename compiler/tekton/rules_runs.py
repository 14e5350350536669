"""TaskRun and PipelineRun rules (tekton-rules.md 27-31, 47-50; updates 33/51 need the live object)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compiler.manifests.violations import Sink, as_map, as_str, duplicates, maps, walk_strings
from compiler.tekton.rules_base import TASK_RESULT_RE, check_duration, check_ref, supplied_params
from compiler.tekton.rules_params import check_supplied_params
from compiler.tekton.rules_pipeline import check_pipeline_spec
from compiler.tekton.rules_task import check_task_spec

DEFAULT_TIMEOUT = 3600.0  # default-timeout-minutes: 60
_BINDING_SOURCES: Mapping[str, str | None] = {
    "persistentVolumeClaim": "claimName",
    "volumeClaimTemplate": None,
    "emptyDir": None,
    "configMap": "name",
    "secret": "secretName",
    "projected": "sources",
    "csi": "driver",
}
_TASKRUN_STATUS = ("", "TaskRunCancelled", "TaskRunPending")
_PIPELINERUN_STATUS = ("", "Cancelled", "CancelledRunFinally", "StoppedRunFinally", "PipelineRunPending")


def check_taskrun(doc: Mapping[str, Any], sink: Sink) -> None:
    spec = as_map(doc.get("spec"))
    ref, inline = spec.get("taskRef"), spec.get("taskSpec")
    if (ref is None) == (inline is None):
        sink.add("R27", "/spec", "a TaskRun needs exactly one of taskRef and taskSpec")
    if isinstance(ref, Mapping):
        check_ref(ref, "/spec/taskRef", sink, "R27")
    if isinstance(inline, Mapping):
        check_task_spec(inline, "/spec/taskSpec", sink, supplied_params(spec.get("params")))
    check_supplied_params(spec.get("params"), "/spec/params", sink, "R28")
    check_workspace_bindings(spec.get("workspaces"), "/spec/workspaces", sink, "R29")
    status = spec.get("status", "")
    if status not in _TASKRUN_STATUS:
        sink.add("R30", "/spec/status", f"status {status!r} is not one of {_TASKRUN_STATUS[1:]}")
    if spec.get("statusMessage") and not status:
        sink.add("R30", "/spec/statusMessage", "statusMessage needs status")
    retries = spec.get("retries", 0)
    if not isinstance(retries, int) or retries < 0:
        sink.add("R30", "/spec/retries", f"retries {retries!r} must be >= 0")
    if "timeout" in spec:
        check_duration(spec["timeout"], "/spec/timeout", sink, "R30")
    if "debug" in spec:
        sink.add("R31", "/spec/debug", "debug is an alpha feature (enable-api-fields is beta)")
    check_step_specs(spec, "/spec", sink, "R31")


def check_pipelinerun(doc: Mapping[str, Any], sink: Sink) -> None:
    spec = as_map(doc.get("spec"))
    ref, inline = spec.get("pipelineRef"), spec.get("pipelineSpec")
    if (ref is None) == (inline is None):
        sink.add("R47", "/spec", "a PipelineRun needs exactly one of pipelineRef and pipelineSpec")
    if isinstance(ref, Mapping):
        check_ref(ref, "/spec/pipelineRef", sink, "R47")
    if isinstance(inline, Mapping):
        check_pipeline_spec(inline, "/spec/pipelineSpec", sink, supplied_params(spec.get("params")))
    check_supplied_params(spec.get("params"), "/spec/params", sink, "R48")
    for i, param in maps(spec.get("params")):
        for p, s in walk_strings(param.get("value"), f"/spec/params/{i}/value"):
            if TASK_RESULT_RE.search(s):
                sink.add("R48", p, "PipelineRun params cannot reference task results")
    tasks_limit = _check_timeouts(as_map(spec.get("timeouts")), sink)
    status = spec.get("status", "")
    if status not in _PIPELINERUN_STATUS:
        sink.add("R50", "/spec/status", f"status {status!r} is not one of {_PIPELINERUN_STATUS[1:]}")
    check_workspace_bindings(spec.get("workspaces"), "/spec/workspaces", sink, "R50")
    for i, trs in maps(spec.get("taskRunSpecs")):
        here = f"/spec/taskRunSpecs/{i}"
        check_step_specs(trs, here, sink, "R50")
        if "timeout" in trs:
            seconds = check_duration(trs["timeout"], f"{here}/timeout", sink, "R49")
            if seconds is not None and tasks_limit and seconds > tasks_limit:
                sink.add(
                    "R49", f"{here}/timeout", f"timeout {trs['timeout']!r} exceeds the tasks/pipeline timeout"
                )


def _check_timeouts(timeouts: Mapping[str, Any], sink: Sink) -> float:
    """Rule 49; returns the limit for ``taskRunSpecs[].timeout`` (0 = none)."""
    parsed: dict[str, float] = {}
    for key in ("pipeline", "tasks", "finally"):
        if key in timeouts:
            seconds = check_duration(timeouts[key], f"/spec/timeouts/{key}", sink, "R49")
            if seconds is not None:
                parsed[key] = seconds
    pipeline = parsed.get("pipeline", DEFAULT_TIMEOUT if "pipeline" not in timeouts else 0.0)
    for key in ("tasks", "finally"):
        if key in parsed and pipeline and (parsed[key] > pipeline or parsed[key] == 0):
            sink.add("R49", f"/spec/timeouts/{key}", f"timeouts.{key} must be > 0 and <= timeouts.pipeline")
    both = parsed.get("tasks", 0.0) + parsed.get("finally", 0.0)
    if "tasks" in parsed and "finally" in parsed and pipeline and both > pipeline:
        sink.add("R49", "/spec/timeouts", "timeouts.tasks + timeouts.finally exceed timeouts.pipeline")
    return parsed.get("tasks", pipeline)


def check_workspace_bindings(bindings: Any, path: str, sink: Sink, rule: str) -> None:
    """Rule 29: unique names (case-insensitive), exactly one volume source with its required field."""
    names = [as_str(b.get("name")).lower() for _, b in maps(bindings)]
    for name in duplicates(names):
        sink.add(rule, path, f"workspace {name!r} is bound more than once")
    for i, binding in maps(bindings):
        sources = [key for key in _BINDING_SOURCES if binding.get(key) is not None]
        if len(sources) != 1:
            sink.add(
                rule, f"{path}/{i}", f"a workspace binding needs exactly one volume source, got {sources}"
            )
        for key in sources:
            required = _BINDING_SOURCES[key]
            if required and not as_map(binding[key]).get(required):
                sink.add(rule, f"{path}/{i}/{key}", f"{key} needs {required}")


def check_step_specs(holder: Mapping[str, Any], path: str, sink: Sink, rule: str) -> None:
    """Rule 31: stepSpecs / sidecarSpecs names; computeResources excludes stepSpecs computeResources."""
    for key in ("stepSpecs", "sidecarSpecs"):
        names = [as_str(s.get("name")) for _, s in maps(holder.get(key))]
        if "" in names:
            sink.add(rule, f"{path}/{key}", f"{key} entries need a name")
        for name in duplicates(names):
            sink.add(rule, f"{path}/{key}", f"{key} name {name!r} is used more than once")
    if holder.get("computeResources") and any(
        s.get("computeResources") for _, s in maps(holder.get("stepSpecs"))
    ):
        sink.add(
            rule,
            f"{path}/computeResources",
            "computeResources cannot be combined with stepSpecs computeResources",
        )
