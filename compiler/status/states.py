"""Tekton's run conditions as ODAHU's batch job states.

ODAHU's BatchJobState (odahu/odahu-flow packages/operator/api/v1alpha1/batchinferencejob_types.go) is
one of ``scheduling``, ``running``, ``succeeded``, ``failed``, ``unknown``. Tekton reports a run's
progress in its ``Succeeded`` condition (tektoncd/pipeline v1.15.0 docs/taskruns.md "Monitoring
execution status", docs/pipelineruns.md the same section):

- no condition yet, or ``Unknown`` with reason ``Started`` or ``Pending`` (the pod is Pending, e.g.
  unschedulable or pulling images), or a run created pending (``spec.status``): **scheduling**;
- ``Unknown`` otherwise (``Running``, a cancellation under way): **running**;
- ``True`` (``Succeeded``, ``Completed``): **succeeded**;
- ``False`` with ``completionTime`` set (``Failed``, ``TaskRunTimeout``, ``Cancelled``, ...): **failed**;
- ``False`` without ``completionTime``: a non-permanent error, "it may ultimately succeed": **running**.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

State = Literal["scheduling", "running", "succeeded", "failed", "unknown"]
STATES: tuple[State, ...] = ("scheduling", "running", "succeeded", "failed", "unknown")
FINAL: tuple[State, ...] = ("succeeded", "failed")
_SCHEDULING_REASONS = {"Started", "Pending", "TaskRunPending", "PipelineRunPending"}


@dataclass(frozen=True)
class Condition:
    state: State
    reason: str
    message: str


def succeeded_condition(status: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Succeeded":
            return condition  # type: ignore[no-any-return]
    return None


def run_state(run: Mapping[str, Any]) -> Condition:
    """The ODAHU state of a TaskRun or PipelineRun object."""
    status = run.get("status") or {}
    spec_status = str((run.get("spec") or {}).get("status") or "")
    condition = succeeded_condition(status)
    if condition is None:
        reason = spec_status or "not started by Tekton yet"
        return Condition("scheduling", reason, "")
    reason, message = str(condition.get("reason") or ""), str(condition.get("message") or "")
    value = condition.get("status")
    if value == "True":
        return Condition("succeeded", reason, message)
    if value == "False":
        return Condition("failed" if status.get("completionTime") else "running", reason, message)
    if reason in _SCHEDULING_REASONS or spec_status:
        return Condition("scheduling", reason or spec_status, message)
    return Condition("running", reason, message)


def step_state(step: Mapping[str, Any]) -> str:
    """A step's container state as ``kubectl`` shows it: waiting (reason), running, terminated (exit code)."""
    if "terminated" in step:
        term = step["terminated"] or {}
        return f"terminated ({term.get('reason', '')}, exit {term.get('exitCode', '?')})"
    if "running" in step:
        return "running"
    if "waiting" in step:
        return f"waiting ({(step['waiting'] or {}).get('reason', '')})"
    return "unknown"
