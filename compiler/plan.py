"""Project -> Plan: every object the backend writes, its names, values and order, decided here.

The plan is backend-neutral (see ``plan_model``): Tekton is one set of templates over it, and an
Argo Workflows backend is meant to be a second. Everything is sorted and every name comes from
``naming``, so the same project always yields the same plan.
"""

from __future__ import annotations

from dataclasses import asdict

from compiler import naming as n
from compiler.diagnostics import Diagnostic, Location, sort_diagnostics
from compiler.plan_connections import connection_paths, location
from compiler.plan_model import (
    ClusterRole,
    JobRun,
    Meta,
    Param,
    Plan,
    Result,
    RoleBinding,
    RunPlan,
    RunSpec,
    RuntimeConfigMap,
    Toleration,
    TriggerParamRef,
    Value,
    Volume,
    Webhooks,
    WebhookTrigger,
)
from compiler.plan_steps import helper_resources, model_location, service_steps, user_resources, user_step
from compiler.plan_triggers import LISTENER_CLUSTER_RULES, LISTENER_RULES, binding_params, interceptors
from compiler.project import Job, Project, Service
from compiler.runtime_bundle import RuntimeBundle
from compiler.spec import Source
from compiler.units import canonical_duration

PART_OF = (n.LABEL_PART_OF, n.PRODUCT)
WAVE_DEFINITIONS = (n.ANNOTATION_SYNC_WAVE, "0")
SKIP_DRY_RUN = "SkipDryRunOnMissingResource=true"
# Definitions are synced normally; big ones with server-side apply (no last-applied annotation).
DEFINITION = ((n.ANNOTATION_SYNC_OPTIONS, SKIP_DRY_RUN), WAVE_DEFINITIONS)
LARGE_DEFINITION = ((n.ANNOTATION_SYNC_OPTIONS, f"{SKIP_DRY_RUN},ServerSideApply=true"), WAVE_DEFINITIONS)
# A finished run is never pruned, re-created or reported as drift (gitops-gotchas 2-4).
COMMITTED_RUN = (
    (n.ANNOTATION_COMPARE_OPTIONS, "IgnoreExtraneous"),
    (n.ANNOTATION_SYNC_OPTIONS, f"Prune=false,{SKIP_DRY_RUN}"),
    (n.ANNOTATION_SYNC_WAVE, "1"),
)
# Runs a webhook creates are not in Git: should Argo CD ever see them, it leaves them alone.
CREATED_RUN = ((n.ANNOTATION_COMPARE_OPTIONS, "IgnoreExtraneous"), (n.ANNOTATION_SYNC_OPTIONS, "Prune=false"))

PARAM_DOCS = {
    n.PARAM_REQUEST_ID: "Request id: names the output folder and the feedback records; empty: the run's uid.",
    n.PARAM_DATA_CONNECTION: "Connection to read the input data from.",
    n.PARAM_DATA_PATH: "Path of the input data inside the data connection.",
    n.PARAM_OUTPUT_CONNECTION: "Connection to write the results to.",
    n.PARAM_OUTPUT_PATH: "Path inside the output connection; results land in <path>/<request id>/.",
}
RESULTS = (
    Result(n.RESULT_INPUT_SUMMARY, "Counts of accepted and rejected input files (JSON)."),
    Result(n.RESULT_OUTPUT_SUMMARY, "Counts of accepted and rejected output files (JSON)."),
)
VOLUME_ORDER = tuple(n.MOUNT_PATHS)


def _labels(*pairs: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((PART_OF, *pairs)))


def _sorted(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(pairs))


def _defaults(project: Project, service: Service) -> dict[str, tuple[str, str] | None]:
    spec = service.spec
    return {
        "dataSource": location(project, spec.dataSource) if spec.dataSource else None,
        "outputDestination": location(project, spec.outputDestination) if spec.outputDestination else None,
    }


def _task_params(project: Project, service: Service) -> tuple[Param, ...]:
    defaults = _defaults(project, service)
    data, output = defaults["dataSource"], defaults["outputDestination"]
    values = {
        n.PARAM_REQUEST_ID: "",
        n.PARAM_DATA_CONNECTION: data[0] if data else None,
        n.PARAM_DATA_PATH: data[1] if data else None,
        n.PARAM_OUTPUT_CONNECTION: output[0] if output else None,
        n.PARAM_OUTPUT_PATH: output[1] if output else None,
    }
    return tuple(Param(name, PARAM_DOCS[name], values[name]) for name in n.RUN_PARAMS)


