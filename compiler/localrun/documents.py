"""Picking a job's TaskRun, its Task and their ConfigMaps out of compiled documents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from compiler.diagnostics import did_you_mean
from compiler.localrun.errors import LocalRunError

Doc = Mapping[str, Any]
TEKTON_V1 = "tekton.dev/v1"


@dataclass(frozen=True)
class RunDocuments:
    """Everything one TaskRun needs, as plain data."""

    taskrun: Doc
    task: Doc
    configmaps: Mapping[str, Doc]

    @property
    def name(self) -> str:
        return str(self.taskrun["metadata"]["name"])

    @property
    def namespace(self) -> str:
        meta = self.taskrun.get("metadata") or {}
        return str(meta.get("namespace") or (self.task.get("metadata") or {}).get("namespace") or "default")


def _name(doc: Doc) -> str:
    return str((doc.get("metadata") or {}).get("name", ""))


def _of_kind(docs: Iterable[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if isinstance(d, Mapping) and d.get("kind") == kind]


def taskruns(docs: Iterable[Doc]) -> list[Doc]:
    return _of_kind(docs, "TaskRun")


def select(docs: Iterable[Doc], taskrun_name: str | None = None) -> RunDocuments:
    """The TaskRun named ``taskrun_name`` (or the only one), the Task it references, all ConfigMaps."""
    all_docs = list(docs)
    runs = taskruns(all_docs)
    if taskrun_name is None:
        if len(runs) != 1:
            names = ", ".join(sorted(_name(r) for r in runs)) or "none"
            raise LocalRunError(f"expected exactly one TaskRun, found {len(runs)} ({names}); name the job")
        taskrun = runs[0]
    else:
        matches = [r for r in runs if _name(r) == taskrun_name]
        if not matches:
            hint = did_you_mean(taskrun_name, [_name(r) for r in runs])
            raise LocalRunError(f"no TaskRun named {taskrun_name!r}" + (f"; {hint}" if hint else ""))
        taskrun = matches[0]
    spec = taskrun.get("spec") or {}
    if spec.get("taskSpec") is not None:
        task: Doc = {"kind": "Task", "metadata": {"name": _name(taskrun)}, "spec": spec["taskSpec"]}
    else:
        ref = spec.get("taskRef") or {}
        if ref.get("kind", "Task") != "Task" or "name" not in ref:
            raise LocalRunError(f"TaskRun {_name(taskrun)}: only a taskRef to a Task by name can run locally")
        found = [t for t in _of_kind(all_docs, "Task") if _name(t) == ref["name"]]
        if not found:
            raise LocalRunError(
                f"TaskRun {_name(taskrun)} references Task {ref['name']!r}, which was not compiled"
            )
        task = found[0]
    configmaps = {_name(c): c for c in _of_kind(all_docs, "ConfigMap")}
    return RunDocuments(taskrun=taskrun, task=task, configmaps=configmaps)
