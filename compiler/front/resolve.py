"""Validated documents -> the one immutable Project.

Builds the symbol table keyed (kind, name), checks every reference (ODAHU checked only some of
them), fills each job's effective settings from its service and BatchSettings, and refuses local
connections when compiling for a cluster unless the settings allow them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from compiler.diagnostics import Diagnostic, Location, did_you_mean
from compiler.front.load import PathKey, RawDocument
from compiler.front.project import Connection, EffectiveJob, Job, Project, Service
from compiler.front.resolve_access import check_access, check_feedback
from compiler.front.spec import (
    BatchSettingsSpec,
    ConnectionReference,
    ConnectionSpec,
    InferenceJobSpec,
    InferenceServiceSpec,
)
from compiler.front.validate import Validated
from compiler.units import canonical_duration

T = TypeVar("T")


@dataclass(frozen=True)
class ResolveResult:
    project: Project | None
    diagnostics: tuple[Diagnostic, ...]


def resolve(
    documents: Sequence[Validated], *, for_cluster: bool = True, calls: frozenset[str] = frozenset()
) -> ResolveResult:
    """``calls``: the jobs that stand for webhook calls (``run --webhook-body``), held to what a call may
    name rather than to what a committed job may."""
    diags: list[Diagnostic] = []
    table = _symbols(documents, diags)
    settings = _settings(documents, diags)

    connections = {name: v for (kind, name), v in table.items() if kind == "Connection"}
    services = {name: v for (kind, name), v in table.items() if kind == "InferenceService"}
    jobs = {name: v for (kind, name), v in table.items() if kind == "InferenceJob"}

    if for_cluster and not settings.allowLocalConnections:
        for item in connections.values():
            _refuse_local(item, diags)
    for item in services.values():
        _check_service(item, connections, diags)
    resolved_jobs: list[Job] = []
    for name, item in jobs.items():
        job = _job(name, item, services, connections, settings, diags)
        if job is not None:
            resolved_jobs.append(job)
    if not any(d.is_error for d in diags):
        specs = {name: _spec(v, ConnectionSpec) for name, v in connections.items()}
        diags += check_access(services, jobs, specs, settings.feedback.sink, calls)
        first = next((d for d in documents if d.document.kind == "BatchSettings"), None)
        diags += check_feedback(first, specs)

    if any(d.is_error for d in diags):
        return ResolveResult(None, tuple(diags))
    project = Project(
        settings=settings,
        connections=tuple(
            Connection(n, _spec(v, ConnectionSpec), v.document.source) for n, v in sorted(connections.items())
        ),
        services=tuple(
            Service(n, _namespace(v, settings), _spec(v, InferenceServiceSpec), v.document.source)
            for n, v in sorted(services.items())
        ),
        jobs=tuple(sorted(resolved_jobs, key=lambda j: j.name)),
        for_cluster=for_cluster,
    )
    return ResolveResult(project, tuple(diags))


def _name_path(item: Validated) -> PathKey:
    if item.document.style == "odahu":
        return ("id",) if "id" in item.raw.data else ()
    return ("metadata", "name")


def _symbols(documents: Sequence[Validated], diags: list[Diagnostic]) -> dict[tuple[str, str], Validated]:
    table: dict[tuple[str, str], Validated] = {}
    for item in documents:
        doc = item.document
        if doc.kind == "BatchSettings":
            continue
        key = (doc.kind, doc.metadata.name)
        first = table.get(key)
        if first is None:
            table[key] = item
            continue
        where = first.raw.locate(_name_path(first))
        derived = "" if _name_path(item) else " (derived from the job's content: the two jobs are identical)"
        diags.append(
            Diagnostic(
                "E301",
                f"duplicate {doc.kind} '{doc.metadata.name}'{derived}",
                item.raw.locate(_name_path(item)),
                hint=f"first defined at {_short(where)}; names are unique per kind",
                field=".".join(map(str, _name_path(item))) or None,
            )
        )
    return table


def _short(loc: Location) -> str:
    return f"{loc.file}:{loc.line}:{loc.col}" if loc.line else loc.file


def _settings(documents: Sequence[Validated], diags: list[Diagnostic]) -> BatchSettingsSpec:
    found = [item for item in documents if item.document.kind == "BatchSettings"]
    for extra in found[1:]:
        diags.append(
            Diagnostic(
                "E305",
                "more than one BatchSettings document",
                extra.raw.locate(("kind",)),
                hint=f"a project has at most one; the first is at {_short(found[0].raw.locate(('kind',)))}",
                field="kind",
            )
        )
    return _spec(found[0], BatchSettingsSpec) if found else BatchSettingsSpec()


def _spec(item: Validated, cls: type[T]) -> T:
    spec = item.document.spec
    assert isinstance(spec, cls), f"{item.document.kind} spec is {type(spec).__name__}"
    return spec


def _namespace(item: Validated, settings: BatchSettingsSpec) -> str:
    return item.document.metadata.namespace or settings.namespace


def _refuse_local(item: Validated, diags: list[Diagnostic]) -> None:
    if _spec(item, ConnectionSpec).type != "local":
        return
    diags.append(
        Diagnostic(
            "E304",
            f"Connection '{item.document.metadata.name}' is local: a cluster cannot read a local folder",
            item.raw.locate(("spec", "type")),
            hint="use s3, gcs or azureblob for a cluster; for local runs and tests set "
            "'allowLocalConnections: true' in BatchSettings, or validate with --local",
            field="spec.type",
        )
    )


def _check_ref(
    item: Validated,
    path: PathKey,
    name: str,
    known: dict[str, Validated],
    what: str,
    diags: list[Diagnostic],
) -> bool:
    if name in known:
        return True
    doc = item.document
    guess = did_you_mean(name, known)
    listing = ", ".join(sorted(known)) or "none are defined"
    diags.append(
        Diagnostic(
            "E302",
            f"{doc.kind} '{doc.metadata.name}' references unknown {what} '{name}'",
            item.raw.locate(path),
            hint=guess or f"known {what}s: {listing}",
            field=".".join(map(str, path)),
        )
    )
    return False


def _check_service(item: Validated, connections: dict[str, Validated], diags: list[Diagnostic]) -> None:
    spec = _spec(item, InferenceServiceSpec)
    remote = spec.modelRegistry.remote
    if remote is not None:
        path = ("spec", "modelRegistry", "remote", "modelConnection")
        _check_ref(item, path, remote.modelConnection, connections, "Connection", diags)
    _check_io(item, spec.dataSource, spec.outputDestination, connections, diags)
    for i, name in enumerate(spec.triggers.webhook.allowedConnections):
        listed: PathKey = ("spec", "triggers", "webhook", "allowedConnections", i)
        _check_ref(item, listed, name, connections, "Connection", diags)


def _check_io(
    item: Validated,
    source: ConnectionReference | None,
    destination: ConnectionReference | None,
    connections: dict[str, Validated],
    diags: list[Diagnostic],
) -> None:
    # ODAHU returned after the data source was found and never checked the destination.
    if source is not None:
        _check_ref(
            item, ("spec", "dataSource", "connection"), source.connection, connections, "Connection", diags
        )
    if destination is not None:
        path = ("spec", "outputDestination", "connection")
        _check_ref(item, path, destination.connection, connections, "Connection", diags)


def _job(
    name: str,
    item: Validated,
    services: dict[str, Validated],
    connections: dict[str, Validated],
    settings: BatchSettingsSpec,
    diags: list[Diagnostic],
) -> Job | None:
    spec = _spec(item, InferenceJobSpec)
    _check_io(item, spec.dataSource, spec.outputDestination, connections, diags)
    path = ("spec", "inferenceServiceId")
    if not _check_ref(item, path, spec.inferenceServiceId, services, "InferenceService", diags):
        return None
    service = _spec(services[spec.inferenceServiceId], InferenceServiceSpec)
    source = spec.dataSource or service.dataSource
    destination = spec.outputDestination or service.outputDestination
    for field, value in (("dataSource", source), ("outputDestination", destination)):
        if value is None:
            diags.append(_missing_io(item, field, spec.inferenceServiceId))
    if source is None or destination is None:
        return None
    timeout = spec.timeout or service.timeout or settings.defaultTimeout
    effective = EffectiveJob(
        dataSource=source,
        outputDestination=destination,
        nodeSelector=dict(spec.nodeSelector if spec.nodeSelector is not None else service.nodeSelector),
        resources=spec.resources if spec.resources is not None else service.resources,
        timeout=canonical_duration(timeout),
        parallelism=spec.parallelism if spec.parallelism is not None else service.parallelism,
        requestId=spec.requestId or "",
    )
    return Job(
        name, _namespace(item, settings), spec.inferenceServiceId, spec, effective, item.document.source
    )


def _missing_io(item: Validated, field: str, service: str) -> Diagnostic:
    raw: RawDocument = item.raw
    return Diagnostic(
        "E303",
        f"InferenceJob '{item.document.metadata.name}' has no {field}: "
        f"neither the job nor InferenceService '{service}' sets one",
        raw.locate(("spec",), key=True),
        hint=f"add 'spec.{field}: {{connection: ..., path: ...}}' to the job or to the service",
        field=f"spec.{field}",
    )
