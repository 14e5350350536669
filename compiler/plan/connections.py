"""Connections as the run sees them: parsed URIs, rclone descriptors and credential env vars.

configure-rclone receives the connections its service may use (``access``), each with the roles it
may serve, as one JSON env value (``ODAHU_CONNECTIONS``), and each of their credential fields as its
own env var filled from a Secret key: a pod never holds the keys of another service's connections.
Credentials reach rclone only through ``secretKeyRef`` (or the pod's workload identity); no
credential value is ever part of the output.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass

from compiler import naming
from compiler.front.access import Access, service_access
from compiler.front.project import Connection, EffectiveJob, Project, Service
from compiler.front.spec import ConnectionReference, credential_keys
from compiler.plan.model import EnvVar, SecretKeyRef
from compiler.units import AZURE_HOST, parse_storage_uri


@dataclass(frozen=True)
class Store:
    """Where a connection points: a bucket (or container, or local root) and a path inside it."""

    bucket: str = ""
    root: str = ""
    path: str = ""
    account: str | None = None


def parse_uri(kind: str, uri: str) -> Store:
    """The connection's URI as rclone needs it (the front end has already checked its form)."""
    found = parse_storage_uri(kind, uri)
    if kind == "local":
        return Store(root=found.path)
    return Store(bucket=found.bucket, path=found.path, account=found.account or None)


def auth_mode(connection: Connection) -> str:
    creds = connection.spec.credentials
    if creds is None:
        # Omitted credentials: the pod's ambient identity for cloud stores, nothing for folders.
        return "none" if connection.spec.type == "local" else "workloadIdentity"
    if creds.secretRef is not None:
        return "secret"
    return "workloadIdentity" if creds.workloadIdentity else "anonymous"


# The spec's credential field -> the name configure-rclone reads it under (where they differ).
RUNTIME_FIELDS = {"serviceAccountKey": "serviceAccountJSON"}


def credential_fields(connection: Connection) -> tuple[tuple[str, str], ...]:
    """(field, Secret key) pairs that configure-rclone reads for a connection with a secretRef."""
    creds = connection.spec.credentials
    if creds is None or creds.secretRef is None:
        return ()
    keys = credential_keys(connection.spec.type, creds.secretRef)
    return tuple(sorted((RUNTIME_FIELDS.get(field, field), key) for field, key in keys.items()))


def azure_account_from_endpoint(kind: str, endpoint: str | None) -> str | None:
    """ODAHU's short Azure form (CONTAINER/PATH) names no account: take it from the endpoint, either
    ``https://ACCOUNT.blob.core.windows.net`` or an emulator's ``http://HOST:PORT/ACCOUNT``."""
    if kind != "azureblob" or not endpoint:
        return None
    host, _, rest = endpoint.split("://", 1)[-1].partition("/")
    if match := AZURE_HOST.fullmatch(host.split(":", 1)[0]):
        return match.group(1)
    return rest.strip("/").split("/", 1)[0] or None


# ODAHU documents a connection's ``region`` as "AWS region or GCP project" (odahu/odahu-flow 1.6.1,
# packages/operator/api/v1alpha1/connection_types.go), and its rclone setup passed it on as GCS'
# ``location`` (packages/operator/pkg/rclone/gcs.go). A GCS location (a multi-region, a dual-region code
# or a region such as europe-west1: cloud.google.com/storage/docs/locations) is read as one; any other
# value is ODAHU's project.
GCS_LOCATION = re.compile(r"^(us|eu|asia|nam4|eur4|eur5|eur7|eur8|asia1|[a-z]+-[a-z]+[0-9]+)$")


def gcs_region_project(region: str | None, project: str | None) -> tuple[str | None, str | None]:
    """(location, project) of a GCS connection from its ``region`` and ``project``, as ODAHU meant them."""
    if region is None or project is not None or GCS_LOCATION.match(region.lower()):
        return region, project
    return None, region


