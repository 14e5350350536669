"""The backend-neutral plan: what every generated object contains, before any YAML exists.

Frozen dataclasses only. References to run-time values (a run's params, its uid, a result file,
a trigger's params) are typed objects; a backend's templates turn them into its own syntax, so the
plan never holds a backend's interpolation strings. Each variant (a single or a sharded run, what the
webhook's receiver may do) is decided once by the planner and carried here as data; the backend maps
it to its own kinds, API groups and folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from compiler.diagnostics import Diagnostic
from compiler.front.spec import Source

# --- values -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamRef:
    """The value of one of the run's params."""

    name: str


@dataclass(frozen=True)
class RunUidRef:
    """The unique id the engine gives each run."""


@dataclass(frozen=True)
class ResultPathRef:
    """The file a step writes a run result to."""

    name: str


@dataclass(frozen=True)
class TriggerParamRef:
    """A value the webhook trigger supplies when it creates a run."""

    name: str


@dataclass(frozen=True)
class ShardedRunUidRef:
    """The unique id the engine gives a whole sharded run (plan, shards and merge together)."""


@dataclass(frozen=True)
class ResultsDirRef:
    """The folder where the engine collects the results a step writes, one file per result."""


@dataclass(frozen=True)
class TaskResultRef:
    """A result of an earlier task of a sharded run; ``whole``: every item of an array result."""

    task: str
    result: str
    whole: bool = False


@dataclass(frozen=True)
class ShardCapRef:
    """The most shards one sharded run is split into. A backend that can queue shard runs lets a run
    have up to ``max_shards`` and runs ``max_parallel`` at once; one that cannot caps the count itself
    at ``max_parallel``."""

    max_parallel: int
    max_shards: int


@dataclass(frozen=True)
class Join:
    """Literal text and references written one after another, e.g. ``<connection>:<path>``."""

    parts: tuple[str | ParamRef | TriggerParamRef, ...]


Value = (
    str
    | ParamRef
    | RunUidRef
    | ResultPathRef
    | ResultsDirRef
    | TriggerParamRef
    | Join
    | ShardedRunUidRef
    | TaskResultRef
    | ShardCapRef
)


@dataclass(frozen=True)
class SecretKeyRef:
    name: str
    key: str
    optional: bool = True


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: Value | None = None
    secret: SecretKeyRef | None = None


@dataclass(frozen=True)
class Mount:
    volume: str
    path: str
    read_only: bool


@dataclass(frozen=True)
class Volume:
    name: str
    config_map: str | None = None  # None: an empty scratch folder


