"""Run one pod of compiled documents on this machine: the facade of the local runner.

``run_documents`` runs a TaskRun; ``run_pod`` any engine's pod (``workflow.py`` runs Argo's with it).
Order: pick the documents; lay out the run directory; prepare every step (so a missing secret, tool
or bind stops the job before its first step); fill the volumes; run the steps; print the summary.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from compiler.localrun import interrupts
from compiler.localrun.documents import Doc, RunDocuments, select
from compiler.localrun.errors import LocalRunError
from compiler.localrun.executor import Executor, Outcome, log_tail
from compiler.localrun.launch import (
    ENGINES,
    EngineLauncher,
    HostLauncher,
    HostTools,
    Launch,
    base_env,
    engine_available,
)
from compiler.localrun.paths import Bind
from compiler.localrun.pod import Pod
from compiler.localrun.prepare import Preparer, Step
from compiler.localrun.progress import Progress, StepRecord, step_table
from compiler.localrun.rundir import RunDir, make_volumes
from compiler.localrun.secrets import Masker, SecretStore
from compiler.localrun.taskrun import tekton_pod
from compiler.localrun.tekton import RunContext
from compiler.localrun.terminal import console

# What a cluster honours and the local run does not, given the prepared steps (printed with -v).
Notes = Callable[[Sequence[Step]], list[str]]


@dataclass(frozen=True)
class RunOptions:
    workdir: Path = Path("runs")
    taskrun: str | None = None
    binds: Sequence[Bind] = ()
    secrets: SecretStore = field(default_factory=SecretStore)
    user_runtime: str = "host"
    keep: bool = False
    verbose: bool = False
    uid: str | None = None
    environ: Mapping[str, str] | None = None
    kill_grace: float = 5.0
    tty: bool | None = None
    cwd: Path | None = None


@dataclass(frozen=True)
class RunReport:
    outcome: Outcome
    rundir: Path

    @property
    def exit_code(self) -> int:
        if self.outcome.interrupted:
            return 130
        return 0 if self.outcome.succeeded else 1


def run_documents(docs: Iterable[Doc], options: RunOptions, out: TextIO) -> RunReport:
    """Execute the TaskRun ``options.taskrun`` of ``docs``; raise LocalRunError when it cannot start."""
    selected = select(docs, options.taskrun)

    def make() -> tuple[Pod, Notes]:
        task_name = str((selected.task.get("metadata") or {}).get("name", selected.name))
        uid = options.uid or str(uuid.uuid4())
        context = RunContext(selected.name, selected.namespace, uid, task_name)
        return tekton_pod(selected, context), functools.partial(ignored_fields, selected.taskrun)

    return run_pod(selected.name, make, options, out)


def run_pod(name: str, make: Callable[[], tuple[Pod, Notes]], options: RunOptions, out: TextIO) -> RunReport:
    """Run one pod in ``<workdir>/<name>/``; ``make`` builds it once the run directory is laid out."""
    rundir = RunDir((options.workdir / name).absolute())
    progress = Progress(out, tty=options.tty)
    with rundir.locked(), signals_interrupt():
        rundir.reset()
        pod, notes = make()
        executor, masker = start_pod(pod, rundir, options, progress, notes)
        outcome = executor.run()
    hint = executor.preparer.unset_secrets_hint(outcome.failed.name) if outcome.failed else ""
    _report(outcome, rundir, masker, out, verbose=options.verbose, hint=hint, tty=options.tty)
    if outcome.succeeded and not options.keep:
        rundir.free_volumes()
    return RunReport(outcome, rundir.root)


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the run as Ctrl-C does: the running step's processes are stopped too
    (they live in their own process group, which a signal to odahu-batch alone would not reach)."""
    with interrupts.handled():
        yield


def _setup(
    docs: RunDocuments,
    rundir: RunDir,
    options: RunOptions,
    progress: Progress,
    cancel: threading.Event | None = None,
    attempt: int = 0,
) -> tuple[Executor, Masker]:
    task_name = str((docs.task.get("metadata") or {}).get("name", docs.name))
    uid = options.uid or str(uuid.uuid4())
    context = RunContext(docs.name, docs.namespace, uid, task_name, retry_count=attempt)
    pod = tekton_pod(docs, context)
    notes = functools.partial(ignored_fields, docs.taskrun)
    return start_pod(pod, rundir, options, progress, notes, cancel)