def descriptor(connection: Connection, roles: tuple[str, ...] = ()) -> dict[str, object]:
    """What configure-rclone needs to write the connection's two rclone remotes; unset keys left out."""
    spec = connection.spec
    store = parse_uri(spec.type, spec.uri)
    region, project = spec.region, spec.project
    if spec.type == "gcs":
        region, project = gcs_region_project(region, project)
    fields = {
        "name": connection.name,
        "type": spec.type,
        "bucket": store.bucket or None,
        "root": store.root or None,
        "region": region,
        "endpoint": spec.endpoint,
        "pathStyle": spec.pathStyle,
        "project": project,
        "account": store.account or azure_account_from_endpoint(spec.type, spec.endpoint),
        "auth": auth_mode(connection),
        "credentialEnv": {
            f: naming.credential_env(connection.name, f) for f, _ in credential_fields(connection)
        },
        "roles": list(roles) or None,
    }
    return {key: value for key, value in fields.items() if value is not None}


def connections_env(connections: Iterable[Connection], access: Access | None = None) -> tuple[EnvVar, ...]:
    """``ODAHU_CONNECTIONS`` plus one optional secretKeyRef env var per credential field.

    Optional, so that the missing Secret of a connection this run does not use never blocks the
    pod (configure-rclone configures only the connections of the run); it fails clearly when a
    connection it needs has empty credentials.
    """
    connections = tuple(connections)
    listed = [descriptor(c, access.roles(c.name) if access else ()) for c in connections]
    blob = json.dumps(listed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    env = [EnvVar("ODAHU_CONNECTIONS", blob)]
    for connection in connections:
        creds = connection.spec.credentials
        if creds is None or creds.secretRef is None:
            continue
        for field, key in credential_fields(connection):
            env.append(
                EnvVar(
                    naming.credential_env(connection.name, field),
                    secret=SecretKeyRef(creds.secretRef.name, key, optional=True),
                )
            )
    return tuple(env)


class Connections:
    """The project's connections, indexed once per plan (a project may hold thousands of runs)."""

    def __init__(self, project: Project) -> None:
        self.all = project.connections
        self.by_name = {c.name: c for c in project.connections}
        self._own = {c.name: parse_uri(c.spec.type, c.spec.uri).path for c in project.connections}

        self._specs = {c.name: c.spec for c in project.connections}
        self._sink = project.settings.feedback.sink
        self._jobs: dict[str, list[EffectiveJob]] = {}
        for job in project.jobs:
            self._jobs.setdefault(job.service, []).append(job.effective)
        self._access: dict[str, Access] = {}

    def access(self, service: Service) -> Access:
        """What the service's runs may read, write and fetch (the rule of ``compiler.front.access``)."""
        if service.name not in self._access:
            jobs = self._jobs.get(service.name, ())
            self._access[service.name] = service_access(service.spec, self._specs, self._sink, jobs)
        return self._access[service.name]

    def env(self, service: Service) -> tuple[EnvVar, ...]:
        """configure-rclone's env in the service's Task: its own connections, and only those."""
        access = self.access(service)
        return connections_env((self.by_name[c] for c in access.connections), access)

    def paths(self, names: Iterable[str]) -> tuple[tuple[str, str], ...]:
        """The named connections' own paths: what a webhook body that names only a connection reads."""
        return tuple((name, self._own[name]) for name in sorted(set(names)))

    def location(self, ref: ConnectionReference) -> tuple[str, str]:
        """(connection, path inside it): the reference's path overrides the connection's (ODAHU).

        An empty path means the connection's own path, as in ODAHU's ``GetBucketNamePath``
        (odahu/odahu-flow 1.6.1, packages/operator/controllers/utils/batchinferenceutils/
        batchinferencejob_utils.go: ``if path == "" { actualPath = connectionPath }``).
        """
        if not ref.path:
            return ref.connection, self._own[ref.connection]
        return ref.connection, ref.path.strip("/")

    def model_location(self, connection: str, model_path: str | None) -> tuple[str, str]:
        """(connection, path inside it) of a remote model: ``modelPath`` is relative to the connection's path.

        ODAHU joins them: ``path.Join(storage.RemoteConfig.Path, relPath)`` in odahu/odahu-flow 1.6.1,
        packages/operator/pkg/utils/model_registry/objectstorage/registry.go (SyncArchiveOrDir).
        """
        return connection, go_path_join(self._own[connection], model_path or "")


def go_path_join(*parts: str) -> str:
    """Go's ``path.Join`` (non-empty parts joined by '/', then cleaned), without the leading '/' of a key."""
    joined = "/".join(part for part in parts if part)
    cleaned = posixpath.normpath(joined).strip("/") if joined else ""
    return "" if cleaned == "." else cleaned
