"""Raw documents -> spec models, with every problem located in the source file.

Each document is checked on its own: the envelope (Kubernetes or ODAHU shape, kind, name), then
the spec model, then the rules a model cannot express with a precise location (storage URIs,
credential keys, resource requests against limits). Every error of every document is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from compiler.diagnostics import Diagnostic, did_you_mean
from compiler.front import checks, odahu
from compiler.front.load import PathKey, RawDocument
from compiler.front.spec import (
    API_GROUP,
    API_VERSION,
    KINDS,
    SERVICE_ID_MAX,
    SPEC_MODELS,
    Document,
    Metadata,
    Source,
)
from compiler.front.translate import pydantic_diagnostics, value_repr
from compiler.naming import derived_job_id

M = TypeVar("M", bound=BaseModel)
KUBERNETES_KEYS = ("apiVersion", "kind", "metadata", "spec")
ODAHU_KEYS = ("kind", "id", "spec")
INLINE_SECRETS = ("keyID", "keySecret", "password", "username", "role", "publicKey")


@dataclass(frozen=True)
class Validated:
    """A valid document and the raw document it came from (later stages locate fields with it)."""

    document: Document
    raw: RawDocument


@dataclass(frozen=True)
class ValidateResult:
    documents: tuple[Validated, ...]
    diagnostics: tuple[Diagnostic, ...]


def validate(raws: Sequence[RawDocument]) -> ValidateResult:
    documents: list[Validated] = []
    diags: list[Diagnostic] = []
    for raw in raws:
        result, doc_diags = validate_document(raw)
        diags.extend(doc_diags)
        if result is not None:
            documents.append(result)
    return ValidateResult(tuple(documents), tuple(diags))


def validate_document(raw: RawDocument) -> tuple[Validated | None, list[Diagnostic]]:
    diags: list[Diagnostic] = []
    raw = _normalized(raw, diags)
    data = raw.data
    foreign = _foreign(raw)
    if foreign is not None:
        return None, [foreign]
    kind = _kind(raw, diags)
    if kind is None:
        return None, diags
    odahu = "apiVersion" not in data and "metadata" not in data
    allowed = ODAHU_KEYS if odahu else KUBERNETES_KEYS
    for key in data:
        if key not in allowed:
            shape = "an ODAHU API document (kind, id, spec)" if odahu else "a Kubernetes-style document"
            diags.append(_unknown_field(raw, (key,), allowed, f"at the top level of {shape}"))
    if not odahu:
        _check_api_version(raw, diags)

    spec_data, raw = _spec_data(raw, kind, diags)
    spec = _validate_model(SPEC_MODELS[kind], spec_data, raw, ("spec",), diags)
    metadata = _metadata(raw, kind, odahu, diags)
    if spec is not None:
        diags.extend(checks.check_spec(kind, spec, raw))
    if metadata is not None and kind == "InferenceService" and len(metadata.name) > SERVICE_ID_MAX:
        path: PathKey = ("id",) if odahu else ("metadata", "name")
        diags.append(
            Diagnostic(
                "E206",
                f"InferenceService name '{metadata.name}' is {len(metadata.name)} characters long, "
                f"expected at most {SERVICE_ID_MAX}",
                raw.locate(path),
                hint="job names are derived from the service name and must stay within 63 characters",
                field=".".join(map(str, path)),
            )
        )
    if spec is None or metadata is None or any(d.is_error for d in diags):
        return None, diags
    start = raw.start
    document = Document(
        kind=kind,
        metadata=metadata,
        spec=spec,
        source=Source(file=raw.file, line=start.line, col=start.col, index=raw.index),
        style="odahu" if odahu else "kubernetes",
    )
    return Validated(document, raw), diags


def _normalized(raw: RawDocument, diags: list[Diagnostic]) -> RawDocument:
    """ODAHU's shapes as every entry point reads them (``front/odahu.py``); one warning for the ignored."""
    found = odahu.normalize(raw.data)
    if found.ignored:
        first = found.ignored[0]
        diags.append(
            Diagnostic(
                "W202",
                odahu.ignored_message(found.ignored),
                raw.locate(first, key=True),
                severity="warning",
                field=".".join(first),
            )
        )
    return replace(raw, data=found.data)


