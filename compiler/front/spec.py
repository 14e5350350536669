"""The input kinds, as immutable pydantic models.

Field names are the YAML names (camelCase), so a pydantic error location is also a path into the
source document. The JSON Schema printed by ``odahu-batch schema`` and the CRDs in ``crds/`` are
generated from these classes and nothing else.

Document shapes (see ``load``): Kubernetes style ``apiVersion/kind/metadata/spec`` and ODAHU's API
style ``kind/id/spec``; both normalise to :class:`Document` before these models see them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from compiler.front.spec_types import (
    Duration,
    Id,
    K8sName,
    Label,
    NonEmpty,
    Quantity,
    SpecModel,
    non_empty,
    number_as_text,
)

API_GROUP = "batch.odahu.org"
API_VERSION = f"{API_GROUP}/v1alpha1"
KINDS = ("Connection", "InferenceService", "InferenceJob", "BatchSettings")
SERVICE_ID_MAX = 53


# --- Connection -------------------------------------------------------------------------------


# The credential fields a Secret may provide, by connection type: the keys of ``SecretRef.keys``.
# A field left out of ``keys`` is read from the Secret key of the same name.
CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    "s3": ("accessKeyID", "secretAccessKey", "sessionToken"),
    "gcs": ("serviceAccountKey",),
    "azureblob": ("sasURL", "accountKey"),
    "local": (),
}
# Which of those a Secret must provide (azureblob: one of the two, sasURL unless accountKey is mapped).
REQUIRED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "s3": ("accessKeyID", "secretAccessKey"),
    "gcs": ("serviceAccountKey",),
    "azureblob": ("sasURL",),
    "local": (),
}


def credential_keys(connection_type: str, ref: SecretRef) -> dict[str, str]:
    """Credential field -> Secret key, with the defaults filled in (the resolved view of ``keys``)."""
    if connection_type == "azureblob" and "accountKey" in ref.keys:
        required: tuple[str, ...] = ("accountKey",)
    else:
        required = REQUIRED_CREDENTIALS.get(connection_type, ())
    keys = {name: name for name in required}
    keys.update(ref.keys)
    return dict(sorted(keys.items()))


class SecretRef(SpecModel):
    """A Kubernetes Secret in the run's namespace that holds the connection's credentials."""

    name: K8sName
    """The Secret's name."""
    keys: dict[str, NonEmpty] = Field(default_factory=dict)
    """Credential field -> key in the Secret. s3: accessKeyID, secretAccessKey, sessionToken; gcs:
    serviceAccountKey; azureblob: sasURL or accountKey. A required field left out is read from the
    Secret key of the same name."""


class Credentials(SpecModel):
    """Exactly one way to authenticate. Omitted credentials mean the pod's ambient identity."""

    secretRef: SecretRef | None = None
    """Read the credentials from a Kubernetes Secret."""
    workloadIdentity: bool = False
    """No secret: the run's service account is bound to a cloud identity (IRSA, GKE or Azure workload
    identity)."""
    anonymous: bool = False
    """No credentials at all (public buckets, emulators)."""

    @model_validator(mode="after")
    def _one_way(self) -> Credentials:
        chosen = [
            n
            for n, on in (
                ("secretRef", self.secretRef is not None),
                ("workloadIdentity", self.workloadIdentity),
                ("anonymous", self.anonymous),
            )
            if on
        ]
        if len(chosen) != 1:
            raise ValueError("expected exactly one of secretRef, workloadIdentity: true, anonymous: true")
        return self


