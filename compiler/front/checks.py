"""Rules of one valid spec that a pydantic model cannot locate precisely.

Run by ``validate`` after a document's model validated, so every value has its declared type.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import SplitResult, urlsplit

from compiler.diagnostics import Diagnostic, did_you_mean
from compiler.front.load import PathKey, RawDocument
from compiler.front.spec import (
    CREDENTIAL_FIELDS,
    BatchSettingsSpec,
    ConnectionSpec,
    InferenceJobSpec,
    InferenceServiceSpec,
    ResourceRequirements,
)
from compiler.front.translate import value_repr
from compiler.naming import request_id_problem
from compiler.units import check_quantity, parse_storage_uri

# The YAML to write instead of an inline credential, by connection type (shown in E207's hint).
SECRET_EXAMPLES = {
    "s3": (
        "    spec:\n      credentials:\n        secretRef:\n          name: {name}\n"
        "          keys: {{accessKeyID: AWS_ACCESS_KEY_ID, secretAccessKey: AWS_SECRET_ACCESS_KEY}}\n"
        "  or, with no secret at all: 'credentials: {{workloadIdentity: true}}'"
    ),
    "gcs": (
        "    spec:\n      credentials:\n        secretRef:\n          name: {name}\n"
        "          keys: {{serviceAccountKey: key.json}}\n"
        "  or, with no secret at all: 'credentials: {{workloadIdentity: true}}'"
    ),
    "azureblob": (
        "    spec:\n      credentials:\n        secretRef:\n          name: {name}\n"
        "          keys: {{sasURL: sas-url}}\n"
        "  or, with no secret at all: 'credentials: {{workloadIdentity: true}}'"
    ),
    "local": "    local connections take no credentials: remove the field",
}


def check_spec(kind: str, spec: Any, raw: RawDocument) -> list[Diagnostic]:
    if isinstance(spec, ConnectionSpec):
        return _connection(spec, raw)
    if isinstance(spec, InferenceServiceSpec):
        out = _resources(spec.resources, raw)
        local = spec.modelRegistry.local
        if local is not None and not local.modelPath.startswith("/"):
            path = ("spec", "modelRegistry", "local", "modelPath")
            out.append(
                Diagnostic(
                    "E206",
                    f"spec.modelRegistry.local.modelPath: expected an absolute path inside the image, "
                    f"found {local.modelPath!r}",
                    raw.locate(path),
                    hint="a model baked into the image is given by its absolute path, e.g. /opt/app/model",
                    field=".".join(path),
                )
            )
        return out + _webhook_auth(spec, raw)
    if isinstance(spec, InferenceJobSpec):
        return _request_id(spec.requestId, raw) + _resources(spec.resources, raw)
    if isinstance(spec, BatchSettingsSpec):
        return _feedback_sink(spec, raw)
    return []


def _request_id(value: str | None, raw: RawDocument) -> list[Diagnostic]:
    """The webhook's rule (naming.request_id_problem): the id becomes a folder name and a program argument."""
    problem = None if value is None else request_id_problem(value)
    if problem is None:
        return []
    path: PathKey = ("spec", "requestId")
    message = f"spec.requestId: {problem}, found {value_repr(value)}"
    return [_at(raw, "E206", path, message, hint="e.g. 'nightly-2024-05-01'; leave it out for the run's uid")]


SINK_FORMS = "none, fluentd://HOST:PORT, http(s)://HOST/PATH or rclone:CONNECTION:PATH"
AUTH_HINT = (
    "put the credential in a Kubernetes Secret and reference it:\n"
    "    spec:\n      feedback:\n        sink: https://HOST/PATH\n"
    "        authSecret: {name: feedback-sink, key: authorization}   # e.g. 'Bearer <token>'"
)


def _feedback_sink(spec: BatchSettingsSpec, raw: RawDocument) -> list[Diagnostic]:
    """The sink as log-input/-output will use it: a scheme they know, a host, and no credential in Git."""
    feedback = spec.feedback
    path: PathKey = ("spec", "feedback", "sink")
    sink = feedback.sink
    out: list[Diagnostic] = []
    if sink.startswith(("http://", "https://", "fluentd://")):
        parts = urlsplit(sink)
        if parts.username is not None or parts.password is not None:
            # The value is never shown: the diagnostic masks the source line too.
            return [
                _at(
                    raw,
                    "E207",
                    path,
                    "spec.feedback.sink: a user name or password in the URL: secrets must never be committed",
                    hint=AUTH_HINT,
                    conceal=parts.netloc.rpartition("@")[0],
                )
            ]
        problem = _sink_host_problem(parts)
        if problem is not None:
            out.append(
                _at(raw, "E209", path, f"spec.feedback.sink: {problem}", hint=f"expected {SINK_FORMS}")
            )
    elif sink != "none" and not (sink.startswith("rclone:") and ":" in sink[len("rclone:") :]):
        scheme = sink.partition(":")[0] if ":" in sink else sink
        out.append(
            _at(
                raw,
                "E209",
                path,
                f"spec.feedback.sink: unknown sink {value_repr(scheme)}: log-input would fail every run",
                hint=f"expected {SINK_FORMS}",
            )
        )
    if feedback.authSecret is not None and not sink.startswith(("http://", "https://")):
        out.append(
            _at(
                raw,
                "E210",
                ("spec", "feedback", "authSecret"),
                "spec.feedback.authSecret: only an http(s) sink takes an Authorization header",
                key=True,
                hint="remove authSecret, or use an http(s) sink",
            )
        )
    return out


