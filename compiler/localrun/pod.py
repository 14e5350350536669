"""One pod as the local runner executes it, whichever engine's documents it comes from.

A backend turns its run documents into a :class:`Pod`: the containers in the order they run, the pod's
volumes, its deadline, the resources each container ends up with, and the engine's own string
substitution. Tekton substitutes ``$(params.x)`` in each step when the pod starts (``tekton.py``); Argo
Workflows substitutes ``{{...}}`` in the whole template before it builds the pod (``argo.py``), so its
containers arrive substituted and only Kubernetes' ``$(VAR)`` expansion is left. The preparer applies
the pod's substitution, never a backend's by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Doc = Mapping[str, Any]
# (step, result) -> the value a finished step wrote, None when it wrote none.
StepResults = Callable[[str, str], str | None]


class Substitution(Protocol):
    """An engine's substitution of its own references in the strings of one container."""

    def text(self, value: str) -> str:
        """``value`` with every reference the engine knows replaced."""
        ...

    def items(self, values: Sequence[str]) -> list[str]:
        """``command``/``args``: as ``text``, where the engine may turn one item into several."""
        ...

    def unresolved(self, value: str) -> list[str]:
        """The engine's references in ``value`` that nothing replaces (the cluster would refuse them)."""
        ...

    def for_step(self, name: str, raw: Doc, step_results: StepResults) -> Substitution:
        """The substitution of one container (its own result paths, earlier steps' results)."""
        ...


class Verbatim:
    """No engine reference left: the documents were substituted before the pod (Argo's order)."""

    def text(self, value: str) -> str:
        return value

    def items(self, values: Sequence[str]) -> list[str]:
        return list(values)

    def unresolved(self, value: str) -> list[str]:
        return []

    def for_step(self, name: str, raw: Doc, step_results: StepResults) -> Substitution:
        return self


@dataclass(frozen=True)
class Pod:
    """A pod's containers, volumes and limits, as plain data; ``owner`` names it in messages."""

    owner: str
    name: str
    namespace: str
    uid: str
    containers: tuple[Doc, ...]
    volumes: tuple[Doc, ...]
    timeout: float | None
    substitution: Substitution
    configmaps: Mapping[str, Doc] = field(default_factory=dict)
    service_account: str = "default"
    # container -> the resources a run-level override merged in (not enforced locally)
    resources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    deadline_label: str = "the TaskRun's timeout"
    # The volume the steps write the run's results to; None: Tekton's /tekton/results.
    results_volume: str | None = None
    kind: str = "TaskRun"  # what the pod runs for, in its summary.json