def start_pod(
    pod: Pod,
    rundir: RunDir,
    options: RunOptions,
    progress: Progress,
    notes: Notes,
    cancel: threading.Event | None = None,
) -> tuple[Executor, Masker]:
    """Prepare every step of ``pod`` (a missing secret, tool or bind stops it here), lay out its volumes,
    and return the executor that runs it; ``notes``: what a cluster honours and the run does not (-v)."""
    preparer = Preparer(pod, rundir, options.secrets)
    steps = preparer.check()
    environ = base_env(options.environ)
    tools = HostTools.find(options.environ)
    tools.check(steps)
    host = HostLauncher(rundir, tools, options.binds, environ, options.cwd or Path.cwd())
    launch_user = _user_launcher(options, rundir, environ, host, pod)
    for step in steps:
        if step.is_user and options.user_runtime == "host":
            for warning in host.check_user(step):
                progress.note(f"warning: {warning}")
    masker = Masker(options.secrets.values())
    if options.verbose:
        for note in notes(steps):
            progress.note(note)
    tools.write_shims(rundir.bin)
    make_volumes(rundir, preparer.volumes, pod.substitution.text, pod.configmaps, options.secrets)

    def launcher(step: Step) -> Launch:
        return launch_user(step) if step.is_user else host.launch(step)

    executor = Executor(
        preparer,
        rundir,
        launcher,
        progress,
        masker,
        verbose=options.verbose,
        kill_grace=options.kill_grace,
        cancel=cancel,
    )
    return executor, masker


def _user_launcher(
    options: RunOptions, rundir: RunDir, environ: dict[str, str], host: HostLauncher, pod: Pod
) -> Callable[[Step], Launch]:
    if options.user_runtime == "host":
        return host.launch
    if options.user_runtime not in ENGINES:
        raise LocalRunError(f"--user-runtime {options.user_runtime}: expected host, docker or podman")
    why = engine_available(options.user_runtime)
    if why is not None:
        raise LocalRunError(f"--user-runtime {options.user_runtime}: {why}")
    engine = EngineLauncher(options.user_runtime, rundir, options.binds, environ)
    name = f"odahu-{pod.name[:40]}-{pod.uid[:8]}"
    return lambda step: engine.launch(step, name)


def ignored_fields(taskrun: Doc, steps: Sequence[Step]) -> list[str]:
    """What a cluster would honour and the local run does not (for verbose output)."""
    spec = taskrun.get("spec") or {}
    notes: list[str] = []
    pod = spec.get("podTemplate") or {}
    for key in sorted(pod):
        notes.append(f"note: podTemplate.{key} is ignored locally ({_short(pod[key])})")
    overridden = {str(o.get("name")) for o in spec.get("stepSpecs") or []}
    for step in steps:
        if step.name in overridden:
            notes.append(
                f"note: step {step.name} gets the resources {_short(step.resources)} (stepSpecs merged into "
                "the Task's as Tekton merges them; not enforced locally)"
            )
    if spec.get("serviceAccountName"):
        notes.append(f"note: serviceAccountName {spec['serviceAccountName']} is ignored locally")
    if steps:
        notes.append("note: computeResources and securityContext of the steps are ignored locally")
    return notes


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _report(
    outcome: Outcome,
    rundir: RunDir,
    masker: Masker,
    out: TextIO,
    *,
    verbose: bool,
    hint: str = "",
    tty: bool | None = None,
) -> None:
    out.write("\n")
    console(out, tty).print(step_table(outcome.records))
    failed = outcome.failed
    if failed is not None:
        tail = masker(log_tail(rundir.log(failed.name))) or "(no output)"
        out.write(f"\n{failure_headline(failed)}:\n{_indent(tail)}\n")
        if hint:
            out.write(f"{hint}\n")
    if outcome.interrupted:
        out.write("\ninterrupted: the running step was stopped\n")
    if verbose and outcome.results:
        out.write("\nresults:\n")
        for name, value in outcome.results.items():
            out.write(f"  {name}: {masker(value.strip())}\n")
    status = "succeeded" if outcome.succeeded else "failed"
    out.write(f"\nrun {status}; run directory: {rundir.root}{os.sep}\n")


def failure_headline(record: StepRecord) -> str:
    """``step <name> failed (exit N)``, or the status and why for a timeout or a step that did not start."""
    if (
        record.status == "failed"
        and record.exit_code is not None
        and record.message == f"exit {record.exit_code}"
    ):
        return f"step {record.name} failed (exit {record.exit_code})"
    return f"step {record.name} {record.status} ({record.message})"


def _indent(text: str) -> str:
    return "\n".join("  | " + line for line in text.splitlines())
