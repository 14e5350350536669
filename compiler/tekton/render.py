"""Plan -> rendered documents: one jinja2 Environment over ``templates/<backend>/*.j2``.

Templates are small and logic-light, one per resource kind. Two filters carry all formatting
decisions: ``ref`` writes the plan's typed run-time references in the backend's syntax and
``yaml`` writes a scalar as canonical YAML (``render_scalar``). A failure names the template
line and the spec that produced the object.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from compiler import naming as n
from compiler.diagnostics import CompileError, Diagnostic, Location
from compiler.front.spec import Source
from compiler.plan.model import (
    Join,
    ParamRef,
    Plan,
    ResultPathRef,
    ResultsDirRef,
    RunUidRef,
    ShardedRunUidRef,
    TaskResultRef,
    TriggerParamRef,
)
from compiler.tekton.cel import interceptors
from compiler.tekton.mapping import RESULTS_DIR, RUN_KINDS, managed_run, policy_rules
from compiler.tekton.render_scalar import scalar

BACKEND = "tekton"


@dataclass(frozen=True)
class RenderedDoc:
    """One output file. ``origin``: the spec behind the object, for located diagnostics."""

    path: str
    text: str
    kind: str
    name: str
    namespace: str | None = None
    origin: Source | None = None


def templates_root() -> Path:
    """``templates/`` of a source checkout, or the copy a wheel ships as ``compiler/_templates``."""
    here = Path(__file__).resolve().parents[1]  # compiler/, two levels above this module
    for candidate in (here / "_templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"templates folder not found next to {here}")


def tekton_ref(value: object) -> object:
    """A plan value in Tekton's syntax; literals pass through."""
    match value:
        case ParamRef(name):
            return f"$(params.{name})"
        case TriggerParamRef(name):
            return f"$(tt.params.{name})"
        case ResultPathRef(name):
            return f"$(results.{name}.path)"
        case RunUidRef():
            return "$(context.taskRun.uid)"
        case ShardedRunUidRef():
            return "$(context.pipelineRun.uid)"
        case ResultsDirRef():
            return RESULTS_DIR
        case TaskResultRef(task, result, whole):
            return f"$(tasks.{task}.results.{result}{'[*]' if whole else ''})"
        case Join(parts):
            return "".join(str(tekton_ref(p)) for p in parts)
    return value


@cache
def environment(backend: str = BACKEND) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_root() / backend)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yaml"] = scalar
    env.filters["ref"] = tekton_ref
    return env


