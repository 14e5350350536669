"""An ODAHU export -> Git-ready specs, and the Secrets to create outside Git.

ODAHU's exports (``odahuflowctl conn get -o json|yaml``, with or without ``--decrypted``; ``bulk`` files; the
API server's JSON) carry a connection's credentials inline: ``keyID`` / ``keySecret`` / ``password``, base64
encoded as ODAHU stores them (odahu/odahu-flow 1.6.1, packages/operator/pkg/apis/connection/connection.go
``DecodeBase64Fields``), or ``*****`` without ``--decrypted`` (``DecryptedDataMask``). Each inline credential
becomes a key of a Kubernetes Secret named ``<id>-credentials`` and the Connection references it; the values
go only into the Secret manifests. The rest of each document is kept in ODAHU's API shape, read as every entry
point reads it (``compiler/front/odahu.py``). Pure: the command
(``compiler/commands/import_odahu.py``) reads and writes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from compiler import naming
from compiler.front.odahu import ignored_message, normalize

KINDS = ("Connection", "InferenceService", "InferenceJob")
MASKED = "*****"  # what ODAHU's API returns for a credential without --decrypted
# ODAHU's inline field -> odahu-batch's credential field, per type, as ODAHU's rclone setup used them
# (packages/operator/pkg/rclone/s3.go: access_key_id = keyID, secret_access_key = keySecret; gcs.go: the
# service-account key file from keySecret; azureblob.go: sas_url = keySecret).
CREDENTIALS: Mapping[str, Mapping[str, str]] = {
    "s3": {"keyID": "accessKeyID", "keySecret": "secretAccessKey"},
    "gcs": {"keySecret": "serviceAccountKey"},
    "azureblob": {"keySecret": "sasURL"},
}
INLINE = ("keyID", "keySecret", "password", "username", "role", "publicKey")
OBJECT_STORAGE = tuple(CREDENTIALS)


@dataclass(frozen=True)
class SecretOut:
    """A Secret to create: its name and keys; a value is ODAHU's base64 text, or None when masked."""

    name: str
    data: Mapping[str, str | None]

    @property
    def complete(self) -> bool:
        return all(value is not None for value in self.data.values())


@dataclass(frozen=True)
class Imported:
    documents: tuple[dict[str, Any], ...] = ()
    secrets: tuple[SecretOut, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def import_documents(docs: Iterable[Mapping[str, Any]]) -> Imported:
    """Every document of an export, converted; what was skipped or needs a hand is in ``notes``."""
    documents: list[dict[str, Any]] = []
    secrets: list[SecretOut] = []
    notes: list[str] = []
    for raw in docs:
        found = normalize(raw)
        data = found.data
        kind, ident = data.get("kind"), data.get("id")
        if kind not in KINDS:
            notes.append(
                f"skipped {kind or 'a document without kind'} {ident or ''}: not a batch kind".strip()
            )
            continue
        if kind == "Connection":
            converted, secret, note = connection(data)
            if converted is None:
                notes.append(note or "")
                continue
            if secret is not None:
                secrets.append(secret)
            if note:
                notes.append(note)
            data = converted
        if found.ignored:
            notes.append(f"{kind} {ident or '(no id)'}: {ignored_message(found.ignored)}")
        documents.append(data)
    return Imported(tuple(documents), tuple(secrets), tuple(notes))


def connection(data: dict[str, Any]) -> tuple[dict[str, Any] | None, SecretOut | None, str | None]:
    """A Connection with its inline credentials replaced by a ``secretRef``, and the Secret to create."""
    ident = str(data.get("id") or "connection")
    spec = dict(data.get("spec") or {})
    ctype = spec.get("type")
    if ctype not in OBJECT_STORAGE:
        return None, None, f"skipped Connection {ident}: type {ctype!r} is not object storage"
    inline = {key: spec.pop(key) for key in INLINE if key in spec}
    out = {**data, "spec": spec}
    if inline.pop("role", None) is not None and not inline:
        spec["credentials"] = {"workloadIdentity": True}
        return (
            out,
            None,
            f"Connection {ident}: its role belongs to the run's service account (workloadIdentity)",
        )
    fields = CREDENTIALS[str(ctype)]
    values = {fields[key]: _base64_or_none(value) for key, value in inline.items() if key in fields}
    if not values:
        return out, None, None  # no credentials: the pod's ambient identity, as ODAHU's env_auth
    name = naming.imported_secret_name(ident)
    spec["credentials"] = {"secretRef": {"name": name}}
    secret = SecretOut(name, dict(sorted(values.items())))
    note = (
        None
        if secret.complete
        else f"Secret {name}: fill in the values ODAHU masked (export with --decrypted)"
    )
    return out, secret, note


def _base64_or_none(value: Any) -> str | None:
    """ODAHU's stored form is base64 (what a Secret's ``data`` holds); the mask is no value at all."""
    text = str(value)
    if text == MASKED or not text:
        return None
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return base64.b64encode(text.encode()).decode()  # a plain value, from a hand-made export
    return text


def secret_manifest(secret: SecretOut, namespace: str) -> dict[str, Any]:
    """The Kubernetes Secret, its values as ODAHU stored them (base64 is what ``data`` takes)."""
    data = {key: value if value is not None else "" for key, value in secret.data.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret.name, "namespace": namespace},
        "type": "Opaque",
        "data": data,
    }
