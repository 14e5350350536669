"""What status shows of a run on the cluster, whichever engine runs it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from compiler import naming as n
from compiler.status.states import Condition


@dataclass(frozen=True)
class RunView:
    kind: str
    name: str
    uid: str
    request_id: str
    condition: Condition
    start: str | None
    finish: str | None
    pod: str | None = None
    pod_phase: str | None = None
    steps: tuple[tuple[str, str], ...] = ()  # (step, state)
    # A PipelineRun's TaskRuns; a sharded Workflow's dag task nodes (compiler/status/argo.py).
    children: tuple[RunView, ...] = field(default_factory=tuple)
    pipeline_task: str | None = None
    notes: tuple[str, ...] = ()  # what the cluster's object could not tell (reported with the run)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "state": self.condition.state,
            "reason": self.condition.reason,
            "message": self.condition.message,
            "startTime": self.start,
            "completionTime": self.finish,
            "pod": self.pod,
            "podPhase": self.pod_phase,
            "steps": [{"name": s, "state": st} for s, st in self.steps],
            "pipelineTask": self.pipeline_task,
            "taskRuns": [c.as_json() for c in self.children],
        }


def shard_views(run: RunView) -> Sequence[RunView]:
    return [c for c in run.children if c.pipeline_task == n.PIPELINE_TASK_SHARD]
