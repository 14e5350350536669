"""Sharded runs: a service's ShardedRunPlan (plan -> N shards of its RunPlan -> merge) and its runs.

A service gets a sharded run when its own ``parallelism`` is above 1 or a committed job asks for more
than one shard. The shard count reaches the run as a param (``shard-count``), never as structure:
``shard.py plan`` lists the input once, writes each shard's file list and returns the shard ids as an
array result, and the shard task fans the service's RunPlan out over that result. So the compiled
sharded run and its runs are the same size whatever N is. ``BatchSettings.maxParallelShards`` caps N in
the plan task, so at most that many shard pods run at once. Every task uses the request id the plan task
resolved (the given one, else the sharded run's uid).
"""

from __future__ import annotations

from dataclasses import replace

from compiler import naming as n
from compiler.front.project import Project, Service
from compiler.front.spec import BatchSettingsSpec
from compiler.plan.connections import Connections
from compiler.plan.model import (
    EnvVar,
    Join,
    Meta,
    Mount,
    Param,
    ParamRef,
    ResultsDirRef,
    ShardCapRef,
    ShardedRunPlan,
    ShardedRunTask,
    ShardedRunUidRef,
    Step,
    TaskResultRef,
    Value,
    Volume,
)
from compiler.plan.steps import CONFIG, RCLONE_BIN, RCLONE_BIN_DIR, RCLONE_CONF, _Steps, helper_uid, sized

SHARD_RETRIES = 2  # each shard is retried on its own, not the whole sharded run
# The product's cap on shards, the same as the runtime's (compiler/runtime/_partition.py); a backend
# checks that it can fan a run out that wide (tests/unit/test_plan_sharded.py).
MAX_SHARDS = 256

FETCH_RCLONE_SCRIPT = """\
set -eu
mkdir -p "$ODAHU_BIN_DIR"
cp "$(command -v rclone)" "$ODAHU_BIN_DIR/rclone"
"""

SHARD_COUNT_DOC = "How many shards the input is split into (at most BatchSettings.maxParallelShards run)."
RUN_UID_DOC = "The sharded run's uid: the request id when none is given, and the name of its claim."
REPLACE_OUTPUT_DOC = (
    "true: the run may replace another job's work in its output folder (InferenceJob replaceOutput)."
)
RESULTS = (
    (n.RESULT_SHARD_IDS, "array", "The shard indexes, for the matrix (JSON array of strings)."),
    (n.RESULT_SHARD_COUNT, "string", "How many shards the input was split into."),
    (n.RESULT_REQUEST_ID, "string", "The run's request id: the given one, else the run's uid."),
)


def sharded_services(project: Project) -> frozenset[str]:
    """Services that get a sharded run: their own parallelism, or one of their jobs', is above 1."""
    names = {s.name for s in project.services if s.spec.parallelism > 1}
    names.update(j.service for j in project.jobs if j.effective.parallelism > 1)
    return frozenset(names)


def _location(connection: str, path: str) -> Join:
    return Join((ParamRef(connection), ":", ParamRef(path)))


def _declare(*names: str) -> tuple[Param, ...]:
    docs = {
        n.PARAM_REQUEST_ID: "The request id (empty: the run's uid, given as run-uid).",
        n.PARAM_RUN_UID: RUN_UID_DOC,
        n.PARAM_DATA_CONNECTION: "Connection to read the input data from.",
        n.PARAM_DATA_PATH: "Path of the input data inside the data connection.",
        n.PARAM_OUTPUT_CONNECTION: "Connection to write the results to.",
        n.PARAM_OUTPUT_PATH: "Path inside the output connection; results land in <path>/<request id>/.",
        n.PARAM_SHARD_COUNT: SHARD_COUNT_DOC,
        n.PARAM_REPLACE_OUTPUT: REPLACE_OUTPUT_DOC,
    }
    return tuple(Param(name, docs[name]) for name in names)


class _InlineSteps:
    """The steps of the plan and merge tasks: rclone configured as in the service's RunPlan."""

    def __init__(self, settings: BatchSettingsSpec, connections: Connections, service: Service) -> None:
        self.settings = settings
        self.steps = _Steps(settings, connections, service)
        self.config = Mount(n.VOLUME_CONFIG, CONFIG, False)

    def volumes(self, runtime_configmap: str) -> tuple[Volume, ...]:
        return (Volume(n.VOLUME_RUNTIME, config_map=runtime_configmap), Volume(n.VOLUME_CONFIG))

    def fetch_rclone(self) -> Step:
        base = self.steps.base_env
        return Step(
            name=n.STEP_FETCH_RCLONE,
            role="helper",
            image=self.settings.images.rclone,
            command=("sh", "-c"),
            args=(FETCH_RCLONE_SCRIPT, n.STEP_FETCH_RCLONE),
            env=(*base, EnvVar("ODAHU_BIN_DIR", RCLONE_BIN_DIR)),
            mounts=(self.config,),
            resources=self.steps.resources,
            restricted=True,
            run_as_user=helper_uid(self.settings),
        )

    def program(self, name: str, args: tuple[Value, ...]) -> Step:
        rclone = ("--rclone", RCLONE_BIN, "--config", RCLONE_CONF)
        return self.steps.helper(
            name, "shard.py", (name, *args, *rclone), (replace(self.config, read_only=True),)
        )

    def all(self, last: Step, data: bool = True) -> tuple[Step, ...]:
        return sized((self.steps.configure_rclone(data), self.fetch_rclone(), last), self.settings)