def _template_line(exc: BaseException) -> str:
    """``templates/<backend>/<x>.j2:<line>`` of the innermost template frame, if any."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            path = Path(frame.filename)
            return f"templates/{path.parent.name}/{path.name}:{frame.lineno}"
    return "templates"


class _Renderer:
    def __init__(self, backend: str) -> None:
        self.env = environment(backend)
        self.docs: list[RenderedDoc] = []

    def add(
        self,
        template: str,
        kind: str,
        name: str,
        namespace: str | None,
        origin: Source | None,
        context: dict[str, Any],
    ) -> None:
        try:
            text = self.env.get_template(f"{template}.yaml.j2").render(**context)
        except Exception as exc:  # a template or filter bug: report where, and for which spec
            where = _template_line(exc)
            location = Location(origin.file, origin.line, origin.col) if origin else Location(where)
            raise CompileError(
                (
                    Diagnostic(
                        "E501",
                        f"cannot render {kind} {name!r}: {where}: {type(exc).__name__}: {exc}",
                        location,
                    ),
                )
            ) from exc
        path = n.document_path(kind, name, namespace)
        self.docs.append(RenderedDoc(path, text, kind, name, namespace, origin))


def _objects(plan: Plan) -> Iterator[tuple[str, str, str, str | None, Source | None, dict[str, Any]]]:
    """(template, kind, name, namespace, origin, context) of every object, in plan order."""
    for cm in plan.runtime:
        yield "configmap", "ConfigMap", cm.meta.name, cm.meta.namespace, cm.source, {"cm": cm}
    for run in plan.runs:
        yield "task", "Task", run.meta.name, run.meta.namespace, run.source, {"task": run}
    for job in plan.jobs:
        job = replace(job, meta=managed_run(job.meta))
        yield "taskrun", "TaskRun", job.meta.name, job.meta.namespace, job.source, {"job": job}
    for p in plan.sharded_runs:
        yield "pipeline", "Pipeline", p.meta.name, p.meta.namespace, p.source, {"pipeline": p}
    for sharded in plan.sharded_jobs:
        sharded = replace(sharded, meta=managed_run(sharded.meta))
        meta = sharded.meta
        yield "pipelinerun", "PipelineRun", meta.name, meta.namespace, sharded.source, {"job": sharded}
    for t in plan.triggers:
        t = replace(t, run_meta=managed_run(t.run_meta))
        context = {"t": t, "run_kind": RUN_KINDS[t.run_kind]}
        chain = {"t": t, "interceptors": interceptors(t.rules)}
        yield "trigger", "Trigger", t.trigger.name, t.trigger.namespace, t.source, chain
        yield "triggertemplate", "TriggerTemplate", t.template.name, t.template.namespace, t.source, context
    for a in plan.accounts:
        context = {"meta": a.meta, "pull_secrets": a.image_pull_secrets}
        yield "serviceaccount", "ServiceAccount", a.meta.name, a.meta.namespace, a.source, context
    for w in plan.webhooks:
        ns = w.namespace
        yield "eventlistener", "EventListener", w.listener.name, ns, w.source, {"w": w}
        yield "triggerbinding", "TriggerBinding", w.binding.name, ns, w.source, {"w": w}
        yield (
            "serviceaccount",
            "ServiceAccount",
            w.service_account.name,
            ns,
            w.source,
            {"meta": w.service_account, "pull_secrets": ()},
        )
        yield "role", "Role", w.role.name, ns, w.source, {"meta": w.role, "rules": policy_rules(w.needs)}
        yield "rolebinding", "RoleBinding", w.role_binding.meta.name, ns, w.source, {"b": w.role_binding}
        crb = w.cluster_role_binding
        yield "rolebinding", "ClusterRoleBinding", crb.meta.name, None, w.source, {"b": crb}
    for role in plan.cluster_roles:
        yield (
            "role",
            "ClusterRole",
            role.meta.name,
            None,
            role.source,
            {"meta": role.meta, "rules": policy_rules(role.needs)},
        )


def render(plan: Plan, backend: str = BACKEND) -> list[RenderedDoc]:
    """Every object of the plan as one YAML file, plus the ``kustomization.yaml`` that lists them."""
    renderer = _Renderer(backend)
    for template, kind, name, namespace, origin, context in _objects(plan):
        renderer.add(template, kind, name, namespace, origin, {"kind": kind, **context})
    docs = sorted(renderer.docs, key=lambda d: d.path)
    _check_unique(docs)
    paths = [d.path for d in docs]
    kustomization = renderer.env.get_template("kustomization.yaml.j2").render(resources=paths)
    return [RenderedDoc(n.KUSTOMIZATION, kustomization, "Kustomization", "kustomization"), *docs]


def _check_unique(docs: list[RenderedDoc]) -> None:
    seen: dict[str, RenderedDoc] = {}
    diags = []
    for doc in docs:
        other = seen.setdefault(doc.path, doc)
        if other is not doc:
            origin = doc.origin
            diags.append(
                Diagnostic(
                    "E403",
                    f"two specs generate the same {doc.kind} {doc.name!r} in "
                    f"{doc.namespace or 'the cluster'}",
                    Location(origin.file, origin.line, origin.col) if origin else Location(doc.path),
                    hint="object names derive from spec names: rename one of them",
                )
            )
    if diags:
        raise CompileError(tuple(diags))