def run_plan(project: Project, service: Service, runtime_configmap: str) -> RunPlan:
    steps = service_steps(project, service)
    used = {m.volume for step in steps for m in step.mounts}
    volumes = tuple(
        Volume(v, config_map=runtime_configmap if v == n.VOLUME_RUNTIME else None)
        for v in VOLUME_ORDER
        if v in used
    )
    return RunPlan(
        meta=Meta(
            n.task_name(service.name),
            service.namespace,
            _labels((n.LABEL_SERVICE, service.name)),
            LARGE_DEFINITION,
        ),
        service=service.name,
        description=f"Batch inference with InferenceService {service.name} ({service.spec.image}).",
        params=_task_params(project, service),
        results=RESULTS,
        volumes=volumes,
        steps=steps,
        source=service.source,
    )


def _tolerations(project: Project) -> tuple[Toleration, ...]:
    return tuple(
        Toleration(t.key, t.operator, t.value, t.effect, t.tolerationSeconds)
        for t in project.settings.tolerations
    )


def _run_fingerprint(project: Project, job: Job, run: RunSpec) -> str:
    """What a committed run does: its values, its service's model and predictor, and the settings
    that shape its steps, all in canonical form (``0.5`` and ``500m`` CPUs are the same run).

    Deliberately not the generated Task: upgrading odahu-batch (new step programs or templates)
    must not re-run every committed job, while any change to what the job does gives a new run.
    """
    service = project.service(job.service)
    model = model_location(project, service)
    local = service.spec.modelRegistry.local
    refs = [job.effective.dataSource.connection, job.effective.outputDestination.connection]
    used = sorted({*refs, *([model[0]] if model else [])})
    settings = project.settings
    return n.content_hash(
        {
            "user": asdict(user_step(project, service)),
            "model": model or (local.model_dump(mode="json") if local else None),
            "connections": {c: project.connection(c).spec.model_dump(mode="json") for c in used},
            "helpers": {
                "images": settings.images.model_dump(mode="json"),
                "resources": asdict(helper_resources(settings)),
                "feedback": settings.feedback.model_dump(mode="json"),
                "validation": settings.validation.model_dump(mode="json"),
            },
            "parallelism": job.effective.parallelism,
            "requestId": job.effective.requestId,
            "run": asdict(run),
        }
    )


def job_run(project: Project, job: Job) -> JobRun:
    service = project.service(job.service)
    effective = job.effective
    data = location(project, effective.dataSource)
    output = location(project, effective.outputDestination)
    overrides = job.spec.resources is not None
    run = RunSpec(
        definition=n.task_name(service.name),
        params=(
            (n.PARAM_DATA_CONNECTION, data[0]),
            (n.PARAM_DATA_PATH, data[1]),
            (n.PARAM_OUTPUT_CONNECTION, output[0]),
            (n.PARAM_OUTPUT_PATH, output[1]),
        ),
        service_account=project.settings.serviceAccount,
        timeout=canonical_duration(effective.timeout),
        node_selector=_sorted(tuple(effective.nodeSelector.items())),
        tolerations=_tolerations(project),
        user_resources=user_resources(effective.resources, project.settings.gpuResourceName)
        if overrides
        else None,
    )
    name = n.taskrun_name(job.name, _run_fingerprint(project, job, run))
    # An unset request id is the run's own name: deterministic, and unique per content.
    request_id = effective.requestId or name
    run = RunSpec(
        definition=run.definition,
        params=((n.PARAM_REQUEST_ID, request_id), *run.params),
        service_account=run.service_account,
        timeout=run.timeout,
        node_selector=run.node_selector,
        tolerations=run.tolerations,
        user_resources=run.user_resources,
    )
    labels = _labels(
        (n.LABEL_MANAGED_BY, n.TEKTON_MANAGED_BY), (n.LABEL_SERVICE, service.name), (n.LABEL_JOB, job.name)
    )
    return JobRun(Meta(name, job.namespace, labels, COMMITTED_RUN), job.name, service.name, run, job.source)


