"""Project -> Plan: every object the backend writes, its names, values and order, decided here.

The plan is backend-neutral (see ``plan/model.py``): each backend is one set of templates over it.
Which services run sharded, and whose webhook creates sharded runs, is decided once here. Everything
is sorted and every name comes from ``naming``, so the same project always yields the same plan.
"""

from __future__ import annotations

from dataclasses import asdict, replace

from compiler import naming as n
from compiler.diagnostics import CompileError, Diagnostic, Location, sort_diagnostics
from compiler.front.project import Job, Project, Service
from compiler.front.spec import Source
from compiler.plan import sharded as sharding
from compiler.plan.checks import namespace_errors, resource_errors
from compiler.plan.connections import Connections
from compiler.plan.model import (
    ClusterRole,
    JobRun,
    Meta,
    Param,
    Plan,
    Result,
    RoleBinding,
    RunnerAccount,
    RunPlan,
    RunSpec,
    RuntimeConfigMap,
    ShardedJobRun,
    ShardedRunPlan,
    ShardRule,
    Toleration,
    TriggerParamRef,
    Value,
    Volume,
    Webhooks,
    WebhookTrigger,
)
from compiler.plan.steps import helper_resources, model_location, service_steps, user_resources
from compiler.plan.triggers import LISTENER_CLUSTER_NEEDS, binding_params, listener_needs, webhook_rules
from compiler.runtime_bundle import RuntimeBundle
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
# Runs a webhook creates are not in Git: should the GitOps controller ever see them, it leaves them alone.
CREATED_RUN = ((n.ANNOTATION_COMPARE_OPTIONS, "IgnoreExtraneous"), (n.ANNOTATION_SYNC_OPTIONS, "Prune=false"))

# The runtime ConfigMap of a previous release is never pruned: running runs and their retries still
# mount it by name, as the engine resolves a run's definition again on every reconcile (the
# backend cites where). It is immutable and content-hashed, so keeping it is safe;
# IgnoreExtraneous keeps the app in sync.
RUNTIME_CONFIGMAP = (
    (n.ANNOTATION_COMPARE_OPTIONS, "IgnoreExtraneous"),
    (n.ANNOTATION_SYNC_OPTIONS, "Prune=false,ServerSideApply=true"),
    WAVE_DEFINITIONS,
)

PARAM_DOCS = {
    n.PARAM_REQUEST_ID: "Request id: names the output folder and the feedback records; empty: the run's uid.",
    n.PARAM_DATA_CONNECTION: "Connection to read the input data from.",
    n.PARAM_DATA_PATH: "Path of the input data inside the data connection.",
    n.PARAM_OUTPUT_CONNECTION: "Connection to write the results to.",
    n.PARAM_OUTPUT_PATH: "Path inside the output connection; results land in <path>/<request id>/.",
}
RESULTS = (
    Result(n.RESULT_INPUT_SUMMARY, "Counts of accepted and rejected input files (JSON), from sync-output."),
    Result(n.RESULT_OUTPUT_SUMMARY, "Counts of accepted and rejected output files (JSON), from sync-output."),
)
VOLUME_ORDER = tuple(n.MOUNT_PATHS)
REPLACE_OUTPUT_DOC = (
    "true: the run may replace another job's work in its output folder (InferenceJob replaceOutput)."
)
SHARD_INDEX_DOC = "The shard this run processes (set by the sharded run's matrix); empty: the whole input."


def _labels(*pairs: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((PART_OF, *pairs)))


def _sorted(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(pairs))


def _first_by_namespace(services: tuple[Service, ...]) -> dict[str, Service]:
    first: dict[str, Service] = {}
    for service in services:
        first.setdefault(service.namespace, service)
    return dict(sorted(first.items()))


