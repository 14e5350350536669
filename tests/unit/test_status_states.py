"""Tekton's ``Succeeded`` condition as ODAHU's job states (rows of the tables in tektoncd/pipeline v1.15.0
docs/taskruns.md and docs/pipelineruns.md, "Monitoring execution status")."""

from __future__ import annotations

from typing import Any

import pytest

from compiler.status.states import run_state, step_state


def _run(
    status: str | None, reason: str = "", done: bool = False, spec: dict[str, Any] | None = None
) -> dict[str, Any]:
    cond = [] if status is None else [{"type": "Succeeded", "status": status, "reason": reason}]
    body: dict[str, Any] = {"conditions": cond}
    if done:
        body["completionTime"] = "2026-12-01T10:00:00Z"
    return {"spec": spec or {}, "status": body}


@pytest.mark.parametrize(
    ("run", "state"),
    [
        (_run(None), "scheduling"),
        (_run(None, spec={"status": "PipelineRunPending"}), "scheduling"),
        (_run("Unknown", "Started"), "scheduling"),
        (_run("Unknown", "Pending"), "scheduling"),
        (_run("Unknown", "Running"), "running"),
        (_run("Unknown", "TaskRunCancelled"), "running"),  # cancellation not done yet
        (_run("Unknown", "Cancelled"), "running"),
        (_run("True", "Succeeded", True), "succeeded"),
        (_run("True", "Completed", True), "succeeded"),  # a PipelineRun with skipped tasks
        (_run("False", "Failed", True), "failed"),
        (_run("False", "PipelineRunTimeout", True), "failed"),
        (_run("False", "TaskRunImagePullFailed", True), "failed"),
        (_run("False", "Cancelled", True), "failed"),
        (_run("False", "some error"), "running"),  # non-permanent: "it may ultimately succeed"
    ],
)
def test_condition_to_state(run: dict[str, Any], state: str) -> None:
    assert run_state(run).state == state


def test_step_states() -> None:
    assert step_state({"terminated": {"reason": "Error", "exitCode": 2}}) == "terminated (Error, exit 2)"
    assert step_state({"running": {"startedAt": "x"}}) == "running"
    assert step_state({"waiting": {"reason": "ImagePullBackOff"}}) == "waiting (ImagePullBackOff)"
    assert step_state({}) == "unknown"
