"""Run one Workflow of compiled Argo documents on this machine, as the Argo controller would run it.

The Workflow's spec is joined over its WorkflowTemplate's and the entrypoint template runs with the
Workflow's arguments (``argo.py`` cites each rule). A containerSet entrypoint is one pod, run like a
TaskRun in ``<workdir>/<workflow>/``. A dag entrypoint runs its tasks in ``depends`` order, each pod in
``<workdir>/<workflow>/<workflow>-<task>[-<i>]/``: a ``withParam`` task fans out over the JSON list, at
most the dag template's ``parallelism`` pods at once (the others queue: ``docs/parallelism.md``), each
retried up to its template's ``retryStrategy.limit``. A failed pod does not stop the other items of its
fan-out (``failFast`` is off unless set: ``pkg/apis/workflow/v1alpha1/workflow_types.go`` ``IsFailFast``),
but the tasks that depend on it never run. ``activeDeadlineSeconds`` bounds the whole run.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from compiler import naming as n
from compiler.diagnostics import did_you_mean
from compiler.localrun import argo
from compiler.localrun.children import ChildRuns
from compiler.localrun.errors import LocalRunError
from compiler.localrun.executor import Executor, Outcome
from compiler.localrun.jobs import run_of_job
from compiler.localrun.pipeline import MARKER
from compiler.localrun.pipeline_report import PipelineReport, TaskRunRecord, write_report
from compiler.localrun.pod import Doc, Pod, Verbatim
from compiler.localrun.prepare import Step
from compiler.localrun.progress import Progress
from compiler.localrun.rundir import RunDir, clear_keeping_logs
from compiler.localrun.runner import RunOptions, RunReport, run_pod, signals_interrupt, start_pod

DEADLINE = "the Workflow's activeDeadlineSeconds"
MAIN = "main"


def _name(doc: Doc) -> str:
    return str((doc.get("metadata") or {}).get("name", ""))


def workflows(docs: Iterable[Doc]) -> list[Doc]:
    return [d for d in docs if isinstance(d, Mapping) and d.get("kind") == "Workflow"]


def workflow_of_job(docs: Iterable[Doc], job: str) -> str:
    """The Workflow compiled for ``job`` (by the job label, or a Workflow's own name)."""
    return run_of_job(workflows(docs), job)


@dataclass(frozen=True)
class WorkflowDocuments:
    """A Workflow, its spec joined over its WorkflowTemplate's, the templates and ConfigMaps."""

    name: str
    namespace: str
    spec: Mapping[str, Any]
    templates: Mapping[str, Doc]
    configmaps: Mapping[str, Doc]


def select_workflow(docs: Sequence[Doc], name: str) -> WorkflowDocuments:
    found = [w for w in workflows(docs) if _name(w) == name]
    if not found:
        raise LocalRunError(f"no Workflow named {name!r}")
    workflow = found[0]
    spec: Mapping[str, Any] = workflow.get("spec") or {}
    ref = spec.get("workflowTemplateRef")
    template_spec: Mapping[str, Any] = {}
    if ref is not None:
        if ref.get("clusterScope"):
            raise LocalRunError(f"Workflow {name}: a ClusterWorkflowTemplate does not run locally")
        matches = [d for d in docs if d.get("kind") == "WorkflowTemplate" and _name(d) == ref.get("name")]
        if not matches:
            raise LocalRunError(
                f"Workflow {name} references WorkflowTemplate {ref.get('name')!r}, which was not compiled"
            )
        template_spec = matches[0].get("spec") or {}
    joined = argo.joined_spec(spec, template_spec)
    templates = {str(t["name"]): t for t in joined.get("templates") or []}
    namespace = str((workflow.get("metadata") or {}).get("namespace") or "default")
    configmaps = {_name(c): c for c in docs if c.get("kind") == "ConfigMap"}
    return WorkflowDocuments(name, namespace, joined, templates, configmaps)


def _containers(template: Doc) -> list[Doc]:
    where = f"template {template.get('name')}"
    if "containerSet" in template:
        return argo.container_order(template["containerSet"].get("containers") or [], where)
    if "container" in template:
        return [{**template["container"], "name": MAIN}]
    kinds = ", ".join(
        sorted(k for k in ("script", "resource", "steps", "suspend", "http", "plugin") if k in template)
    )
    raise LocalRunError(
        f"{where}: only container, containerSet and dag templates run locally ({kinds or 'none'})"
    )


def _reader(rundir: RunDir, container: Doc) -> Callable[[str], str | None]:
    """A path of ``container`` -> the text of that file in the run directory (None: not there)."""
    mounts = {
        str(m["mountPath"]).rstrip("/"): rundir.volume(str(m["name"])) / str(m.get("subPath") or "")
        for m in container.get("volumeMounts") or []
    }

    def read(path: str) -> str | None:
        for mount in sorted(mounts, key=len, reverse=True):
            if path == mount or path.startswith(mount + "/"):
                host = mounts[mount] / path[len(mount) :].lstrip("/")
                return host.read_text(encoding="utf-8", errors="replace") if host.is_file() else None
        return None

    return read


class WorkflowRunner(ChildRuns):
    def __init__(self, docs: Sequence[Doc], name: str, options: RunOptions, out: TextIO) -> None:
        super().__init__(options, out, DEADLINE)
        self.wf = select_workflow(docs, name)
        spec = self.wf.spec
        self.uid = options.uid or str(uuid.uuid4())
        self.scope = argo.global_scope(name, self.wf.namespace, self.uid, spec)
        deadline = _whole(spec.get("activeDeadlineSeconds"), f"Workflow {name}: activeDeadlineSeconds")
        self.timeout: float | None = float(deadline) if deadline > 0 else None
        entry = str(spec.get("entrypoint") or "")
        if entry not in self.wf.templates:
            hint = did_you_mean(entry, list(self.wf.templates))
            raise LocalRunError(f"Workflow {name}: no template {entry!r}" + (f"; {hint}" if hint else ""))
        self.entry = self.wf.templates[entry]
        # The entrypoint receives the Workflow's arguments (operator.go: executeTemplate with
        # woc.execWf.Spec.Arguments).
        params = (spec.get("arguments") or {}).get("parameters") or []
        self.arguments = {
            str(p["name"]): argo.text_value(p["value"]) for p in params if p.get("value") is not None
        }

    def execute(self) -> RunReport | PipelineReport:
        if "dag" in self.entry:
            return self._dag(self.entry)
        template = argo.process_args(self.entry, self.arguments, self.scope)
        name = self.wf.name
        limit = (template.get("retryStrategy") or {}).get("limit")
        retries = _whole(limit, f"template {template.get('name')}: retryStrategy.limit")
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        report = run_pod(
            name, functools.partial(self.pod, template, name, self.timeout), self.options, self.out
        )
        for attempt in range(1, retries + 1):
            left = None if deadline is None else deadline - time.monotonic()
            if report.outcome.succeeded or report.outcome.interrupted or (left is not None and left <= 0):
                break
            self.out.write(f"\nretry {attempt} of {retries}\n")  # a fresh pod; the logs move to history/
            report = run_pod(name, functools.partial(self.pod, template, name, left), self.options, self.out)
        return report

    # --- one pod --------------------------------------------------------------------------------

    def pod(
        self, template: Doc, name: str, left: float | None
    ) -> tuple[Pod, Callable[[Sequence[Step]], list[str]]]:
        """The pod of a substituted template, and its -v notes."""
        containers = _containers(template)
        where = f"template {template.get('name')}"
        if (template.get("inputs") or {}).get("artifacts") or (template.get("outputs") or {}).get(
            "artifacts"
        ):
            raise LocalRunError(f"{where}: artifacts are not supported by the local runner")
        names = [str(c.get("name")) for c in containers]
        patched, ignored = argo.pod_spec_patch(str(template.get("podSpecPatch") or ""), names, where)
        volumes = {str(v.get("name")) for v in template.get("volumes") or []}
        own = _whole(template.get("activeDeadlineSeconds"), f"{where}: activeDeadlineSeconds")
        limits = [t for t in (left, float(own) if own else None) if t is not None]
        pod = Pod(
            owner=where,
            name=name,
            namespace=self.wf.namespace,
            uid=str(uuid.uuid4()),
            containers=tuple(containers),
            volumes=tuple(template.get("volumes") or []),
            timeout=min(limits) if limits else None,
            substitution=Verbatim(),
            configmaps=self.wf.configmaps,
            service_account=str(self.wf.spec.get("serviceAccountName") or "default"),
            resources=patched,
            deadline_label=DEADLINE,
            results_volume=n.ARGO_RESULTS_VOLUME if n.ARGO_RESULTS_VOLUME in volumes else None,
            kind="Pod",
        )
        return pod, functools.partial(self._notes, template, patched, ignored)

    def _notes(
        self, template: Doc, patched: Mapping[str, Doc], ignored: list[str], steps: Sequence[Step]
    ) -> list[str]:
        notes = [f"note: {what} is ignored locally" for what in ignored]
        for step in steps:
            if step.name in patched:
                notes.append(
                    f"note: container {step.name} gets the resources {step.resources} (podSpecPatch merged "
                    "as a strategic merge patch; not enforced locally)"
                )
        for key in ("serviceAccountName", "securityContext", "nodeSelector", "tolerations", "executor"):
            if self.wf.spec.get(key):
                notes.append(f"note: {key} is ignored locally")
        notes.append("note: the containers' resources and securityContext are ignored locally")
        return notes

    def _setup(
        self, template: Doc, rundir: RunDir, progress: Progress, attempt: int, left: float | None
    ) -> Executor:
        pod, notes = self.pod(template, rundir.root.name, left)
        executor, _ = start_pod(pod, rundir, self.options, progress, notes, self.cancel)
        return executor

    # --- a dag ----------------------------------------------------------------------------------

    def _dag(self, dag: Doc) -> PipelineReport:
        template = argo.process_args(dag, self.arguments, self.scope, later=("tasks.", "item"))
        tasks = _ordered(template["dag"].get("tasks") or [])
        workers = _whole(template.get("parallelism"), f"template {dag.get('name')}: parallelism") or None
        root = (self.options.workdir / self.wf.name).absolute()
        records: list[TaskRunRecord] = []
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        outputs: dict[str, str] = {}
        with RunDir(root).locked(), signals_interrupt():
            _lay_out(root, self.wf.name)
            names = ", ".join(str(t["name"]) for t in tasks)
            self.out.write(f"Workflow {self.wf.name}: {len(tasks)} tasks ({names})\n")
            failed = False
            for task in tasks:
                if failed or self.cancel.is_set():
                    records.append(
                        TaskRunRecord(f"{self.wf.name}-{task['name']}", str(task["name"]), "skipped")
                    )
                    continue
                try:
                    ran = self._task(task, root, deadline, workers, outputs)
                except KeyboardInterrupt:  # between two pods, out of every step's reach
                    self.cancel.set()
                    ran = [TaskRunRecord(f"{self.wf.name}-{task['name']}", str(task["name"]), "interrupted")]
                records.extend(ran)
                failed = not all(r.status == "succeeded" for r in ran)
        report = PipelineReport(records, root, interrupted=self.cancel.is_set())
        write_report(report, self.wf.name, self.out, self.options.tty, kinds=("Workflow", "pod"))
        return report

    def _task(
        self, task: Doc, root: Path, deadline: float | None, workers: int | None, outputs: dict[str, str]
    ) -> list[TaskRunRecord]:
        name = str(task["name"])
        scope = {**self.scope, **outputs}
        if task.get("template") not in self.wf.templates:
            raise LocalRunError(f"task {name}: no template {task.get('template')!r}")
        unsupported = sorted(
            k for k in ("withItems", "withSequence", "when", "continueOn", "hooks") if task.get(k)
        )
        if unsupported:
            raise LocalRunError(f"task {name}: {', '.join(unsupported)} not supported by the local runner")
        definition = self.wf.templates[str(task["template"])]
        items: list[dict[str, str]] = [{}]
        if task.get("withParam") is not None:
            argo.check_references(task["withParam"], scope, f"task {name}: withParam")
            items = list(argo.fan_out(argo.replace(str(task["withParam"]), scope), name))
        filled = [self._fill(task, definition, scope, item) for item in items]
        limit = (definition.get("retryStrategy") or {}).get("limit")
        retries = _whole(limit, f"template {definition.get('name')}: retryStrategy.limit")
        fanned = task.get("withParam") is not None
        records = [
            TaskRunRecord(f"{self.wf.name}-{name}" + (f"-{i}" if fanned else ""), name)
            for i in range(len(items))
        ]
        if fanned:
            at_once = f"at most {workers} at once" if workers else "all at once"
            self.out.write(f"task {name}: {len(items)} pods (withParam), {at_once}, {retries} retries each\n")
        else:
            self.out.write(f"task {name}:\n")
        self.out.flush()

        def one(index: int) -> None:
            prefix = f"  [{name} {index}] " if fanned else "  "
            setup = functools.partial(self._setup, filled[index])
            collect = None if fanned else functools.partial(self._collect, filled[index], name, outputs)
            self.attempts(records[index], root, setup, deadline, retries, prefix, collect)

        self.fan_out(len(items), one, workers)
        return records

    def _fill(
        self, task: Doc, definition: Doc, scope: Mapping[str, str], item: Mapping[str, str]
    ) -> dict[str, Any]:
        """The task's template with the task's arguments (``item`` of its withParam substituted)."""
        local = {**scope, **item}
        params = (task.get("arguments") or {}).get("parameters") or []
        argo.check_references(params, local, f"task {task['name']}")
        arguments = {str(p["name"]): argo.replace(argo.text_value(p.get("value", "")), local) for p in params}
        return argo.process_args(definition, arguments, self.scope)

    def _collect(
        self, template: Doc, task: str, outputs: dict[str, str], rundir: RunDir, outcome: Outcome
    ) -> None:
        """A finished task's output parameters, read after its ``main`` container, for the tasks after it."""
        main = [c for c in _containers(template) if c.get("name") == MAIN]
        if not (template.get("outputs") or {}).get("parameters"):
            return
        if not main:
            raise LocalRunError(f"template {template.get('name')}: outputs need a container named {MAIN}")
        for key, value in argo.output_parameters(template, _reader(rundir, main[0])).items():
            outputs[f"tasks.{task}.outputs.parameters.{key}"] = value


def _ordered(tasks: Sequence[Doc]) -> list[Doc]:
    """The dag's tasks in an order ``depends`` allows (only ``a && b``, optionally ``.Succeeded``)."""
    after: dict[str, set[str]] = {}
    for task in tasks:
        needs = set(task.get("dependencies") or [])
        depends = str(task.get("depends") or "")
        for part in filter(None, (p.strip() for p in depends.split("&&"))):
            if not all(c.isalnum() or c in "-_." for c in part):
                raise LocalRunError(f"task {task['name']}: depends {depends!r}: only 'a && b' runs locally")
            needs.add(part.removesuffix(".Succeeded"))
        after[str(task["name"])] = needs
    names = list(after)
    for name, needs in after.items():
        unknown = sorted(needs - set(names))
        if unknown:
            raise LocalRunError(f"task {name} depends on {', '.join(unknown)}, which the dag does not have")
    done: list[str] = []
    while len(done) < len(names):
        ready = [n for n in names if n not in done and after[n] <= set(done)]
        if not ready:
            raise LocalRunError("the dag's tasks depend on each other in a cycle")
        done.append(ready[0])
    by_name = {str(t["name"]): t for t in tasks}
    return [by_name[n] for n in done]


def _whole(value: Any, what: str) -> int:
    """A count of the documents (an int, or an IntOrString's digits); 0 when absent."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise LocalRunError(f"{what}: expected a whole number, not {value!r}")


def _lay_out(root: Path, name: str) -> None:
    if root.exists():
        if not (root / MARKER).exists():
            raise LocalRunError(f"{root} exists and is not a sharded run's folder; choose another --workdir")
        clear_keeping_logs(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text(name + "\n")


def run_workflow(
    docs: Sequence[Doc], name: str, options: RunOptions, out: TextIO
) -> RunReport | PipelineReport:
    """Execute the Workflow ``name`` of ``docs``; raise LocalRunError when it cannot start."""
    return WorkflowRunner(docs, name, options, out).execute()
