"""What the compiled documents reference, read from the documents themselves.

Every reference a controller follows (a run's ServiceAccount, a taskRef, a ConfigMap volume, a
``secretKeyRef``, a Trigger's binding, template and interceptors, a RoleBinding's roleRef and
subjects) is collected with the object that needs it. Kinds the tree itself must hold are
checked against what it emits; the rest (Secrets, ClusterInterceptors, the namespace) are the
tree's prerequisites, listed for whoever installs it. Reading the rendered documents, not the
plan, keeps the listing true whatever a template comes to reference.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Kinds a tree must emit whenever it references them: a missing one fails a run for good
# (tektoncd/pipeline pkg/reconciler/taskrun/taskrun.go handlePodCreationError for the
# ServiceAccount; taskrun/resources/taskref.go and pipelinerun/resources/pipelineref.go for
# definitions; tektoncd/triggers pkg/sink/sink.go for bindings and templates).
MUST_EMIT = frozenset(
    {
        "ServiceAccount",
        "ConfigMap",
        "Task",
        "Pipeline",
        "Trigger",
        "TriggerTemplate",
        "TriggerBinding",
        "ClusterTriggerBinding",
        "Role",
        "ClusterRole",
    }
)
CLUSTER_SCOPED = frozenset(
    {"ClusterRole", "ClusterRoleBinding", "ClusterTriggerBinding", "ClusterInterceptor"}
)


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


def _env_refs(container: Mapping[str, Any], ns: str | None) -> Iterator[Ref]:
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


def _task_spec_refs(spec: Mapping[str, Any], ns: str | None) -> Iterator[Ref]:
    for volume in spec.get("volumes") or ():
        if "configMap" in volume:
            yield Ref("ConfigMap", ns, volume["configMap"]["name"])
        if "secret" in volume:
            yield Ref("Secret", ns, volume["secret"]["secretName"])
    for step in (*(spec.get("steps") or ()), *(spec.get("sidecars") or ())):
        yield from _env_refs(step, ns)


def _pod_template_refs(template: Mapping[str, Any] | None, ns: str | None) -> Iterator[Ref]:
    for secret in (template or {}).get("imagePullSecrets") or ():
        yield Ref("Secret", ns, secret["name"])


def _run_refs(kind: str, spec: Mapping[str, Any], ns: str | None) -> Iterator[Ref]:
    if kind == "TaskRun":
        account = spec.get("serviceAccountName")
        template = spec.get("podTemplate")
        if spec.get("taskRef", {}).get("name"):
            yield Ref(spec["taskRef"].get("kind", "Task"), ns, spec["taskRef"]["name"])
        yield from _task_spec_refs(spec.get("taskSpec") or {}, ns)
    else:
        run_template = spec.get("taskRunTemplate") or {}
        account, template = run_template.get("serviceAccountName"), run_template.get("podTemplate")
        if spec.get("pipelineRef", {}).get("name"):
            yield Ref("Pipeline", ns, spec["pipelineRef"]["name"])
    # Tekton falls back to the namespace's "default" account (config-defaults default-service-account).
    yield Ref("ServiceAccount", ns, account or "default")
    yield from _pod_template_refs(template, ns)


def _trigger_refs(spec: Mapping[str, Any], ns: str | None) -> Iterator[Ref]:
    for binding in spec.get("bindings") or ():
        if binding.get("ref"):
            kind = binding.get("kind", "TriggerBinding")
            yield Ref(kind, None if kind == "ClusterTriggerBinding" else ns, binding["ref"])
    if (spec.get("template") or {}).get("ref"):
        yield Ref("TriggerTemplate", ns, spec["template"]["ref"])
    for interceptor in spec.get("interceptors") or ():
        ref = interceptor.get("ref") or {}
        if ref.get("name"):
            kind = ref.get("kind", "ClusterInterceptor")
            yield Ref(kind, None if kind == "ClusterInterceptor" else ns, ref["name"])
        for param in interceptor.get("params") or ():
            value = param.get("value")
            if param.get("name") == "secretRef" and isinstance(value, Mapping):
                yield Ref("Secret", ns, value["secretName"], value.get("secretKey"))


def references(obj: Mapping[str, Any]) -> Iterator[Ref]:
    """Every object ``obj`` names, with the namespace it is looked up in."""
    kind, meta, spec = obj.get("kind", ""), obj.get("metadata") or {}, obj.get("spec") or {}
    ns = meta.get("namespace")
    if kind == "Task":
        yield from _task_spec_refs(spec, ns)
    elif kind == "Pipeline":
        for task in (*(spec.get("tasks") or ()), *(spec.get("finally") or ())):
            if (task.get("taskRef") or {}).get("name"):
                yield Ref(task["taskRef"].get("kind", "Task"), ns, task["taskRef"]["name"])
            yield from _task_spec_refs(task.get("taskSpec") or {}, ns)
    elif kind in ("TaskRun", "PipelineRun"):
        yield from _run_refs(kind, spec, ns)
    elif kind == "TriggerTemplate":
        for template in spec.get("resourcetemplates") or ():
            yield from references(
                {**template, "metadata": {**(template.get("metadata") or {}), "namespace": ns}}
            )
    elif kind == "Trigger":
        yield from _trigger_refs(spec, ns)
    elif kind == "EventListener":
        yield Ref("ServiceAccount", ns, spec.get("serviceAccountName") or "default")
        for trigger in spec.get("triggers") or ():
            if trigger.get("triggerRef"):
                yield Ref("Trigger", ns, trigger["triggerRef"])
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
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


def prerequisites(objects: Sequence[Mapping[str, Any]]) -> Prerequisites:
    """The prerequisites of a tree, and in ``missing`` what it references but neither emits nor
    may take as a prerequisite."""
    emitted = {(o.kind, o.namespace, o.name) for o in map(_identity, objects)}
    secrets: dict[Referrer, set[Ref]] = {}
    interceptors: set[str] = set()
    missing: set[tuple[Referrer, Ref]] = set()
    for obj in objects:
        referrer = _identity(obj)
        for ref in references(obj):
            if ref.kind == "Secret":
                secrets.setdefault(referrer, set()).add(ref)
            elif ref.kind == "ClusterInterceptor":
                interceptors.add(ref.name)
            elif ref.kind in MUST_EMIT and (ref.kind, ref.namespace, ref.name) not in emitted:
                missing.add((referrer, Ref(ref.kind, ref.namespace, ref.name)))
    namespaces = {o.namespace for o in map(_identity, objects) if o.namespace}
    return Prerequisites(
        namespaces=tuple(sorted(namespaces)),
        secrets=tuple(
            sorted(((r, tuple(sorted(refs, key=_ref_key))) for r, refs in secrets.items()), key=_pair_key)
        ),
        interceptors=tuple(sorted(interceptors)),
        cluster_scoped=tuple(sorted((k, n) for k, ns, n in emitted if ns is None and k in CLUSTER_SCOPED)),
        missing=tuple(sorted(missing, key=_pair_key)),
    )


def _ref_key(ref: Ref) -> tuple[str, str, str, str]:
    return ref.kind, ref.namespace or "", ref.name, ref.key or ""


def _pair_key(pair: tuple[Referrer, object]) -> tuple[str, str, str, str]:
    r, other = pair
    return r.kind, r.namespace or "", r.name, repr(other)
