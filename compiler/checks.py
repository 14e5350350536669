"""Rules of one valid spec that a pydantic model cannot locate precisely.

Run by ``validate`` after a document's model validated, so every value has its declared type.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from compiler.diagnostics import Diagnostic, did_you_mean
from compiler.load import PathKey, RawDocument
from compiler.spec import (
    CREDENTIAL_FIELDS,
    ConnectionSpec,
    InferenceJobSpec,
    InferenceServiceSpec,
    ResourceRequirements,
)
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
        return _resources(spec.resources, raw)
    return []


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
    raw: RawDocument, code: str, path: PathKey, message: str, *, key: bool = False, hint: str | None = None
) -> Diagnostic:
    return Diagnostic(code, message, raw.locate(path, key=key), hint=hint, field=".".join(map(str, path)))
