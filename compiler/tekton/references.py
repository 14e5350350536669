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
from typing import Any

from compiler.manifests.references import (
    Prerequisites,
    Ref,
    env_refs,
    kube_references,
)
from compiler.manifests.references import prerequisites as common_prerequisites

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


def _task_spec_refs(spec: Mapping[str, Any], ns: str | None) -> Iterator[Ref]:
    for volume in spec.get("volumes") or ():
        if "configMap" in volume:
            yield Ref("ConfigMap", ns, volume["configMap"]["name"])
        if "secret" in volume:
            yield Ref("Secret", ns, volume["secret"]["secretName"])
    for step in (*(spec.get("steps") or ()), *(spec.get("sidecars") or ())):
        yield from env_refs(step, ns)


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
    else:
        yield from kube_references(obj)


def prerequisites(objects: Sequence[Mapping[str, Any]]) -> Prerequisites:
    """The prerequisites of a Tekton tree, and in ``missing`` what it references but neither emits nor
    may take as a prerequisite."""
    return common_prerequisites(objects, references, MUST_EMIT, CLUSTER_SCOPED)
