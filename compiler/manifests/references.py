"""What rendered documents reference, as data: the references of plain Kubernetes kinds, and the
prerequisites of a tree given a backend's own ``references`` function.

Kinds a tree must emit whenever it references them are the backend's (a missing one fails a run for
good); Secrets and the namespace are the tree's prerequisites, listed for whoever installs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Ref:
    kind: str
    namespace: str | None
    name: str
    key: str | None = None  # a Secret's or ConfigMap's key, when one is named


@dataclass(frozen=True)
class Referrer:
    kind: str
    namespace: str | None
    name: str


@dataclass(frozen=True)
class Prerequisites:
    """What must exist before the tree is synced, grouped by the object that needs it."""

    namespaces: tuple[str, ...] = ()
    secrets: tuple[tuple[Referrer, tuple[Ref, ...]], ...] = ()
    interceptors: tuple[str, ...] = ()
    cluster_scoped: tuple[tuple[str, str], ...] = ()  # (kind, name) the Argo CD project must allow
    missing: tuple[tuple[Referrer, Ref], ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {
            "namespaces": list(self.namespaces),
            "secrets": [
                {
                    "neededBy": {"kind": r.kind, "namespace": r.namespace, "name": r.name},
                    "secrets": [{"namespace": s.namespace, "name": s.name, "key": s.key} for s in refs],
                }
                for r, refs in self.secrets
            ],
            "clusterInterceptors": list(self.interceptors),
            "clusterScoped": [{"kind": k, "name": n} for k, n in self.cluster_scoped],
        }

    def as_text(self) -> str:
        lines = ["prerequisites (create these before the first sync):"]
        lines += [f"  namespace {ns}" for ns in self.namespaces]
        for referrer, refs in self.secrets:
            keys = ", ".join(f"{s.name}/{s.key}" if s.key else s.name for s in refs)
            lines.append(f"  secrets of {referrer.kind} {referrer.namespace}/{referrer.name}: {keys}")
        if self.interceptors:
            lines.append(f"  Tekton Triggers core interceptors: {', '.join(self.interceptors)}")
        for kind, name in self.cluster_scoped:
            lines.append(f"  cluster-scoped {kind} {name} (allow it in the Argo CD project)")
        return "\n".join(lines) + "\n"


def env_refs(container: Mapping[str, Any], ns: str | None) -> Iterator[Ref]:
    for env in container.get("env") or ():
        source = env.get("valueFrom") or {}
        if "secretKeyRef" in source:
            yield Ref("Secret", ns, source["secretKeyRef"]["name"], source["secretKeyRef"].get("key"))
        if "configMapKeyRef" in source:
            yield Ref(
                "ConfigMap", ns, source["configMapKeyRef"]["name"], source["configMapKeyRef"].get("key")
            )
    for source in container.get("envFrom") or ():
        if "secretRef" in source:
            yield Ref("Secret", ns, source["secretRef"]["name"])
        if "configMapRef" in source:
            yield Ref("ConfigMap", ns, source["configMapRef"]["name"])


def kube_references(obj: Mapping[str, Any]) -> Iterator[Ref]:
    """What an object of a plain Kubernetes kind (RBAC, ServiceAccount) names."""
    kind = obj.get("kind", "")
    ns = (obj.get("metadata") or {}).get("namespace")
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        role = obj.get("roleRef") or {}
        yield Ref(
            role.get("kind", "Role"), None if role.get("kind") == "ClusterRole" else ns, role.get("name", "")
        )
        for subject in obj.get("subjects") or ():
            if subject.get("kind") == "ServiceAccount":
                yield Ref("ServiceAccount", subject.get("namespace", ns), subject["name"])
    elif kind == "ServiceAccount":
        for secret in (*(obj.get("imagePullSecrets") or ()), *(obj.get("secrets") or ())):
            yield Ref("Secret", ns, secret["name"])


def _identity(obj: Mapping[str, Any]) -> Referrer:
    meta = obj.get("metadata") or {}
    return Referrer(str(obj.get("kind", "")), meta.get("namespace"), str(meta.get("name", "")))


def prerequisites(
    objects: Sequence[Mapping[str, Any]],
    references: Callable[[Mapping[str, Any]], Iterator[Ref]],
    must_emit: frozenset[str],
    cluster_scoped: frozenset[str],
) -> Prerequisites:
    """The prerequisites of a tree, and in ``missing`` what it references but neither emits nor
    may take as a prerequisite."""
    emitted = {(o.kind, o.namespace, o.name) for o in map(_identity, objects)}
    secrets: dict[Referrer, set[Ref]] = {}
    interceptors: set[str] = set()
    missing: set[tuple[Referrer, Ref]] = set()
    for obj in objects:
        referrer = _identity(obj)
        for ref in references(obj):
            if ref.kind == "Secret" and (ref.kind, ref.namespace, ref.name) not in emitted:
                secrets.setdefault(referrer, set()).add(ref)
            elif ref.kind == "Secret":
                continue
            elif ref.kind == "ClusterInterceptor":
                interceptors.add(ref.name)
            elif ref.kind in must_emit and (ref.kind, ref.namespace, ref.name) not in emitted:
                missing.add((referrer, Ref(ref.kind, ref.namespace, ref.name)))
    namespaces = {o.namespace for o in map(_identity, objects) if o.namespace}
    return Prerequisites(
        namespaces=tuple(sorted(namespaces)),
        secrets=tuple(
            sorted(((r, tuple(sorted(refs, key=_ref_key))) for r, refs in secrets.items()), key=_pair_key)
        ),
        interceptors=tuple(sorted(interceptors)),
        cluster_scoped=tuple(sorted((k, n) for k, ns, n in emitted if ns is None and k in cluster_scoped)),
        missing=tuple(sorted(missing, key=_pair_key)),
    )


def _ref_key(ref: Ref) -> tuple[str, str, str, str]:
    return ref.kind, ref.namespace or "", ref.name, ref.key or ""


def _pair_key(pair: tuple[Referrer, object]) -> tuple[str, str, str, str]:
    r, other = pair
    return r.kind, r.namespace or "", r.name, repr(other)
