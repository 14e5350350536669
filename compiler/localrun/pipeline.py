"""Run one PipelineRun of compiled documents on this machine: a sharded job.

The Pipeline's tasks run in their listed order (the compiler lists them after what they depend on;
``runAfter`` is checked, not scheduled). Each task is a TaskRun run by the ordinary local runner, in its
own run directory ``<workdir>/<pipelinerun>/<pipelinerun>-<task>[-<i>]/`` (Tekton's child names). A task
with a ``matrix`` fans out into one TaskRun per combination, all at once, as parallel local processes;
``retries`` reruns a failed TaskRun on its own (a fresh run directory, ``context.task.retry-count`` + 1).
The machinery shared with Argo's dag (streams, attempts, fan-out) is ``children.py``.
Params are substituted as Tekton does: ``$(params.x)``, ``$(context.pipelineRun.*)``, and the results of
earlier tasks ``$(tasks.<t>.results.<r>)`` (an array result as a matrix value with ``[*]``). The first
failed task fails the run; the tasks after it do not run. Exit 0 only when every TaskRun succeeded.
"""

from __future__ import annotations

import functools
import itertools
import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from compiler.diagnostics import did_you_mean
from compiler.localrun.children import ChildRuns
from compiler.localrun.documents import Doc, RunDocuments
from compiler.localrun.errors import LocalRunError
from compiler.localrun.executor import Executor
from compiler.localrun.pipeline_report import PipelineReport, TaskRunRecord, write_report
from compiler.localrun.prepare import DEFAULT_TIMEOUT, seconds
from compiler.localrun.progress import Progress
from compiler.localrun.rundir import RunDir, clear_keeping_logs
from compiler.localrun.runner import RunOptions, _setup, signals_interrupt
from compiler.localrun.tekton import ParamValue, param_values, substitute
from compiler.naming import LABEL_JOB
from compiler.units import format_duration

MARKER = ".odahu-pipelinerun"


def _name(doc: Doc) -> str:
    return str((doc.get("metadata") or {}).get("name", ""))


def pipelinerun_of_job(docs: Iterable[Doc], job: str) -> str | None:
    """The PipelineRun compiled for ``job`` (a job of more than one shard), or None."""
    for run in docs:
        if run.get("kind") != "PipelineRun":
            continue
        meta = run.get("metadata") or {}
        if (meta.get("labels") or {}).get(LABEL_JOB) == job or meta.get("name") == job:
            return str(meta["name"])
    return None


