"""The input kinds, as immutable pydantic models.

Field names are the YAML names (camelCase), so a pydantic error location is also a path into the
source document. The JSON Schema printed by ``odahu-batch schema`` and the CRDs in ``crds/`` are
generated from these classes and nothing else.

Document shapes (see ``load``): Kubernetes style ``apiVersion/kind/metadata/spec`` and ODAHU's API
style ``kind/id/spec``; both normalise to :class:`Document` before these models see them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from compiler.units import DNS1123_LABEL, DNS1123_SUBDOMAIN, check_quantity, parse_duration

API_GROUP = "batch.odahu.org"
API_VERSION = f"{API_GROUP}/v1alpha1"
KINDS = ("Connection", "InferenceService", "InferenceJob", "BatchSettings")
SERVICE_ID_MAX = 53


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


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


Duration = Annotated[str, AfterValidator(_duration)]
Quantity = Annotated[str, BeforeValidator(_number_as_text), AfterValidator(_quantity)]
Label = Annotated[str, AfterValidator(_label)]
K8sName = Annotated[str, AfterValidator(_subdomain)]
NonEmpty = Annotated[str, AfterValidator(_non_empty)]


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
    """A Kubernetes Secret in the run's namespace; ``keys`` maps a credential field to a key of it."""

    name: K8sName
    keys: dict[str, NonEmpty] = Field(default_factory=dict)


class Credentials(_Spec):
    """Exactly one way to authenticate. Omitted credentials mean the pod's ambient identity."""

    secretRef: SecretRef | None = None
    workloadIdentity: bool = False
    anonymous: bool = False

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
    type: Literal["s3", "gcs", "azureblob", "local"]
    uri: NonEmpty
    region: str | None = None
    endpoint: str | None = None
    pathStyle: bool | None = None
    project: str | None = None
    description: str | None = None
    webUILink: str | None = None
    credentials: Credentials | None = None


# --- InferenceService / InferenceJob ----------------------------------------------------------


class ConnectionReference(_Spec):
    connection: NonEmpty
    path: str | None = None


class ModelMeta(_Spec):
    name: NonEmpty
    version: Annotated[str, BeforeValidator(_number_as_text), AfterValidator(_non_empty)]


class RemoteModel(_Spec):
    modelConnection: NonEmpty
    modelPath: str | None = None


class LocalModel(_Spec):
    modelPath: NonEmpty
    meta: ModelMeta


class ModelSource(_Spec):
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
    image: NonEmpty
    command: Annotated[list[NonEmpty], Field(min_length=1)]
    args: list[str] = Field(default_factory=list)
    modelRegistry: ModelSource
    dataSource: ConnectionReference | None = None
    outputDestination: ConnectionReference | None = None
    triggers: Triggers = Field(default_factory=Triggers)
    nodeSelector: dict[str, str] = Field(default_factory=dict)
    resources: ResourceRequirements | None = None
    timeout: Duration | None = None
    parallelism: Annotated[int, Field(ge=1, le=256)] = 1


class InferenceJobSpec(_Spec):
    inferenceServiceId: NonEmpty
    dataSource: ConnectionReference | None = None
    outputDestination: ConnectionReference | None = None
    requestId: str | None = None
    nodeSelector: dict[str, str] | None = None
    resources: ResourceRequirements | None = None
    timeout: Duration | None = None
    parallelism: Annotated[int, Field(ge=1, le=256)] | None = None


# --- BatchSettings ----------------------------------------------------------------------------


class Images(_Spec):
    python: NonEmpty = "docker.io/library/python:3.12-slim"
    rclone: NonEmpty = "docker.io/rclone/rclone:1.75.2"


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
    namespace: Label = "odahu-batch"
    serviceAccount: K8sName = "odahu-batch-runner"
    triggerServiceAccount: K8sName = "odahu-batch-triggers"
    images: Images = Field(default_factory=Images)
    gpuResourceName: NonEmpty = "nvidia.com/gpu"
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    defaultTimeout: Duration = "1h"
    tolerations: list[Toleration] = Field(default_factory=list)
    helperResources: HelperResources = Field(default_factory=HelperResources)
    validation: ValidationPolicy = Field(default_factory=ValidationPolicy)
    allowLocalConnections: bool = False
    maxParallelShards: Annotated[int, Field(ge=1, le=256)] = 8


SPEC_MODELS: dict[str, type[_Spec]] = {
    "Connection": ConnectionSpec,
    "InferenceService": InferenceServiceSpec,
    "InferenceJob": InferenceJobSpec,
    "BatchSettings": BatchSettingsSpec,
}

Kind = Literal["Connection", "InferenceService", "InferenceJob", "BatchSettings"]


class Metadata(_Spec):
    name: Label
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
