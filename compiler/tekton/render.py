"""Plan -> Tekton documents, through ``templates/tekton/*.j2`` (and ``templates/kubernetes/``).

Templates are small and logic-light, one per resource kind. Two filters carry all formatting
decisions: ``ref`` (``tekton_ref``) writes the plan's typed run-time references in Tekton's syntax and
``yaml`` writes a scalar as canonical YAML (``compiler.manifests.scalar``). A failure names the
template line and the spec that produced the object (``compiler.manifests.render``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from compiler.manifests.render import Item, RenderedDoc, render_items
from compiler.plan.model import (
    Join,
    ParamRef,
    Plan,
    ResultPathRef,
    ResultsDirRef,
    RunUidRef,
    ShardCapRef,
    ShardedRunUidRef,
    TaskResultRef,
    TriggerParamRef,
)
from compiler.tekton.cel import interceptors
from compiler.tekton.mapping import RESULTS_DIR, RUN_KINDS, managed_run, policy_rules

BACKEND = "tekton"


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
        case ShardCapRef(max_parallel, _):
            return str(max_parallel)  # a matrix cannot queue its runs (compiler/tekton/mapping.py)
        case TaskResultRef(task, result, whole):
            return f"$(tasks.{task}.results.{result}{'[*]' if whole else ''})"
        case Join(parts):
            return "".join(str(tekton_ref(p)) for p in parts)
    return value


def _objects(plan: Plan) -> Iterator[Item]:
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


def render(plan: Plan) -> list[RenderedDoc]:
    """Every object of the plan as one YAML file, plus the ``kustomization.yaml`` that lists them."""
    return render_items(BACKEND, tekton_ref, _objects(plan))
