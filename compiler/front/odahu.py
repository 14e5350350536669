"""ODAHU's document shapes, read the same way by every entry point.

``validate`` and ``compile`` (through the validate stage), ``run --job-file`` (the same stage),
``run --webhook-body`` (``localrun/jobs.py``) and the compiled webhook filter (``plan/triggers.py``) all take
their rules from here:

- ``null`` means absent. ODAHU's Python SDK sends every field of a model, ``None`` when unset
  (odahu/odahu-flow 1.6.1, packages/sdk/odahuflow/sdk/models/base_model_.py ``Model.to_dict``), and its
  Go API server writes ``null`` for unset pointers, maps and slices without ``omitempty``
  (packages/operator/pkg/apis/batch/job.go: ``nodeSelector``, ``resources``, ``dataSource``).
- Fields ODAHU's API server manages (``SERVER_MANAGED``) and fields of newer ODAHU versions that mean nothing
  here (``NEWER_FIELDS``) are accepted and ignored, with one warning naming them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Top-level fields ODAHU's API server writes into what it returns (odahu/odahu-flow 1.6.1,
# packages/operator/pkg/apis/batch/job.go InferenceJob, service.go InferenceService,
# pkg/apis/connection/connection.go Connection: id, deletionMark, createdAt, updatedAt, spec, status).
SERVER_MANAGED = ("createdAt", "deletionMark", "status", "updatedAt")
# Spec fields of ODAHU 1.6.1 that odahu-batch has no use for (api/v1alpha1/connection_types.go:
# ``reference`` is a VCS reference of a git connection, ``vital`` marks a connection that cannot be deleted).
NEWER_FIELDS: Mapping[str, tuple[str, ...]] = {"Connection": ("reference", "vital")}
# ODAHU's id rule (odahu/odahu-flow 1.6.1, packages/operator/pkg/validation/validation.go ``idRegex``): at
# most 63 lower-case letters, digits and '-', starting with a letter and ending with a letter or digit.
ID_PATTERN = "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
# What an InferenceJob (and so a webhook body) may hold at the top level.
JOB_KEYS = ("id", "kind", "spec")


@dataclass(frozen=True)
class Normalized:
    """A document with nulls and ignored fields removed, and the paths of the ignored fields."""

    data: dict[str, Any]
    ignored: tuple[tuple[str, ...], ...]


def drop_nulls(value: Any) -> Any:
    """``value`` without mapping entries whose value is null, at every depth (list items are kept)."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def normalize(data: Mapping[str, Any]) -> Normalized:
    """The document as odahu-batch reads it: nulls absent, server-managed and newer ODAHU fields set aside."""
    clean: dict[str, Any] = drop_nulls(dict(data))
    ignored: list[tuple[str, ...]] = [(key,) for key in SERVER_MANAGED if key in clean]
    for key in SERVER_MANAGED:
        clean.pop(key, None)
    kind, spec = clean.get("kind"), clean.get("spec")
    if isinstance(kind, str) and isinstance(spec, dict):
        newer = [key for key in NEWER_FIELDS.get(kind, ()) if key in spec]
        if newer:
            clean["spec"] = {k: v for k, v in spec.items() if k not in newer}
            ignored += [("spec", key) for key in newer]
    return Normalized(clean, tuple(ignored))


def ignored_message(ignored: tuple[tuple[str, ...], ...]) -> str:
    names = ", ".join(f"'{'.'.join(path)}'" for path in ignored)
    return f"ignored {names}: written by ODAHU's API server or a newer ODAHU, no meaning here"
