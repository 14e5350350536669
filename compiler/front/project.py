"""The resolved project: the one immutable model every stage after ``resolve`` reads.

Connections, services and jobs are sorted by name; references are already checked, so later
stages may look them up without guarding against missing names.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.front.spec import (
    BatchSettingsSpec,
    ConnectionReference,
    ConnectionSpec,
    InferenceJobSpec,
    InferenceServiceSpec,
    ResourceRequirements,
    Source,
)


@dataclass(frozen=True)
class Connection:
    name: str
    spec: ConnectionSpec
    source: Source


@dataclass(frozen=True)
class Service:
    name: str
    namespace: str
    spec: InferenceServiceSpec
    source: Source


@dataclass(frozen=True)
class EffectiveJob:
    """A job after defaulting from its service (ODAHU's rule: the job's own value, else the service's)."""

    dataSource: ConnectionReference
    outputDestination: ConnectionReference
    nodeSelector: dict[str, str]
    resources: ResourceRequirements | None
    timeout: str
    parallelism: int
    requestId: str


@dataclass(frozen=True)
class Job:
    name: str
    namespace: str
    service: str
    spec: InferenceJobSpec
    effective: EffectiveJob
    source: Source


@dataclass(frozen=True)
class Project:
    settings: BatchSettingsSpec
    connections: tuple[Connection, ...]
    services: tuple[Service, ...]
    jobs: tuple[Job, ...]
    for_cluster: bool = True

    def connection(self, name: str) -> Connection:
        return next(c for c in self.connections if c.name == name)

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)