class _Planner:
    """One project's plan; indexes the project once, so planning stays linear in its size."""

    def __init__(self, project: Project, runtime_configmap: str) -> None:
        self.project = project
        self.settings = project.settings
        self.connections = Connections(project)
        self.services = {s.name: s for s in project.services}
        self.runtime_configmap = runtime_configmap
        self.tolerations = tuple(
            Toleration(t.key, t.operator, t.value, t.effect, t.tolerationSeconds)
            for t in self.settings.tolerations
        )
        self.sharded = sharding.sharded_services(project)
        # A webhook may only ask for shards of a service sharded by its own parallelism.
        self.sharded_webhooks = frozenset(s.name for s in project.services if s.spec.parallelism > 1)
        self.runs = {s.name: self.run_plan(s) for s in project.services}

    def defaults(self, service: Service) -> dict[str, tuple[str, str] | None]:
        spec, where = service.spec, self.connections.location
        return {
            "dataSource": where(spec.dataSource) if spec.dataSource else None,
            "outputDestination": where(spec.outputDestination) if spec.outputDestination else None,
        }

    def task_params(self, service: Service) -> tuple[Param, ...]:
        defaults = self.defaults(service)
        data, output = defaults["dataSource"], defaults["outputDestination"]
        values = {
            n.PARAM_REQUEST_ID: "",
            n.PARAM_DATA_CONNECTION: data[0] if data else None,
            n.PARAM_DATA_PATH: data[1] if data else None,
            n.PARAM_OUTPUT_CONNECTION: output[0] if output else None,
            n.PARAM_OUTPUT_PATH: output[1] if output else None,
        }
        return tuple(Param(name, PARAM_DOCS[name], values[name]) for name in n.RUN_PARAMS)

    def run_plan(self, service: Service) -> RunPlan:
        sharded = service.name in self.sharded
        steps = service_steps(self.settings, self.connections, service, sharded)
        # Not a run param: a webhook call never sets it, so only a committed job can replace other work.
        params = (*self.task_params(service), Param(n.PARAM_REPLACE_OUTPUT, REPLACE_OUTPUT_DOC, "false"))
        if sharded:
            params += (Param(n.PARAM_SHARD_INDEX, SHARD_INDEX_DOC, ""),)
        used = {m.volume for step in steps for m in step.mounts}
        volumes = tuple(
            Volume(v, config_map=self.runtime_configmap if v == n.VOLUME_RUNTIME else None)
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
            params=params,
            results=RESULTS,
            volumes=volumes,
            steps=steps,
            source=service.source,
        )

    def fingerprint(self, job: Job, run: RunSpec) -> str:
        """What a committed run does: its values, its service's model and predictor, and the
        settings that shape its steps, all in canonical form (``0.5`` and ``500m`` CPUs are the
        same run).

        Deliberately not the generated Task: upgrading odahu-batch (new step programs or
        templates) must not re-run every committed job, while any change to what the job does
        gives a new run.
        """
        service = self.services[job.service]
        model = model_location(self.connections, service)
        local = service.spec.modelRegistry.local
        refs = [job.effective.dataSource.connection, job.effective.outputDestination.connection]
        used = sorted({*refs, *([model[0]] if model else [])})
        user = next(s for s in self.runs[service.name].steps if s.role == "user")
        settings = self.settings
        return n.content_hash(
            {
                "user": asdict(user),
                "model": model or (local.model_dump(mode="json") if local else None),
                # readOnly only guards what a run may name: it changes nothing a run does.
                "connections": {
                    c: self.connections.by_name[c].spec.model_dump(mode="json", exclude={"readOnly"})
                    for c in used
                },
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

    def job_run(self, job: Job) -> JobRun:
        service = self.services[job.service]
        effective = job.effective
        data = self.connections.location(effective.dataSource)
        output = self.connections.location(effective.outputDestination)
        gpu = self.settings.gpuResourceName
        run = RunSpec(
            definition=n.task_name(service.name),
            params=(
                (n.PARAM_DATA_CONNECTION, data[0]),
                (n.PARAM_DATA_PATH, data[1]),
                (n.PARAM_OUTPUT_CONNECTION, output[0]),
                (n.PARAM_OUTPUT_PATH, output[1]),
            ),
            service_account=self.settings.serviceAccount,
            timeout=canonical_duration(effective.timeout),
            node_selector=_sorted(tuple(effective.nodeSelector.items())),
            tolerations=self.tolerations,
            user_resources=user_resources(effective.resources, gpu)
            if job.spec.resources is not None
            else None,
        )
        name = n.job_run_name(job.name, self.fingerprint(job, run))
        # An unset request id is the run's own name: deterministic, and unique per content.
        replacing = ((n.PARAM_REPLACE_OUTPUT, "true"),) if job.spec.replaceOutput else ()
        run = replace(
            run, params=((n.PARAM_REQUEST_ID, effective.requestId or name), *run.params, *replacing)
        )
        labels = _labels((n.LABEL_SERVICE, service.name), (n.LABEL_JOB, job.name))
        return JobRun(
            Meta(name, job.namespace, labels, COMMITTED_RUN), job.name, service.name, run, job.source
        )

    def sharded_run(self, service: Service) -> ShardedRunPlan:
        meta = Meta(
            n.pipeline_name(service.name),
            service.namespace,
            _labels((n.LABEL_SERVICE, service.name)),
            LARGE_DEFINITION,
        )
        return sharding.sharded_run(
            self.settings, self.connections, service, self.task_params(service), meta, self.runtime_configmap
        )

    def sharded_job_run(self, job: Job) -> ShardedJobRun:
        """A job of N > 1 shards: a run of its service's sharded run, named as its single run would be."""
        single = self.job_run(job)
        effective = job.effective
        run = replace(
            single.run,
            definition=n.pipeline_name(job.service),
            params=(*single.run.params, (n.PARAM_SHARD_COUNT, str(effective.parallelism))),
        )
        return ShardedJobRun(single.meta, job.name, job.service, run, n.PIPELINE_TASK_SHARD, job.source)

    def webhook_trigger(self, service: Service, shards: ShardRule) -> WebhookTrigger:
        access = self.connections.access(service)
        params = tuple(
            Param(p.name, p.description, p.default if p.name == n.PARAM_REQUEST_ID else None)
            for p in self.task_params(service)
        )
        run_params: tuple[tuple[str, Value], ...] = tuple((p, TriggerParamRef(p)) for p in n.RUN_PARAMS)
        paths = self.connections.paths((*access.data, *access.output))
        rules = webhook_rules(service, access, self.defaults(service), paths, shards)
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
                _labels((n.LABEL_SERVICE, service.name)),
                LARGE_DEFINITION,
            ),
            service=service.name,
            rules=rules,
            binding=n.TRIGGER_BINDING,
            params=params,
            run_meta=Meta(
                n.trigger_run_prefix(service.name),
                None,
                _labels((n.LABEL_SERVICE, service.name)),
                CREATED_RUN,
            ),
            run=RunSpec(
                definition=n.task_name(service.name),
                params=run_params,
                service_account=self.settings.serviceAccount,
                timeout=canonical_duration(service.spec.timeout or self.settings.defaultTimeout),
                node_selector=_sorted(tuple(service.spec.nodeSelector.items())),
                tolerations=self.tolerations,
            ),
            source=service.source,
        )

    def single_webhook_trigger(self, service: Service) -> WebhookTrigger:
        """A service of parallelism 1: its webhook creates a single run, refusing a body asking for shards
        (rather than ignoring them)."""
        return self.webhook_trigger(service, ShardRule())

    def sharded_webhook_trigger(self, service: Service) -> WebhookTrigger:
        """A service of parallelism > 1: its webhook creates a sharded run; ``spec.parallelism`` may
        override the shard count."""
        parallelism = service.spec.parallelism
        trigger = self.webhook_trigger(service, ShardRule(sharding.MAX_SHARDS, parallelism))
        return replace(
            trigger,
            params=(*trigger.params, Param(n.PARAM_SHARD_COUNT, sharding.SHARD_COUNT_DOC, str(parallelism))),
            run=replace(
                trigger.run,
                definition=n.pipeline_name(service.name),
                params=(*trigger.run.params, (n.PARAM_SHARD_COUNT, TriggerParamRef(n.PARAM_SHARD_COUNT))),
            ),
            run_kind="sharded",
            extra_bindings=((n.PARAM_SHARD_COUNT, n.shard_count_overlay_key()),),
        )

    def webhooks(self, namespace: str, source: Source) -> Webhooks:
        ns = namespace
        sa = self.settings.triggerServiceAccount
        labels = _labels()
        return Webhooks(
            namespace=namespace,
            listener=Meta(n.EVENTLISTENER, namespace, labels, DEFINITION),
            service_account=Meta(sa, namespace, labels),
            binding=Meta(n.TRIGGER_BINDING, namespace, labels, DEFINITION),
            binding_params=binding_params(),
            label_selector=((n.LABEL_WEBHOOK, "true"),),
            role=Meta(n.TRIGGER_ROLE, namespace, labels),
            needs=listener_needs(
                any(s.name in self.sharded_webhooks for s in self.project.services if s.namespace == ns)
            ),
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


def plan(project: Project, bundle: RuntimeBundle) -> Plan:
    """The plan of a resolved project; its warnings travel in ``Plan.diagnostics``.

    Raises CompileError for what the plan cannot express (a job outside its service's namespace).
    """
    errors = namespace_errors(project) + resource_errors(project)
    if errors:
        raise CompileError(tuple(sort_diagnostics(errors)))
    diags = [
        Diagnostic(
            "W401",
            f"runtime program {program} is missing from compiler/runtime: runs will fail at that step",
            Location("compiler/runtime"),
            severity="warning",
        )
        for program in bundle.missing()
    ]
    configmap = n.runtime_configmap_name(bundle.digest)
    planner = _Planner(project, configmap)
    runtime_meta = RUNTIME_CONFIGMAP
    runtime = tuple(
        RuntimeConfigMap(Meta(configmap, ns, _labels(), runtime_meta), bundle.files, first.source)
        for ns, first in _first_by_namespace(project.services).items()
    )
    settings = project.settings
    # Every run names this account; without it the engine fails the run at pod creation, for good
    # (the backend cites where).
    accounts = tuple(
        RunnerAccount(
            Meta(
                settings.serviceAccount,
                ns,
                _labels(),
                _sorted(tuple((settings.serviceAccountAnnotations | dict(DEFINITION)).items())),
            ),
            tuple(settings.imagePullSecrets),
            first.source,
        )
        for ns, first in _first_by_namespace(project.services).items()
    )
    with_webhook = tuple(s for s in project.services if s.spec.triggers.webhook.enabled)
    cluster_roles = tuple(
        ClusterRole(Meta(n.EVENTLISTENER_CLUSTERROLE, None, _labels()), LISTENER_CLUSTER_NEEDS, s.source)
        for s in with_webhook[:1]
    )
    return Plan(
        runtime=runtime,
        runs=tuple(planner.runs.values()),
        jobs=tuple(planner.job_run(j) for j in project.jobs if j.effective.parallelism == 1),
        triggers=tuple(
            planner.sharded_webhook_trigger(s)
            if s.name in planner.sharded_webhooks
            else planner.single_webhook_trigger(s)
            for s in with_webhook
        ),
        webhooks=tuple(planner.webhooks(ns, s.source) for ns, s in _first_by_namespace(with_webhook).items()),
        cluster_roles=cluster_roles,
        sharded_runs=tuple(planner.sharded_run(s) for s in project.services if s.name in planner.sharded),
        sharded_jobs=tuple(planner.sharded_job_run(j) for j in project.jobs if j.effective.parallelism > 1),
        accounts=accounts,
        diagnostics=tuple(sort_diagnostics(diags)),
    )