def _foreign(raw: RawDocument) -> Diagnostic | None:
    """A Kubernetes document of another API group (a kustomization, a Secret) is not ours: skip it."""
    version = raw.data.get("apiVersion")
    if not isinstance(version, str) or raw.data.get("kind") in KINDS:
        return None
    group = version.split("/", 1)[0] if "/" in version else ""
    if did_you_mean(group, [API_GROUP]) is not None:
        return None
    return Diagnostic(
        "W203",
        f"skipped a document of apiVersion '{version}': not an odahu-batch kind",
        raw.locate(("apiVersion",)),
        severity="warning",
        hint=f"odahu-batch documents have 'apiVersion: {API_VERSION}'",
        field="apiVersion",
    )


def _kind(raw: RawDocument, diags: list[Diagnostic]) -> Any:
    kind = raw.data.get("kind")
    if kind is None:
        diags.append(
            Diagnostic(
                "E201",
                "document has no 'kind'",
                raw.locate(()),
                hint=f"expected one of: {', '.join(KINDS)}",
                field="kind",
            )
        )
        return None
    if kind not in KINDS:
        guess = did_you_mean(str(kind), KINDS)
        diags.append(
            Diagnostic(
                "E201",
                f"unknown kind {value_repr(kind)}",
                raw.locate(("kind",)),
                hint=guess or f"expected one of: {', '.join(KINDS)}",
                field="kind",
            )
        )
        return None
    return kind


def _check_api_version(raw: RawDocument, diags: list[Diagnostic]) -> None:
    version = raw.data.get("apiVersion")
    if version == API_VERSION:
        return
    found = "no apiVersion" if version is None else f"apiVersion {value_repr(version)}"
    diags.append(
        Diagnostic(
            "E202",
            f"{found}, expected '{API_VERSION}'",
            raw.locate(("apiVersion",) if version is not None else ()),
            hint=f"write 'apiVersion: {API_VERSION}', or drop apiVersion and metadata for ODAHU's shape "
            "(kind, id, spec)",
            field="apiVersion",
        )
    )


def _spec_data(raw: RawDocument, kind: str, diags: list[Diagnostic]) -> tuple[Any, RawDocument]:
    spec = raw.data.get("spec")
    if spec is None and "spec" not in raw.data and kind == "BatchSettings":
        return {}, raw
    if spec is None and "spec" not in raw.data:
        diags.append(
            Diagnostic(
                "E203",
                f"{kind} has no 'spec'",
                raw.locate(()),
                hint="every document except BatchSettings needs a 'spec:' mapping",
                field="spec",
            )
        )
        return None, raw
    if not isinstance(spec, dict):
        return spec, raw
    spec = dict(spec)
    if kind == "Connection":
        for key in INLINE_SECRETS:
            if key in spec:
                diags.append(_inline_secret(raw, key, spec))
                del spec[key]
    if kind == "InferenceService" and "modelSource" in spec and "modelRegistry" not in spec:
        spec, raw = _legacy_model_source(raw, spec, diags)
    return spec, raw


def _inline_secret(raw: RawDocument, key: str, spec: dict[str, Any]) -> Diagnostic:
    ctype = spec.get("type") if spec.get("type") in checks.SECRET_EXAMPLES else "s3"
    name = raw.data.get("id") or (raw.data.get("metadata") or {}).get("name") or "my-connection"
    example = checks.SECRET_EXAMPLES[str(ctype)].format(name=f"{name}-credentials")
    if key == "role":
        what = "an IAM role belongs to the pod's service account (workload identity)"
        hint = "write 'credentials: {workloadIdentity: true}' and annotate BatchSettings' service account"
    else:
        what = "secrets must never be committed"
        hint = f"put the value in a Kubernetes Secret and reference it:\n{example}"
    return Diagnostic(
        "E207",
        f"inline credential 'spec.{key}' in a Connection: {what}",
        raw.locate(("spec", key), key=True),
        hint=hint,
        field=f"spec.{key}",
        conceal=str(spec[key]) if isinstance(spec[key], str) and spec[key] else None,
    )