def _webhook_auth(spec: InferenceServiceSpec, raw: RawDocument) -> list[Diagnostic]:
    """A webhook's Secret fields must fit its one auth mode: a key of an unused mode is a mistake."""
    webhook = spec.triggers.webhook
    auth = webhook.effective_auth
    out = []
    for mode in ("hmac", "token"):
        if getattr(webhook, mode) is None or mode == auth:
            continue
        path = ("spec", "triggers", "webhook", mode)
        out.append(
            Diagnostic(
                "E208",
                f"spec.triggers.webhook.{mode} is set, but the webhook's auth is {auth}",
                raw.locate(path, key=True),
                hint=f"use exactly one of: 'auth: hmac' with hmac, 'auth: token' with token, 'auth: none' "
                f"with neither; remove {mode} or set 'auth: {mode}'",
                field=".".join(path),
            )
        )
    return out


def _sink_host_problem(parts: SplitResult) -> str | None:
    try:
        port = parts.port
    except ValueError:
        return "the port is not a number in 1-65535"
    if not parts.hostname:
        return (
            f"a {parts.scheme}:// sink needs a host (log-input runs in the job's pod, not next to the sink)"
        )
    if port == 0:
        return "the port is not a number in 1-65535"
    return None


def _connection(spec: ConnectionSpec, raw: RawDocument) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    try:
        parse_storage_uri(spec.type, spec.uri)
    except ValueError as exc:
        out.append(_at(raw, "E209", ("spec", "uri"), f"spec.uri: {exc}"))
    if spec.endpoint is not None and not spec.endpoint.startswith(("http://", "https://")):
        out.append(
            _at(
                raw,
                "E209",
                ("spec", "endpoint"),
                f"spec.endpoint: expected an http:// or https:// URL, found {spec.endpoint!r}",
            )
        )
    creds = spec.credentials
    if creds is None:
        return out
    if spec.type == "local":
        out.append(
            _at(
                raw,
                "E210",
                ("spec", "credentials"),
                "spec.credentials: a local connection takes no credentials",
                key=True,
                hint="remove 'credentials' (the run reads and writes the folder directly)",
            )
        )
        return out
    if creds.secretRef is None:
        return out
    allowed = CREDENTIAL_FIELDS[spec.type]
    for name in creds.secretRef.keys:
        if name not in allowed:
            path: PathKey = ("spec", "credentials", "secretRef", "keys", name)
            guess = did_you_mean(name, allowed)
            out.append(
                _at(
                    raw,
                    "E210",
                    path,
                    f"spec.credentials.secretRef.keys: '{name}' is not a credential of "
                    f"{'an' if spec.type in ('s3', 'azureblob') else 'a'} {spec.type} connection",
                    key=True,
                    hint=guess or f"expected one of: {', '.join(allowed)}",
                )
            )
    if spec.type == "azureblob" and {"sasURL", "accountKey"} <= set(creds.secretRef.keys):
        out.append(
            _at(
                raw,
                "E210",
                ("spec", "credentials", "secretRef", "keys"),
                "spec.credentials.secretRef.keys: expected one of sasURL and accountKey, found both",
                key=True,
            )
        )
    return out


def _resources(resources: ResourceRequirements | None, raw: RawDocument) -> list[Diagnostic]:
    if resources is None:
        return []
    out = []
    requests = resources.requests.model_dump(exclude_none=True) if resources.requests else {}
    limits = resources.limits.model_dump(exclude_none=True) if resources.limits else {}
    for name, request in requests.items():
        limit = limits.get(name)
        path: PathKey = ("spec", "resources", "requests", name)
        if name == "gpu" and limit is None:
            message = "spec.resources.requests.gpu: a GPU request needs a GPU limit"
            out.append(
                _at(raw, "E206", path, message, hint="set spec.resources.limits.gpu to the same value")
            )
        elif name == "gpu" and _amount(request) != _amount(limit):
            message = f"spec.resources.requests.gpu: {request} differs from the limit {limit}"
            out.append(
                _at(raw, "E206", path, message, hint="Kubernetes requires GPU requests to equal limits")
            )
        elif limit is not None and _amount(request) > _amount(limit):
            message = f"spec.resources.requests.{name}: {request} is more than the limit {limit}"
            out.append(_at(raw, "E206", path, message, hint="a request may not exceed its limit"))
    return out


def _amount(value: Any) -> Decimal:
    return check_quantity(str(value))


def _at(
    raw: RawDocument,
    code: str,
    path: PathKey,
    message: str,
    *,
    key: bool = False,
    hint: str | None = None,
    conceal: str | None = None,
) -> Diagnostic:
    location = raw.locate(path, key=key)
    return Diagnostic(code, message, location, hint=hint, field=".".join(map(str, path)), conceal=conceal)