@dataclass(frozen=True)
class Resources:
    """Canonical Kubernetes quantities, keys sorted as the API server writes them."""

    requests: tuple[tuple[str, str], ...] = ()
    limits: tuple[tuple[str, str], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requests and not self.limits


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    default: str | None = None


@dataclass(frozen=True)
class Result:
    name: str
    description: str


StepRole = Literal["helper", "user"]
# single: one run of a RunPlan; sharded: one run of a ShardedRunPlan.
RunKind = Literal["single", "sharded"]
# What the webhook's receiver must be allowed, in the plan's terms: read its own trigger objects and
# config, create runs (single, sharded), report events; cluster-wide, read the shared trigger objects.
# The backend grants each with its own RBAC rules, in this order.
ReceiverNeed = Literal[
    "read-triggers",
    "read-config",
    "create-runs",
    "create-sharded-runs",
    "report-events",
    "read-cluster-triggers",
]


@dataclass(frozen=True)
class Step:
    name: str
    role: StepRole
    image: str
    command: tuple[Value, ...]
    args: tuple[Value, ...]
    env: tuple[EnvVar, ...]
    mounts: tuple[Mount, ...]
    resources: Resources
    # Pod Security Standards "restricted": non-root, no privilege escalation, no capabilities,
    # RuntimeDefault seccomp; run_as_user None lets the image or the namespace choose the uid.
    restricted: bool = False
    run_as_user: int | None = None


# --- objects ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Meta:
    name: str
    namespace: str | None
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RunPlan:
    """The reusable definition of one InferenceService's single run."""

    meta: Meta
    service: str
    description: str
    params: tuple[Param, ...]
    results: tuple[Result, ...]
    volumes: tuple[Volume, ...]
    steps: tuple[Step, ...]
    source: Source


@dataclass(frozen=True)
class Toleration:
    key: str | None
    operator: str | None
    value: str | None
    effect: str | None
    seconds: int | None


@dataclass(frozen=True)
class RunSpec:
    """What a single run of a RunPlan sets: shared by committed jobs and webhook-created runs."""

    definition: str
    params: tuple[tuple[str, Value], ...]
    service_account: str
    timeout: str
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    # An override of the user step's resources, merged into them key by key (plan/steps.py dropped_resources).
    user_resources: Resources | None = None


@dataclass(frozen=True)
class JobRun:
    """One committed InferenceJob: a create-once run with a content-hashed name."""

    meta: Meta
    job: str
    service: str
    run: RunSpec
    source: Source


@dataclass(frozen=True)
class RuntimeConfigMap:
    meta: Meta
    files: tuple[tuple[str, str], ...]
    source: Source


WebhookAuthKind = Literal["hmac", "token", "none"]


@dataclass(frozen=True)
class WebhookAuth:
    """Who may call: ``hmac`` (a signature of the body keyed by the Secret's value) or ``token`` (the
    Secret's value itself travels); ``none``: anyone who reaches the receiver."""

    kind: WebhookAuthKind
    secret_name: str
    secret_key: str


@dataclass(frozen=True)
class Override:
    """A location a body may override (``dataSource`` / ``outputDestination``): ``allowed``, the connections
    it may name; ``default``, (connection, path) when the body names none, None when the body must."""

    key: str
    allowed: tuple[str, ...]
    default: tuple[str, str] | None


@dataclass(frozen=True)
class ShardRule:
    """What a body's ``spec.parallelism`` may ask: a whole number from 1 to ``maximum``. ``default``: the
    shard count of a run whose body says nothing; None: the run is single and takes no shard count."""

    maximum: int = 1
    default: int | None = None


@dataclass(frozen=True)
class WebhookRules:
    """What a webhook body may be and what run it yields, as data: each backend writes them in its own
    expression language, so every backend accepts exactly the same bodies with the same run params.

    A body is accepted only when: its ``spec.inferenceServiceId`` is ``service``; its keys are among
    ``top_keys`` and its spec's among ``spec_keys`` (a key sent as null counts as absent); ``kind``, when
    given, is ``kind``; ``id``, when given, is a string matching ``id_pattern``; ``spec.requestId``, when
    given, is '' or a string of at most ``value_max`` characters matching ``request_id_pattern`` and not
    ``parent_pattern``; each override, when given, is a map of ``reference_keys`` whose ``connection`` is
    a string among its ``allowed`` and whose ``path`` is '' or a plain value (``value_pattern``, at most
    ``value_max``, never ``parent_pattern``), and carries a connection when it has no default; none of
    ``forbidden`` is given; ``spec.parallelism`` follows ``shards``. The run params: the request id
    ('' when absent: the run's uid), each override's connection (the body's, else its default) and path
    (the body's when not empty; else, when the body named the override's connection or path, that
    connection's own path from ``connection_paths``; else the default's path), and the shard count.
    """

    service: str
    top_keys: tuple[str, ...]
    spec_keys: tuple[str, ...]
    reference_keys: tuple[str, ...]
    kind: str
    id_pattern: str
    request_id_pattern: str
    value_pattern: str
    parent_pattern: str
    value_max: int
    overrides: tuple[Override, ...]
    connection_paths: tuple[tuple[str, str], ...]
    forbidden: tuple[str, ...]
    shards: ShardRule
    auth: WebhookAuth

    @property
    def required(self) -> tuple[str, ...]:
        """The overrides a body must carry, because the service has no default for them."""
        return tuple(o.key for o in self.overrides if o.default is None)


@dataclass(frozen=True)
class WebhookTrigger:
    """A service's webhook: the trigger that filters the body and the template that creates runs."""

    trigger: Meta
    template: Meta
    service: str
    rules: WebhookRules
    binding: str
    params: tuple[Param, ...]
    run_meta: Meta  # the created run's metadata; ``name`` is a generateName prefix
    run: RunSpec
    source: Source
    run_kind: RunKind = "single"  # sharded: the service's ShardedRunPlan
    extra_bindings: tuple[tuple[str, str], ...] = ()  # (param, overlay key) bound by this trigger alone


@dataclass(frozen=True)
class RoleBinding:
    meta: Meta
    role_kind: Literal["Role", "ClusterRole"]
    role: str
    service_account: str
    service_account_namespace: str


@dataclass(frozen=True)
class Webhooks:
    """The per-namespace webhook receiver: its listener, shared binding and least-privilege needs."""

    namespace: str
    listener: Meta
    service_account: Meta
    binding: Meta
    binding_params: tuple[tuple[str, str], ...]
    label_selector: tuple[tuple[str, str], ...]
    role: Meta
    needs: tuple[ReceiverNeed, ...]
    role_binding: RoleBinding
    cluster_role_binding: RoleBinding
    source: Source


@dataclass(frozen=True)
class RunnerAccount:
    """The ServiceAccount every run of a namespace names: the engine reads it to build the pod."""

    meta: Meta
    image_pull_secrets: tuple[str, ...]
    source: Source


@dataclass(frozen=True)
class ClusterRole:
    meta: Meta
    needs: tuple[ReceiverNeed, ...]
    source: Source


@dataclass(frozen=True)
class ShardedRunTask:
    """One task of a sharded run: an inline task (``steps``) or the service's run (``definition``),
    run once per item of ``fan_out`` = (param, array value) when set, the item as that param."""

    name: str
    params: tuple[tuple[str, Value], ...]
    run_after: tuple[str, ...] = ()
    definition: str | None = None
    fan_out: tuple[str, Value] | None = None
    retries: int = 0
    declared: tuple[Param, ...] = ()
    results: tuple[tuple[str, str, str], ...] = ()  # (name, type, description)
    volumes: tuple[Volume, ...] = ()
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class ShardedRunPlan:
    """A service's sharded run: plan the shards, run them, merge them."""

    meta: Meta
    service: str
    description: str
    params: tuple[Param, ...]
    tasks: tuple[ShardedRunTask, ...]
    source: Source
    max_parallel: int = 1  # shard runs at once, for a backend that can queue them


@dataclass(frozen=True)
class ShardedJobRun:
    """A committed InferenceJob with more than one shard: a run of its service's ShardedRunPlan."""

    meta: Meta
    job: str
    service: str
    run: RunSpec  # ``definition``: the sharded run plan's name
    shard_task: str
    source: Source


@dataclass(frozen=True)
class Plan:
    runtime: tuple[RuntimeConfigMap, ...] = ()
    runs: tuple[RunPlan, ...] = ()
    jobs: tuple[JobRun, ...] = ()
    triggers: tuple[WebhookTrigger, ...] = ()
    webhooks: tuple[Webhooks, ...] = ()
    cluster_roles: tuple[ClusterRole, ...] = ()
    sharded_runs: tuple[ShardedRunPlan, ...] = ()
    sharded_jobs: tuple[ShardedJobRun, ...] = ()
    accounts: tuple[RunnerAccount, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()  # warnings only: errors stop the plan
