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

from compiler.units import DNS1123_LABEL, DNS1123_SUBDOMAIN, check_quantity, parse_duration

API_GROUP = "batch.odahu.org"
API_VERSION = f"{API_GROUP}/v1alpha1"
KINDS = ("Connection", "InferenceService", "InferenceJob", "BatchSettings")
SERVICE_ID_MAX = 53


class _Spec(BaseModel):
    # Attribute docstrings become the descriptions in the JSON Schema and the CRDs.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, use_attribute_docstrings=True)


def _duration(value: str) -> str:
    parse_duration(value)
    return value


def _quantity(value: str) -> str:
    check_quantity(value)
    return value


def _label(value: str) -> str:
    if len(value) > 63 or not DNS1123_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label: expected at most 63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


def _subdomain(value: str) -> str:
    if len(value) > 253 or not DNS1123_SUBDOMAIN.match(value):
        raise ValueError(
            f"{value!r} is not a valid Kubernetes name: expected lower-case letters, digits, '-' and '.'"
        )
    return value


def _number_as_text(value: object) -> object:
    # YAML reads `cpu: 1` and ODAHU's `version: 1` as numbers; Kubernetes and ODAHU take them as text.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


# The JSON Schema of each scalar type says what its validator accepts, so editors agree with it.
DURATION_PATTERN = r"^(0|\+?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$"
LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
QUANTITY_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string"}, {"type": "number"}],
    "description": "A Kubernetes quantity such as 500m, 2, 1Gi or 512Mi.",
}

Duration = Annotated[
    str,
    AfterValidator(_duration),
    WithJsonSchema(
        {"type": "string", "pattern": DURATION_PATTERN, "description": "A Go duration: 90s, 30m, 1h30m."}
    ),
]
Quantity = Annotated[
    str, BeforeValidator(_number_as_text), AfterValidator(_quantity), WithJsonSchema(QUANTITY_SCHEMA)
]
Label = Annotated[
    str,
    AfterValidator(_label),
    WithJsonSchema({"type": "string", "pattern": LABEL_PATTERN, "maxLength": 63}),
]
K8sName = Annotated[
    str,
    AfterValidator(_subdomain),
    WithJsonSchema({"type": "string", "pattern": SUBDOMAIN_PATTERN, "maxLength": 253}),
]
NonEmpty = Annotated[str, AfterValidator(_non_empty), WithJsonSchema({"type": "string", "minLength": 1})]


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


class SecretRef(_Spec):
    """A Kubernetes Secret in the run's namespace that holds the connection's credentials."""

    name: K8sName
    """The Secret's name."""
    keys: dict[str, NonEmpty] = Field(default_factory=dict)
    """Credential field -> key in the Secret. s3: accessKeyID, secretAccessKey, sessionToken; gcs:
    serviceAccountKey; azureblob: sasURL or accountKey. A required field left out is read from the
    Secret key of the same name."""


class Credentials(_Spec):
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


class ConnectionSpec(_Spec):
    """Where models and data live. Credentials only by reference: never inline."""

    type: Literal["s3", "gcs", "azureblob", "local"]
    """The storage kind. local is a folder of the machine that runs the job (local runs and tests)."""
    uri: NonEmpty
    """s3://BUCKET/PATH, gs://BUCKET/PATH, https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH or
    ODAHU's CONTAINER/PATH for azureblob, file:///ABSOLUTE/PATH or a folder relative to the working
    directory of the run for local."""
    region: str | None = None
    """The AWS region of the bucket, or the GCS location."""
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


# --- InferenceService / InferenceJob ----------------------------------------------------------


class ConnectionReference(_Spec):
    """A folder (or object) on a Connection."""

    connection: NonEmpty
    """The Connection's name."""
    path: str | None = None
    """A path inside the connection's bucket or container; it replaces the connection's own path
    (ODAHU's rule)."""