def _legacy_model_source(
    raw: RawDocument, spec: dict[str, Any], diags: list[Diagnostic]
) -> tuple[dict[str, Any], RawDocument]:
    """ODAHU's early ``modelSource: {connection, path}`` is ``modelRegistry.remote`` today."""
    legacy = spec.pop("modelSource")
    diags.append(
        Diagnostic(
            "W201",
            "'spec.modelSource' is ODAHU's old name for 'spec.modelRegistry.remote'",
            raw.locate(("spec", "modelSource"), key=True),
            severity="warning",
            hint="write 'modelRegistry: {remote: {modelConnection: ..., modelPath: ...}}'",
            field="spec.modelSource",
        )
    )
    if not isinstance(legacy, dict):
        spec["modelRegistry"] = legacy
        return spec, raw
    renamed = {"connection": "modelConnection", "path": "modelPath"}
    remote = {renamed.get(k, k): v for k, v in legacy.items()}
    spec["modelRegistry"] = {"remote": remote}
    keys, values = dict(raw.keys), dict(raw.values)
    old, new = ("spec", "modelSource"), ("spec", "modelRegistry", "remote")
    for table in (keys, values):
        table[("spec", "modelRegistry")] = table.get(old, raw.start)
        table[new] = table.get(old, raw.start)
        for k in legacy:
            if (*old, k) in table:
                table[(*new, str(renamed.get(k, k)))] = table[(*old, k)]
    return spec, replace(raw, keys=keys, values=values)


def _metadata(raw: RawDocument, kind: str, odahu: bool, diags: list[Diagnostic]) -> Metadata | None:
    if not odahu:
        meta = raw.data.get("metadata")
        if meta is None:
            diags.append(
                Diagnostic(
                    "E203",
                    "missing required field 'metadata'",
                    raw.locate(()),
                    hint="add 'metadata: {name: ...}'",
                    field="metadata",
                )
            )
            return None
        return _validate_model(Metadata, meta, raw, ("metadata",), diags)
    if "id" in raw.data:
        ident = {"name": raw.data["id"]}
        return _validate_model(Metadata, ident, raw, ("id",), diags, rename={"name": None})
    if kind == "InferenceJob":
        spec = raw.data.get("spec")
        service = spec.get("inferenceServiceId") if isinstance(spec, dict) else None
        if isinstance(service, str) and service:
            return Metadata(name=derived_job_id(service, spec))
        return None  # the spec's own errors say what is missing
    diags.append(
        Diagnostic(
            "E203",
            f"{kind} has no 'id'",
            raw.locate(()),
            hint="ODAHU API documents name themselves with 'id:' (only an InferenceJob may omit it)",
            field="id",
        )
    )
    return None


def _validate_model(
    model: type[M],
    data: Any,
    raw: RawDocument,
    prefix: PathKey,
    diags: list[Diagnostic],
    rename: dict[str, str | None] | None = None,
) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        diags.extend(pydantic_diagnostics(exc, model, data, raw, prefix, rename or {}))
        return None


def _unknown_field(raw: RawDocument, path: PathKey, allowed: Sequence[str], where: str) -> Diagnostic:
    name = str(path[-1])
    return Diagnostic(
        "E204",
        f"unknown field '{'.'.join(map(str, path))}' {where}",
        raw.locate(path, key=True),
        hint=did_you_mean(name, allowed) or f"expected one of: {', '.join(allowed)}",
        field=".".join(map(str, path)),
    )