class ConnectionSpec(SpecModel):
    """Where models and data live. Credentials only by reference: never inline."""

    type: Literal["s3", "gcs", "azureblob", "local"]
    """The storage kind. local is a folder of the machine that runs the job (local runs and tests)."""
    uri: NonEmpty
    """s3://BUCKET/PATH, gs://BUCKET/PATH, https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH or
    ODAHU's CONTAINER/PATH for azureblob, file:///ABSOLUTE/PATH or a folder relative to the working
    directory of the run for local."""
    region: str | None = None
    """The AWS region of the bucket, or the GCS location (for gcs, a value that is not a location is read
    as ODAHU's docs meant it: the GCP project)."""
    endpoint: str | None = None
    """A custom http(s) endpoint: S3-compatible stores, emulators, an Azure account's blob endpoint."""
    pathStyle: bool | None = None
    """S3 path-style addressing (MinIO and most emulators need it)."""
    project: str | None = None
    """The GCP project (project number) that owns new buckets."""
    description: str | None = None
    """Free text."""
    webUILink: str | None = None
    """A link to the storage's web console (ODAHU's field; informational)."""
    credentials: Credentials | None = None
    """How the run authenticates; omitted means the pod's ambient identity."""
    readOnly: bool = False
    """Never an output: no service or job may write to it, whatever it allows."""


# --- InferenceService / InferenceJob ----------------------------------------------------------


class ConnectionReference(SpecModel):
    """A folder (or object) on a Connection."""

    connection: NonEmpty
    """The Connection's name."""
    path: str | None = None
    """A path inside the connection's bucket or container; it replaces the connection's own path
    (ODAHU's rule)."""


class ModelMeta(SpecModel):
    name: NonEmpty
    version: Annotated[
        str,
        BeforeValidator(number_as_text),
        AfterValidator(non_empty),
        WithJsonSchema({"anyOf": [{"type": "string", "minLength": 1}, {"type": "number"}]}),
    ]
    """The model version; ODAHU's number form (version: 1) reads as the string "1"."""


class RemoteModel(SpecModel):
    """A model downloaded before the predictor starts: a folder, or a .tar.gz / .zip to unpack."""

    modelConnection: NonEmpty
    """The Connection that stores the model."""
    modelPath: str | None = None
    """The model's folder or archive inside the connection."""


class LocalModel(SpecModel):
    """A model baked into the predictor image."""

    modelPath: NonEmpty
    """The model's absolute path inside the image."""
    meta: ModelMeta
    """The model's name and version (a remote model has them in odahuflow.project.yaml)."""


class ModelSource(SpecModel):
    """Exactly one of remote and local."""

    remote: RemoteModel | None = None
    local: LocalModel | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ModelSource:
        if (self.remote is None) == (self.local is None):
            raise ValueError("expected exactly one of modelRegistry.remote and modelRegistry.local")
        return self


class ResourceList(SpecModel):
    cpu: Quantity | None = None
    memory: Quantity | None = None
    gpu: Quantity | None = None
    """GPUs, as BatchSettings.gpuResourceName (default nvidia.com/gpu)."""


class ResourceRequirements(SpecModel):
    requests: ResourceList | None = None
    limits: ResourceList | None = None


class HmacSecret(SpecModel):
    """A key of a Kubernetes Secret in the EventListener's namespace that authenticates webhook calls."""

    secretName: K8sName
    secretKey: NonEmpty = "secret"


WebhookAuth = Literal["hmac", "token", "none"]


class Webhook(SpecModel):
    enabled: bool = True
    auth: WebhookAuth | None = None
    """Who may call: hmac (the default; X-Hub-Signature-256 of the body, Tekton Triggers' github
    interceptor), token (header X-Secret-Token, compared with the CEL compareSecret function) or none
    (anyone who reaches the EventListener; a warning)."""
    hmac: HmacSecret | None = None
    """The HMAC key; default: Secret <service>-webhook, key secret."""
    token: HmacSecret | None = None
    """The shared token (auth: token, implied when set); default: Secret <service>-webhook, key token."""
    allowedConnections: list[NonEmpty] = Field(default_factory=list)
    """Connections a run may read from or write to besides the service's own dataSource (read) and
    outputDestination (write); a readOnly connection is only ever read. Binds committed jobs too."""

    @property
    def effective_auth(self) -> WebhookAuth:
        return self.auth or ("token" if self.token is not None else "hmac")


