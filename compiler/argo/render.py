"""Plan -> Argo Workflows documents, through ``templates/argo/*.j2`` (and ``templates/kubernetes/``).

Per service a WorkflowTemplate (its single run, and for a sharded service the shard template and the
plan -> shards -> merge dag), per committed job a Workflow with the run's content-hashed name, per
namespace the runner's ServiceAccount and the executor's Role and RoleBinding, per service with a webhook
its WorkflowEventBinding and the account its calls act as (``webhook.py``), and the runtime ConfigMaps
the Tekton backend ships, byte for byte. ``compiler/argo/DESIGN.md`` maps each object.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from compiler import naming as n
from compiler.argo.accounts import grant, token_secret
from compiler.argo.mapping import (
    EXECUTOR_RULES,
    NO_PATCH,
    POD_SPEC_PATCH_DOC,
    TEMPLATE_GLOBALS,
    argo_ref,
    deadline_seconds,
    pod_spec_patch,
)
from compiler.argo.webhook import webhook_documents
from compiler.front.spec import Source
from compiler.manifests.render import Item, RenderedDoc, render_items
from compiler.plan.model import (
    JobRun,
    Meta,
    Param,
    Plan,
    RunPlan,
    RunSpec,
    ShardedJobRun,
    ShardedRunPlan,
    Step,
)

BACKEND = "argo"


@dataclass(frozen=True)
class Service:
    """What one WorkflowTemplate holds: the service's run, its sharded run if any, the pod's account."""

    run: RunPlan
    sharded: ShardedRunPlan | None
    arguments: tuple[Param, ...]
    service_account: str
    pod_restricted: bool
    # What a run created by the webhook gets: a WorkflowEventBinding names only the template, metadata and
    # parameters (argo-workflows pkg/apis/workflow/v1alpha1/workflow_event_binding_types.go Submit), so
    # the entrypoint, deadline and scheduling of a webhook run are the WorkflowTemplate's own. A committed
    # Workflow sets its own, which win (workflow/util/merge.go JoinWorkflowSpec).
    entrypoint: str = n.ARGO_TEMPLATE_RUN
    defaults: RunSpec | None = None
    deadline: int = 0


@dataclass(frozen=True)
class Run:
    """One committed job as a Workflow."""

    meta: Meta
    template: str
    entrypoint: str
    params: tuple[tuple[str, object], ...]
    spec: RunSpec
    deadline: int
    source: Source


def _arguments(run: RunPlan, sharded: ShardedRunPlan | None) -> tuple[Param, ...]:
    """The WorkflowTemplate's parameters: the run's, the sharded run's, then the pod spec patch."""
    names = {p.name for p in run.params}
    extra = tuple(p for p in (sharded.params if sharded else ()) if p.name not in names)
    return (*run.params, *extra, Param(n.PARAM_POD_SPEC_PATCH, POD_SPEC_PATCH_DOC, NO_PATCH))


def _accounts(plan: Plan) -> dict[str | None, str]:
    accounts: dict[str | None, str] = {a.meta.namespace: a.meta.name for a in plan.accounts}
    jobs: tuple[JobRun | ShardedJobRun, ...] = (*plan.jobs, *plan.sharded_jobs)
    for job in jobs:
        accounts.setdefault(job.meta.namespace, job.run.service_account)
    return accounts


def _restricted(steps: tuple[Step, ...]) -> bool:
    return all(s.restricted for s in steps)


def services(plan: Plan) -> tuple[Service, ...]:
    sharded = {p.service: p for p in plan.sharded_runs}
    accounts = _accounts(plan)
    webhooks = {t.service: t for t in plan.triggers}
    out = []
    for run in plan.runs:
        service = Service(
            run=run,
            sharded=sharded.get(run.service),
            arguments=_arguments(run, sharded.get(run.service)),
            service_account=accounts.get(run.meta.namespace, n.PRODUCT + "-runner"),
            pod_restricted=_restricted(run.steps),
        )
        hook = webhooks.get(run.service)
        if hook is not None:
            entrypoint = n.ARGO_TEMPLATE_SHARDED if hook.run_kind == "sharded" else n.ARGO_TEMPLATE_RUN
            service = replace(
                service, entrypoint=entrypoint, defaults=hook.run, deadline=deadline_seconds(hook.run.timeout)
            )
        out.append(service)
    return tuple(out)


def _run(job: JobRun | ShardedJobRun, entrypoint: str) -> Run:
    params: tuple[tuple[str, object], ...] = job.run.params
    patch = pod_spec_patch(job.run.user_resources)
    if patch != NO_PATCH:
        params = (*params, (n.PARAM_POD_SPEC_PATCH, patch))
    return Run(
        meta=job.meta,
        template=n.task_name(job.service),
        entrypoint=entrypoint,
        params=params,
        spec=job.run,
        deadline=deadline_seconds(job.run.timeout),
        source=job.source,
    )


def runs(plan: Plan) -> tuple[Run, ...]:
    single = (_run(job, n.ARGO_TEMPLATE_RUN) for job in plan.jobs)
    sharded = (_run(job, n.ARGO_TEMPLATE_SHARDED) for job in plan.sharded_jobs)
    return (*single, *sharded)


def _objects(plan: Plan) -> Iterator[Item]:
    """(template, kind, name, namespace, origin, context) of every object, in plan order."""
    for cm in plan.runtime:
        yield "configmap", "ConfigMap", cm.meta.name, cm.meta.namespace, cm.source, {"cm": cm}
    for s in services(plan):
        meta = s.run.meta
        yield "workflowtemplate", "WorkflowTemplate", meta.name, meta.namespace, s.run.source, {"s": s}
    for r in runs(plan):
        yield "workflow", "Workflow", r.meta.name, r.meta.namespace, r.source, {"r": r}
    for a in plan.accounts:
        ns, source = a.meta.namespace, a.source
        context = {"meta": a.meta, "pull_secrets": a.image_pull_secrets}
        yield "serviceaccount", "ServiceAccount", a.meta.name, ns, source, context
        labels = ((n.LABEL_PART_OF, n.PRODUCT),)
        yield token_secret(a.meta.name, ns, labels, source)
        yield from grant(n.ARGO_EXECUTOR_ROLE, a.meta.name, ns, labels, EXECUTOR_RULES, source)
    yield from webhook_documents(plan)


def render(plan: Plan) -> list[RenderedDoc]:
    """Every object of the plan as one YAML file, plus the ``kustomization.yaml`` that lists them."""
    items = (
        (t, kind, name, ns, origin, {**TEMPLATE_GLOBALS, **context})
        for t, kind, name, ns, origin, context in _objects(plan)
    )
    return render_items(BACKEND, argo_ref, items)