class PipelineRunner(ChildRuns):
    def __init__(self, docs: Sequence[Doc], name: str, options: RunOptions, out: TextIO) -> None:
        super().__init__(options, out, "the PipelineRun's timeout")
        self.docs = docs
        runs = [d for d in docs if d.get("kind") == "PipelineRun"]
        found = [r for r in runs if _name(r) == name]
        if not found:
            hint = did_you_mean(name, [_name(r) for r in runs])
            raise LocalRunError(f"no PipelineRun named {name!r}" + (f"; {hint}" if hint else ""))
        self.run = found[0]
        spec: Mapping[str, Any] = self.run.get("spec") or {}
        self.spec = spec
        ref = (spec.get("pipelineRef") or {}).get("name")
        pipelines = [d for d in docs if d.get("kind") == "Pipeline" and _name(d) == ref]
        if spec.get("pipelineSpec") is not None:
            self.pipeline: Mapping[str, Any] = spec["pipelineSpec"]
        elif pipelines:
            self.pipeline = pipelines[0].get("spec") or {}
        else:
            raise LocalRunError(f"PipelineRun {name} references Pipeline {ref!r}, which was not compiled")
        if self.pipeline.get("finally"):
            raise LocalRunError(f"Pipeline {ref}: finally tasks are not supported by the local runner")
        self.name = name
        self.namespace = str((self.run.get("metadata") or {}).get("namespace") or "default")
        self.uid = options.uid or str(uuid.uuid4())
        self.tasks = {_name(t): t for t in self.docs if t.get("kind") == "Task"}
        self.configmaps = {_name(c): c for c in self.docs if c.get("kind") == "ConfigMap"}
        params = param_values(self.pipeline, spec)
        self.strings: dict[str, str] = {
            "context.pipelineRun.name": name,
            "context.pipelineRun.namespace": self.namespace,
            "context.pipelineRun.uid": self.uid,
            "context.pipeline.name": str(ref or name),
        }
        self.arrays: dict[str, list[str]] = {}
        for key, value in params.items():
            if isinstance(value, str):
                self.strings[f"params.{key}"] = value
            elif isinstance(value, list):
                self.arrays[f"params.{key}"] = value
        self.timeout = seconds((spec.get("timeouts") or {}).get("pipeline"), DEFAULT_TIMEOUT)
        template: Mapping[str, Any] = spec.get("taskRunTemplate") or {}
        self.template = template
        self.step_specs = {
            str(s.get("pipelineTaskName")): s.get("stepSpecs") for s in spec.get("taskRunSpecs") or []
        }

    # --- values -------------------------------------------------------------------------------

    def _value(self, value: Any) -> ParamValue:
        if isinstance(value, str):
            return substitute(value, self.strings)
        if isinstance(value, list):
            out: list[str] = []
            for item in value:
                out.extend(self._array(item) if _whole(item) else [substitute(str(item), self.strings)])
            return out
        raise LocalRunError(f"param value {value!r}: only strings and arrays run locally")

    def _array(self, text: str) -> list[str]:
        name = text[2:-1].removesuffix("[*]")
        if name not in self.arrays:
            raise LocalRunError(
                f"{text}: no such array (an array result of an earlier task, or an array param)"
            )
        return self.arrays[name]

    def _matrix(self, task: Mapping[str, Any]) -> list[dict[str, str]]:
        matrix = task.get("matrix") or {}
        if matrix.get("include"):
            raise LocalRunError(f"task {_tname(task)}: matrix include is not supported by the local runner")
        axes: list[tuple[str, list[str]]] = []
        for param in matrix.get("params") or []:
            value = param.get("value")
            items = self._array(value) if isinstance(value, str) and _whole(value) else self._value(value)
            if not isinstance(items, list):
                raise LocalRunError(f"task {_tname(task)}: matrix param {param['name']} is not an array")
            axes.append((str(param["name"]), items))
        if not axes:
            return [{}]
        return [
            dict(zip([a[0] for a in axes], combo, strict=True))
            for combo in itertools.product(*(a[1] for a in axes))
        ]

    # --- running ------------------------------------------------------------------------------

    def execute(self) -> PipelineReport:
        root = (self.options.workdir / self.name).absolute()
        holder = RunDir(root)
        records: list[TaskRunRecord] = []
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        with holder.locked(), signals_interrupt():
            if root.exists():
                if not (root / MARKER).exists():
                    raise LocalRunError(
                        f"{root} exists and is not a PipelineRun's folder; choose another --workdir"
                    )
                clear_keeping_logs(root)
            root.mkdir(parents=True, exist_ok=True)
            (root / MARKER).write_text(self.name + "\n")
            done: set[str] = set()
            tasks = list(self.pipeline.get("tasks") or [])
            self.out.write(
                f"PipelineRun {self.name}: {len(tasks)} tasks ({', '.join(_tname(t) for t in tasks)})\n"
            )
            failed = False
            for task in tasks:
                task_name = _tname(task)
                if failed or self.cancel.is_set():
                    records.append(TaskRunRecord(f"{self.name}-{task_name}", task_name, status="skipped"))
                    continue
                missing = [t for t in task.get("runAfter") or [] if t not in done]
                if missing:
                    raise LocalRunError(f"task {task_name} runs after {', '.join(missing)}, listed later")
                try:
                    ran = self._run_task(task, root, deadline)
                except KeyboardInterrupt:  # between two steps, out of every step's reach
                    self.cancel.set()
                    ran = [TaskRunRecord(f"{self.name}-{task_name}", task_name, status="interrupted")]
                records.extend(ran)
                if all(r.status == "succeeded" for r in ran):
                    done.add(task_name)
                else:
                    failed = True
        report = PipelineReport(records, root, interrupted=self.cancel.is_set())
        write_report(report, self.name, self.out, self.options.tty)
        return report

    def _run_task(self, task: Mapping[str, Any], root: Path, deadline: float | None) -> list[TaskRunRecord]:
        task_name = _tname(task)
        params = {str(p["name"]): self._value(p.get("value")) for p in task.get("params") or []}
        combos = self._matrix(task) if task.get("matrix") else [{}]
        definition = self._definition(task)
        retries = int(task.get("retries") or 0)
        fan_out = bool(task.get("matrix"))
        names = [f"{self.name}-{task_name}" + (f"-{i}" if fan_out else "") for i in range(len(combos))]
        records = [TaskRunRecord(name, task_name) for name in names]
        if fan_out:
            self.out.write(
                f"task {task_name}: {len(combos)} TaskRuns at once (matrix), {retries} retries each\n"
            )
        else:
            self.out.write(f"task {task_name}:\n")
        self.out.flush()

        def one(index: int) -> None:
            values = {**params, **combos[index]}
            prefix = f"  [{task_name} {index}] " if fan_out else "  "
            setup = functools.partial(self._setup, records[index].name, task_name, definition, values)
            self.attempts(records[index], root, setup, deadline, retries, prefix)

        self.fan_out(len(combos), one)
        results = records[0].results if len(records) == 1 else {}
        self._collect(task_name, definition, results)
        return records

    def _definition(self, task: Mapping[str, Any]) -> Doc:
        if task.get("taskSpec") is not None:
            return {"kind": "Task", "metadata": {"name": _tname(task)}, "spec": task["taskSpec"]}
        ref = task.get("taskRef") or {}
        if ref.get("kind", "Task") != "Task" or ref.get("name") not in self.tasks:
            raise LocalRunError(
                f"task {_tname(task)} references Task {ref.get('name')!r}, which was not compiled"
            )
        return self.tasks[str(ref["name"])]

    def _taskrun(
        self, name: str, task_name: str, values: Mapping[str, ParamValue], timeout: float | None
    ) -> Doc:
        spec: dict[str, Any] = {
            "params": [{"name": k, "value": v} for k, v in values.items()],
            "serviceAccountName": self.template.get("serviceAccountName"),
            "timeout": "0" if timeout is None else format_duration(max(1, round(timeout)) * 1_000_000_000),
        }
        if self.template.get("podTemplate"):
            spec["podTemplate"] = self.template["podTemplate"]
        if self.step_specs.get(task_name):
            spec["stepSpecs"] = self.step_specs[task_name]
        return {"kind": "TaskRun", "metadata": {"name": name, "namespace": self.namespace}, "spec": spec}

    def _setup(
        self,
        name: str,
        task_name: str,
        definition: Doc,
        values: Mapping[str, ParamValue],
        rundir: RunDir,
        progress: Progress,
        attempt: int,
        left: float | None,
    ) -> Executor:
        taskrun = self._taskrun(name, task_name, values, left)
        docs = RunDocuments(taskrun=taskrun, task=definition, configmaps=self.configmaps)
        options = replace(self.options, uid=None)  # every TaskRun has its own uid
        executor, _ = _setup(docs, rundir, options, progress, self.cancel, attempt)
        return executor

    def _collect(self, task_name: str, definition: Doc, results: Mapping[str, str]) -> None:
        """A finished task's results, for the tasks after it (an array result as JSON)."""
        declared = {
            str(r["name"]): r.get("type", "string")
            for r in (definition.get("spec") or {}).get("results") or []
        }
        for name, text in results.items():
            key = f"tasks.{task_name}.results.{name}"
            if declared.get(name) == "array":
                try:
                    items = json.loads(text)
                except ValueError as exc:
                    raise LocalRunError(f"task {task_name}: result {name} is not a JSON array") from exc
                self.arrays[key] = [str(i) for i in items]
            else:
                self.strings[key] = text


def _tname(task: Doc) -> str:
    """A Pipeline task's name (a field of its own, not metadata)."""
    return str(task.get("name", ""))


def _whole(text: Any) -> bool:
    return isinstance(text, str) and text.startswith("$(") and text.endswith("[*])") and text.count("$(") == 1


def run_pipelinerun(docs: Sequence[Doc], name: str, options: RunOptions, out: TextIO) -> PipelineReport:
    """Execute the PipelineRun ``name`` of ``docs``; raise LocalRunError when it cannot start."""
    return PipelineRunner(docs, name, options, out).execute()