class Triggers(SpecModel):
    webhook: Webhook = Field(default_factory=Webhook)


class InferenceServiceSpec(SpecModel):
    """A predictor image and its model: what every job of the service runs (ODAHU's fields)."""

    image: NonEmpty
    """The predictor image."""
    command: Annotated[list[NonEmpty], Field(min_length=1)]
    """The predictor's command (required, as in ODAHU)."""
    args: list[str] = Field(default_factory=list)
    modelRegistry: ModelSource
    dataSource: ConnectionReference | None = None
    """The default input folder of the service's jobs."""
    outputDestination: ConnectionReference | None = None
    """The default output folder of the service's jobs."""
    triggers: Triggers = Field(default_factory=Triggers)
    nodeSelector: dict[str, str] = Field(default_factory=dict)
    """Node labels for the run's pod; a job may replace them."""
    resources: ResourceRequirements | None = None
    """Resources of the predictor step only (helper steps get BatchSettings.helperResources)."""
    timeout: Duration | None = None
    """The longest a run may take; default BatchSettings.defaultTimeout."""
    parallelism: Annotated[int, Field(ge=1, le=256)] = 1
    """How many shards a run's input is split into."""
    strictResponses: bool | None = None
    """Refuse responses as predictors written for ODAHU write them (see BatchSettings
    validation.strictResponses, the default when this is not set): a new service opts into strict V2."""
    userSecurity: Literal["restricted", "none"] = "restricted"
    """The predictor step's security context: restricted (Pod Security Standards, non-root, no
    privilege escalation, no capabilities, RuntimeDefault seccomp) or none (the image's own user;
    the pod is then refused by a namespace that enforces restricted)."""


class InferenceJobSpec(SpecModel):
    """One run of a service; every field but the service defaults from the service."""

    inferenceServiceId: NonEmpty
    """The InferenceService to run."""
    dataSource: ConnectionReference | None = None
    outputDestination: ConnectionReference | None = None
    requestId: str | None = None
    """The id of the run's feedback records; derived from the job when omitted."""
    nodeSelector: dict[str, str] | None = None
    resources: ResourceRequirements | None = None
    timeout: Duration | None = None
    parallelism: Annotated[int, Field(ge=1, le=256)] | None = None
    replaceOutput: bool = False
    """May this job's run replace another job's work in its output folder? Objects that no run wrote are
    never replaced."""


# --- BatchSettings ----------------------------------------------------------------------------


class Images(SpecModel):
    python: NonEmpty = "docker.io/library/python:3.12-slim"
    """The image of the helper steps (validation, feedback logging)."""
    rclone: NonEmpty = "docker.io/rclone/rclone:1.75.2"
    """The image of the storage steps."""


class SecretKeySelector(SpecModel):
    """One key of a Kubernetes Secret in the run's namespace."""

    name: K8sName
    key: NonEmpty


class FeedbackSettings(SpecModel):
    """Where log-input / log-output send records: ``none``, ``fluentd://host:port``, an http(s) URL,
    or ``rclone:<connection>:<path>`` for JSON-lines files on object storage."""

    sink: NonEmpty = "none"
    onUnreachable: Literal["fail", "warn"] = "warn"
    timeout: Duration = "2m"
    authSecret: SecretKeySelector | None = None
    """An http(s) sink's ``Authorization`` header value (``Bearer <token>``), read from this Secret key by
    log-input/-output only; a sink URL itself never carries a credential."""


class ValidationPolicy(SpecModel):
    """How many rejected files a run tolerates before the validate step fails it."""

    maxRejected: Annotated[int, Field(ge=0)] = 0
    maxRejectedFraction: Annotated[float, Field(ge=0, le=1)] | None = None
    requireOnePerRequest: bool = True
    requireMatchingIds: bool = True
    maxFileBytes: Annotated[int, Field(ge=1024, le=1 << 40)] = 8 << 20
    """A larger data file is rejected unread (checking holds up to ~34x a file's size in memory); 8 MiB."""
    strictResponses: bool = False
    """Refuse responses as predictors written for ODAHU write them (no model_name, named by order) instead
    of accepting them with a warning each (a missing model_name filled from the model's metadata)."""