def sharded_run(
    settings: BatchSettingsSpec,
    connections: Connections,
    service: Service,
    task_params: tuple[Param, ...],
    meta: Meta,
    runtime_configmap: str,
) -> ShardedRunPlan:
    """The sharded run of ``service``: ``task_params`` are its RunPlan's params (with their defaults)."""
    inline = _InlineSteps(settings, connections, service)
    volumes = inline.volumes(runtime_configmap)
    data = _location(n.PARAM_DATA_CONNECTION, n.PARAM_DATA_PATH)
    output = _location(n.PARAM_OUTPUT_CONNECTION, n.PARAM_OUTPUT_PATH)
    plan_step = inline.program(
        n.STEP_PLAN,
        (
            "--source", data,
            "--dest", output,
            "--request-id", ParamRef(n.PARAM_REQUEST_ID),
            "--service", service.name,
            "--replace-output", ParamRef(n.PARAM_REPLACE_OUTPUT),
            "--shards", ParamRef(n.PARAM_SHARD_COUNT),
            "--cap", ShardCapRef(settings.maxParallelShards, MAX_SHARDS),
            "--results-dir", ResultsDirRef(),
        ),
    )  # fmt: skip
    plan_step = replace(plan_step, env=(*plan_step.env, EnvVar("ODAHU_RUN_UID", ParamRef(n.PARAM_RUN_UID))))
    policy = settings.validation
    merge_policy: tuple[str, ...] = ("--max-rejected", str(policy.maxRejected))
    if policy.maxRejectedFraction is not None:
        merge_policy += ("--max-rejected-fraction", repr(float(policy.maxRejectedFraction)))
    merge_step = inline.program(
        n.STEP_MERGE,
        (
            "--dest", output,
            "--source", data,
            "--request-id", ParamRef(n.PARAM_REQUEST_ID),
            "--service", service.name,
            "--shards", ParamRef(n.PARAM_SHARD_COUNT),
            *merge_policy,
        ),
    )  # fmt: skip
    # plan and merge name the same claim on the run's folder: the sharded run's uid.
    merge_step = replace(
        merge_step, env=(*merge_step.env, EnvVar("ODAHU_RUN_UID", ParamRef(n.PARAM_RUN_UID)))
    )
    request_id = TaskResultRef(n.PIPELINE_TASK_PLAN, n.RESULT_REQUEST_ID)
    passed = {p: ParamRef(p) for p in n.RUN_PARAMS}
    plan_task = ShardedRunTask(
        name=n.PIPELINE_TASK_PLAN,
        params=(
            *((p, passed[p]) for p in n.RUN_PARAMS),
            (n.PARAM_RUN_UID, ShardedRunUidRef()),
            (n.PARAM_SHARD_COUNT, ParamRef(n.PARAM_SHARD_COUNT)),
            (n.PARAM_REPLACE_OUTPUT, ParamRef(n.PARAM_REPLACE_OUTPUT)),
        ),
        declared=_declare(*n.RUN_PARAMS, n.PARAM_RUN_UID, n.PARAM_SHARD_COUNT, n.PARAM_REPLACE_OUTPUT),
        results=RESULTS,
        volumes=volumes,
        steps=inline.all(plan_step),
    )
    shard_task = ShardedRunTask(
        name=n.PIPELINE_TASK_SHARD,
        params=((n.PARAM_REQUEST_ID, request_id), *((p, passed[p]) for p in n.RUN_PARAMS[1:])),
        run_after=(n.PIPELINE_TASK_PLAN,),
        definition=n.task_name(service.name),
        fan_out=(n.PARAM_SHARD_INDEX, TaskResultRef(n.PIPELINE_TASK_PLAN, n.RESULT_SHARD_IDS, whole=True)),
        retries=SHARD_RETRIES,
    )
    merge_params = (*n.RUN_PARAMS, n.PARAM_SHARD_COUNT, n.PARAM_RUN_UID)
    merge_task = ShardedRunTask(
        name=n.PIPELINE_TASK_MERGE,
        params=(
            (n.PARAM_REQUEST_ID, request_id),
            (n.PARAM_DATA_CONNECTION, passed[n.PARAM_DATA_CONNECTION]),
            (n.PARAM_DATA_PATH, passed[n.PARAM_DATA_PATH]),
            (n.PARAM_OUTPUT_CONNECTION, passed[n.PARAM_OUTPUT_CONNECTION]),
            (n.PARAM_OUTPUT_PATH, passed[n.PARAM_OUTPUT_PATH]),
            (n.PARAM_SHARD_COUNT, TaskResultRef(n.PIPELINE_TASK_PLAN, n.RESULT_SHARD_COUNT)),
            (n.PARAM_RUN_UID, ShardedRunUidRef()),
        ),
        run_after=(n.PIPELINE_TASK_SHARD,),
        declared=_declare(*merge_params),
        volumes=volumes,
        steps=inline.all(merge_step, data=False),  # the merge task is given no data connection
    )
    params = (
        *task_params,
        Param(n.PARAM_REPLACE_OUTPUT, REPLACE_OUTPUT_DOC, "false"),
        Param(n.PARAM_SHARD_COUNT, SHARD_COUNT_DOC, str(service.spec.parallelism)),
    )
    return ShardedRunPlan(
        meta=meta,
        service=service.name,
        description=(
            f"Sharded batch inference with InferenceService {service.name}: list and partition the "
            "input once, run the service's Task on each shard (matrix), merge the shards' manifests."
        ),
        params=params,
        tasks=(plan_task, shard_task, merge_task),
        source=service.source,
        max_parallel=settings.maxParallelShards,
    )
