"""RBAC as data: one rule of a Role or ClusterRole, rendered by ``templates/kubernetes/role.yaml.j2``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PolicyRule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()  # empty: every object of the resources