class Toleration(SpecModel):
    key: str | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    tolerationSeconds: int | None = None


class HelperResources(SpecModel):
    """What the helper steps of one pod need: they run one at a time, so the pod reserves it once."""

    cpu: Quantity = "100m"
    memory: Quantity = "256Mi"
    cpuLimit: Quantity = "1"
    """Each helper's CPU limit; also bounds the worker processes of the validation steps."""
    memoryLimit: Quantity = "1Gi"


class BatchSettingsSpec(SpecModel):
    """Project-wide settings; at most one per project, and every field has a default."""

    backend: Literal["tekton", "argo"] = "tekton"
    """The engine the specs compile for: Tekton Pipelines and Triggers, or Argo Workflows (with the Argo
    Server's events endpoint for the webhook). `compile --target` overrides it for one compile."""
    namespace: Label = "odahu-batch"
    """The namespace of the generated resources."""
    serviceAccount: K8sName = "odahu-batch-runner"
    """The service account of the runs (workload identity binds to it)."""
    serviceAccountAnnotations: dict[str, str] = Field(default_factory=dict)
    """Annotations of the runs' service account: workload identity binds here (e.g.
    eks.amazonaws.com/role-arn, iam.gke.io/gcp-service-account, azure.workload.identity/client-id)."""
    imagePullSecrets: list[K8sName] = Field(default_factory=list)
    """Secrets the runs' service account pulls private images with (prerequisites of the tree)."""
    podSecurity: Literal["restricted", "restricted-v2"] = "restricted"
    """restricted: every step runs as a fixed non-root UID; restricted-v2 (OpenShift): no fixed UID,
    the namespace's range assigns one."""
    triggerServiceAccount: K8sName = "odahu-batch-triggers"
    """The service account of the webhook's EventListener."""
    images: Images = Field(default_factory=Images)
    """Images of the helper and storage steps."""
    gpuResourceName: NonEmpty = "nvidia.com/gpu"
    """The extended resource that resources.*.gpu maps to."""
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    """Where request/response feedback records go (ODAHU's tags and fields); default none."""
    defaultTimeout: Duration = "1h"
    """The timeout of a job whose job and service set none."""
    tolerations: list[Toleration] = Field(default_factory=list)
    """Tolerations of every run's pod."""
    helperResources: HelperResources = Field(default_factory=HelperResources)
    """Resources of the helper steps (never a GPU)."""
    validation: ValidationPolicy = Field(default_factory=ValidationPolicy)
    """How the input and output checks treat rejected files."""
    allowLocalConnections: bool = False
    """Allow local connections when compiling for a cluster (for local runs and tests)."""
    maxParallelShards: Annotated[int, Field(ge=1, le=256)] = 8
    """The most shards of one run that execute at once."""


SPEC_MODELS: dict[str, type[SpecModel]] = {
    "Connection": ConnectionSpec,
    "InferenceService": InferenceServiceSpec,
    "InferenceJob": InferenceJobSpec,
    "BatchSettings": BatchSettingsSpec,
}

Kind = Literal["Connection", "InferenceService", "InferenceJob", "BatchSettings"]


class Metadata(SpecModel):
    name: Id
    """The document's name, unique per kind (a service's at most 53 characters); as ODAHU's ids, it starts
    with a letter."""
    namespace: Label | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class Source(BaseModel):
    """Where a document came from: the file and the 1-based line/column of its first key."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    col: int
    index: int = 0


class Document(BaseModel):
    """One validated spec document of any kind."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    kind: Kind
    metadata: Metadata
    spec: Any
    source: Source
    style: Literal["kubernetes", "odahu"] = "kubernetes"