def webhook_trigger(project: Project, service: Service) -> WebhookTrigger:
    webhook = service.spec.triggers.webhook
    hmac = (webhook.hmac.secretName, webhook.hmac.secretKey) if webhook.hmac else None
    connections = tuple(c.name for c in project.connections)
    params = tuple(
        Param(p.name, p.description, p.default if p.name == n.PARAM_REQUEST_ID else None)
        for p in _task_params(project, service)
    )
    run_params: tuple[tuple[str, Value], ...] = tuple((p, TriggerParamRef(p)) for p in n.RUN_PARAMS)
    labels = _labels((n.LABEL_SERVICE, service.name))
    return WebhookTrigger(
        trigger=Meta(
            n.trigger_name(service.name),
            service.namespace,
            _labels((n.LABEL_SERVICE, service.name), (n.LABEL_WEBHOOK, "true")),
            DEFINITION,
        ),
        template=Meta(
            n.trigger_template_name(service.name),
            service.namespace,
            labels,
            (*LARGE_DEFINITION, (n.ANNOTATION_OLD_ESCAPE_QUOTES, "true")),
        ),
        service=service.name,
        interceptors=interceptors(
            service.name, connections, _defaults(project, service), connection_paths(project), hmac
        ),
        binding=n.TRIGGER_BINDING,
        params=params,
        run_meta=Meta(
            n.trigger_run_prefix(service.name),
            None,
            _labels((n.LABEL_MANAGED_BY, n.TEKTON_MANAGED_BY), (n.LABEL_SERVICE, service.name)),
            CREATED_RUN,
        ),
        run=RunSpec(
            definition=n.task_name(service.name),
            params=run_params,
            service_account=project.settings.serviceAccount,
            timeout=canonical_duration(service.spec.timeout or project.settings.defaultTimeout),
            node_selector=_sorted(tuple(service.spec.nodeSelector.items())),
            tolerations=_tolerations(project),
        ),
        source=service.source,
    )


def webhooks(project: Project, namespace: str, source: Source) -> Webhooks:
    sa = project.settings.triggerServiceAccount
    labels = _labels()
    return Webhooks(
        namespace=namespace,
        listener=Meta(n.EVENTLISTENER, namespace, labels, DEFINITION),
        service_account=Meta(sa, namespace, labels),
        binding=Meta(n.TRIGGER_BINDING, namespace, labels, DEFINITION),
        binding_params=binding_params(),
        label_selector=((n.LABEL_WEBHOOK, "true"),),
        role=Meta(n.TRIGGER_ROLE, namespace, labels),
        rules=LISTENER_RULES,
        role_binding=RoleBinding(
            Meta(n.TRIGGER_ROLE, namespace, labels), "Role", n.TRIGGER_ROLE, sa, namespace
        ),
        cluster_role_binding=RoleBinding(
            Meta(n.eventlistener_clusterrolebinding_name(namespace), None, labels),
            "ClusterRole",
            n.EVENTLISTENER_CLUSTERROLE,
            sa,
            namespace,
        ),
        source=source,
    )


def _first_by_namespace(services: tuple[Service, ...]) -> dict[str, Service]:
    first: dict[str, Service] = {}
    for service in services:
        first.setdefault(service.namespace, service)
    return dict(sorted(first.items()))


def plan(project: Project, bundle: RuntimeBundle) -> Plan:
    """The plan of a resolved project; its warnings travel in ``Plan.diagnostics``."""
    diags: list[Diagnostic] = []
    for program in bundle.missing():
        diags.append(
            Diagnostic(
                "W401",
                f"runtime program {program} is missing from compiler/runtime: runs will fail at that step",
                Location("compiler/runtime"),
                severity="warning",
            )
        )
    configmap = n.runtime_configmap_name(bundle.digest)
    runtime = tuple(
        RuntimeConfigMap(
            Meta(
                configmap,
                ns,
                _labels(),
                ((n.ANNOTATION_SYNC_OPTIONS, "ServerSideApply=true"), WAVE_DEFINITIONS),
            ),
            bundle.files,
            first.source,
        )
        for ns, first in _first_by_namespace(project.services).items()
    )
    with_webhook = tuple(s for s in project.services if s.spec.triggers.webhook.enabled)
    listeners = tuple(webhooks(project, ns, s.source) for ns, s in _first_by_namespace(with_webhook).items())
    cluster_roles = (
        (
            ClusterRole(
                Meta(n.EVENTLISTENER_CLUSTERROLE, None, _labels()),
                LISTENER_CLUSTER_RULES,
                with_webhook[0].source,
            ),
        )
        if with_webhook
        else ()
    )
    return Plan(
        runtime=runtime,
        runs=tuple(run_plan(project, s, configmap) for s in project.services),
        jobs=tuple(job_run(project, j) for j in project.jobs),
        triggers=tuple(webhook_trigger(project, s) for s in with_webhook),
        webhooks=listeners,
        cluster_roles=cluster_roles,
        diagnostics=tuple(sort_diagnostics(diags)),
    )