class ModelMeta(_Spec):
    name: NonEmpty
    version: Annotated[
        str,
        BeforeValidator(_number_as_text),
        AfterValidator(_non_empty),
        WithJsonSchema({"anyOf": [{"type": "string", "minLength": 1}, {"type": "number"}]}),
    ]
    """The model version; ODAHU's number form (version: 1) reads as the string "1"."""


class RemoteModel(_Spec):
    """A model downloaded before the predictor starts: a folder, or a .tar.gz / .zip to unpack."""

    modelConnection: NonEmpty
    """The Connection that stores the model."""
    modelPath: str | None = None
    """The model's folder or archive inside the connection."""


class LocalModel(_Spec):
    """A model baked into the predictor image."""

    modelPath: NonEmpty
    """The model's absolute path inside the image."""
    meta: ModelMeta
    """The model's name and version (a remote model has them in odahuflow.project.yaml)."""


class ModelSource(_Spec):
    """Exactly one of remote and local."""

    remote: RemoteModel | None = None
    local: LocalModel | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ModelSource:
        if (self.remote is None) == (self.local is None):
            raise ValueError("expected exactly one of modelRegistry.remote and modelRegistry.local")
        return self


class ResourceList(_Spec):
    cpu: Quantity | None = None
    memory: Quantity | None = None
    gpu: Quantity | None = None
    """GPUs, as BatchSettings.gpuResourceName (default nvidia.com/gpu)."""


class ResourceRequirements(_Spec):
    requests: ResourceList | None = None
    limits: ResourceList | None = None


class HmacSecret(_Spec):
    """GitHub-style HMAC check of the webhook body (``X-Hub-Signature-256``)."""

    secretName: K8sName
    secretKey: NonEmpty = "secret"


class Webhook(_Spec):
    enabled: bool = True
    hmac: HmacSecret | None = None


class Triggers(_Spec):
    webhook: Webhook = Field(default_factory=Webhook)


class InferenceServiceSpec(_Spec):
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


class InferenceJobSpec(_Spec):
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


# --- BatchSettings ----------------------------------------------------------------------------


class Images(_Spec):
    python: NonEmpty = "docker.io/library/python:3.12-slim"
    """The image of the helper steps (validation, feedback logging)."""
    rclone: NonEmpty = "docker.io/rclone/rclone:1.75.2"
    """The image of the storage steps."""


class FeedbackSettings(_Spec):
    """Where log-input / log-output send records: ``none``, ``fluentd://host:port``, an http(s) URL,
    or ``rclone:<connection>:<path>`` for JSON-lines files on object storage."""

    sink: NonEmpty = "none"
    onUnreachable: Literal["fail", "warn"] = "warn"
    timeout: Duration = "2m"


class ValidationPolicy(_Spec):
    """How many rejected files a run tolerates before the validate step fails it."""

    maxRejected: Annotated[int, Field(ge=0)] = 0
    maxRejectedFraction: Annotated[float, Field(ge=0, le=1)] | None = None
    requireOnePerRequest: bool = True
    requireMatchingIds: bool = True


class Toleration(_Spec):
    key: str | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    tolerationSeconds: int | None = None


class HelperResources(_Spec):
    cpu: Quantity = "100m"
    memory: Quantity = "256Mi"
    memoryLimit: Quantity = "1Gi"


class BatchSettingsSpec(_Spec):
    """Project-wide settings; at most one per project, and every field has a default."""

    namespace: Label = "odahu-batch"
    """The namespace of the generated resources."""
    serviceAccount: K8sName = "odahu-batch-runner"
    """The service account of the runs (workload identity binds to it)."""
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


SPEC_MODELS: dict[str, type[_Spec]] = {
    "Connection": ConnectionSpec,
    "InferenceService": InferenceServiceSpec,
    "InferenceJob": InferenceJobSpec,
    "BatchSettings": BatchSettingsSpec,
}

Kind = Literal["Connection", "InferenceService", "InferenceJob", "BatchSettings"]


class Metadata(_Spec):
    name: Label
    """The document's name, unique per kind (a service's at most 53 characters)."""
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
